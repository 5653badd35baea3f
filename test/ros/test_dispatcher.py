# Copyright 2026 brain_execution contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
ActionDispatcher against robot executors running as separate processes.

Real goals, results, cancels and service calls: success and refusal outcomes, a robot that
does not exist, a robot executor killed mid-operation, queries, cancel (through the goal handle
and through the robot's cancel service), emergency stop, close, and a burst of 200 dispatches
whose callbacks are counted. Waits are on events with timeouts; figures are printed (``-s``).
"""

import collections
import threading
import time
import uuid

from brain_execution.core.dispatch import DispatchRequest
from brain_execution.core.errors import ErrorCode
from brain_execution.core.operation import OperationState
from brain_execution.ros.dispatcher import ActionDispatcher
from brain_execution_interfaces.msg import RobotState
import pytest

_ALTITUDE_M = 8.0
_LINK_TIMEOUT_S = 3.0
_WAIT_S = 30.0


@pytest.fixture(scope='module')
def fleet(module_start_executor):
    """Start the module's executors at once, so that they boot in parallel."""
    return {'drone': module_start_executor('drone'),
            # E-stop latches; the doomed one is killed: each gets a drone of its own.
            'estop': module_start_executor('drone'),
            'doomed': module_start_executor('drone')}


@pytest.fixture(scope='module')
def dispatcher(module_ros):
    d = ActionDispatcher(module_ros.node, discovery_timeout_s=30.0,
                         link_timeout_s=_LINK_TIMEOUT_S)
    try:
        yield d
    finally:
        d.close()


def _ready(ros, executor):
    ros.wait_for_servers(executor, ['takeoff', 'go_to', 'emergency_stop', 'capture_image'])
    assert ros.wait_for_state(executor.robot_id, lambda s: True) is not None, executor.log()
    return executor.robot_id


@pytest.fixture
def drone(fleet, module_ros):
    return _ready(module_ros, fleet['drone'])


# --- helpers -------------------------------------------------------------------------------

class _Done:
    """A callback that records every call; wait() returns the first outcome."""

    def __init__(self):
        self.calls = []
        self.event = threading.Event()
        self.at = None

    def __call__(self, *outcome):
        self.calls.append(outcome[0] if len(outcome) == 1 else outcome)
        self.at = time.monotonic()
        self.event.set()

    def wait(self, timeout_s=_WAIT_S):
        assert self.event.wait(timeout_s), f'no callback within {timeout_s} s'
        return self.calls[0]


def _new_id(tag):
    return f'{tag}-{uuid.uuid4().hex[:10]}'


def _send(d, robot, operation, params=None, *, operation_id='', timeout_s=0.0):
    done = _Done()
    d.dispatch(DispatchRequest(robot_id=robot, operation=operation, params=params or {},
                               operation_id=operation_id or _new_id(operation),
                               timeout_s=timeout_s), done)
    return done


def _run(d, robot, operation, params=None, **kwargs):
    return _send(d, robot, operation, params, **kwargs).wait()


def _ok(outcome, what):
    assert outcome.code == ErrorCode.NONE, f'{what}: {outcome}'


def _estop(d, robot, *, release, reason='test'):
    done = _Done()
    d.emergency_stop(robot, reason=reason, release=release, on_done=done)
    return done


def _ensure_airborne(ros, d, robot):
    _ok(_estop(d, robot, release=True).wait(), 'release')
    state = ros.wait_for_state(robot, lambda s: True)
    if state.landed_state != RobotState.LANDED_IN_AIR:
        _ok(_run(d, robot, 'takeoff', {'altitude_m': _ALTITUDE_M, 'climb_speed_mps': 5.0}),
            'takeoff')
    assert ros.wait_for_state(robot, lambda s: s.landed_state == RobotState.LANDED_IN_AIR and
                              not s.active_operations) is not None


def _far_go_to(ros, d, robot):
    """Start a go_to of about 150 m; return its id and callback once the robot runs it."""
    x = ros.wait_for_state(robot, lambda s: True).pose.position.x
    operation_id = _new_id('far')
    done = _send(d, robot, 'go_to', {'target': {'x_m': -150.0 if x > 0.0 else 150.0,
                                                'y_m': 0.0, 'altitude_m': _ALTITUDE_M}},
                 operation_id=operation_id)
    running = ros.wait_for_state(robot, lambda s: operation_id in s.active_operations)
    assert running is not None, f'go_to never ran: {done.calls}'
    return operation_id, done


# --- tests ---------------------------------------------------------------------------------

def test_takeoff_succeeds_with_altitude_in_result(module_ros, dispatcher, drone):
    _ok(_estop(dispatcher, drone, release=True).wait(), 'release')
    state = module_ros.wait_for_state(drone, lambda s: True)
    if state.landed_state != RobotState.LANDED_ON_GROUND:
        _ok(_run(dispatcher, drone, 'land', {'descent_speed_mps': 3.0}), 'land')
    outcome = _run(dispatcher, drone, 'takeoff', {'altitude_m': _ALTITUDE_M,
                                                  'climb_speed_mps': 5.0})
    _ok(outcome, 'takeoff')
    assert outcome.result['altitude_m'] == pytest.approx(_ALTITUDE_M, abs=0.5)
    assert 'error_code' not in outcome.result and 'operation_id' not in outcome.result
    assert outcome.elapsed_s > 0.0


def test_invalid_parameters_end_with_reason(dispatcher, drone):
    remote = _run(dispatcher, drone, 'takeoff', {'altitude_m': 500.0})
    assert remote.code == ErrorCode.INVALID_PARAMETERS, remote
    assert remote.retryable is False and 'altitude_m' in remote.message
    local = _run(dispatcher, drone, 'takeoff', {'altitude_m': 'high'})
    assert local.code == ErrorCode.INVALID_PARAMETERS and local.retryable is False, local
    unknown_field = _run(dispatcher, drone, 'takeoff', {'height': 3.0})
    assert unknown_field.code == ErrorCode.INVALID_PARAMETERS, unknown_field
    assert 'height' in unknown_field.message
    nested = _run(dispatcher, drone, 'go_to', {'target': {'x_m': 'east'}})
    assert nested.code == ErrorCode.INVALID_PARAMETERS and 'target.x_m' in nested.message
    # An int where the goal has a float is converted, not refused (nor a process abort).
    _ok(_run(dispatcher, drone, 'capture_image', {'count': 1, 'interval_s': 0}), 'int field')
    unknown_op = _run(dispatcher, drone, 'teleport')
    assert unknown_op.code == ErrorCode.UNKNOWN_OPERATION, unknown_op


def test_robot_without_executor_fails_within_discovery_timeout(module_ros):
    d = ActionDispatcher(module_ros.node, discovery_timeout_s=2.0)
    try:
        ghost = f'ghost_{uuid.uuid4().hex[:6]}'
        t0 = time.monotonic()
        done = _send(d, ghost, 'takeoff')
        asked = _Done()
        d.query(ghost, 'anything', asked)
        outcome = done.wait(5.0)
        elapsed = time.monotonic() - t0
        print(f'\n[unreachable] COMMUNICATION_FAILURE after {elapsed:.2f} s (timeout 2 s)')
        assert outcome.code == ErrorCode.COMMUNICATION_FAILURE and outcome.retryable
        assert f'no action server /{ghost}/takeoff after 2 s' in outcome.message
        assert 2.0 <= elapsed < 3.0
        answer, failure = asked.wait(5.0)
        assert answer is None and failure.code == ErrorCode.COMMUNICATION_FAILURE, failure
        assert d.in_flight == 0
    finally:
        d.close()


def test_killed_executor_fails_dispatch_within_link_timeout(fleet, module_ros, dispatcher):
    executor = fleet['doomed']
    robot = _ready(module_ros, executor)
    _ensure_airborne(module_ros, dispatcher, robot)
    _, done = _far_go_to(module_ros, dispatcher, robot)
    killed = time.monotonic()
    executor.kill()
    outcome = done.wait(_LINK_TIMEOUT_S + 5.0)
    detection_s = done.at - killed
    print(f'\n[liveness] killed executor detected after {detection_s:.2f} s '
          f'(link_timeout {_LINK_TIMEOUT_S} s): {outcome.message}')
    # The goal may still run on a robot that is only out of reach: outcome unknown, for the
    # engine to reconcile by the same id, not a failure to retry under a new one.
    assert outcome.code == ErrorCode.OUTCOME_UNKNOWN and not outcome.retryable, outcome
    assert f'robot executor {robot} lost: no robot_state for' in outcome.message
    assert detection_s < _LINK_TIMEOUT_S + 1.0
    # Dispatching to the dead robot again ends too, rather than hanging.
    again = _send(dispatcher, robot, 'capture_image').wait(_LINK_TIMEOUT_S + 5.0)
    assert again.code in (ErrorCode.COMMUNICATION_FAILURE, ErrorCode.OUTCOME_UNKNOWN), again


def test_query_finished_and_unknown_ids(dispatcher, drone):
    operation_id = _new_id('img')
    _ok(_run(dispatcher, drone, 'capture_image', operation_id=operation_id), 'capture_image')
    asked = _Done()
    dispatcher.query(drone, operation_id, asked)
    answer, failure = asked.wait(10.0)
    assert failure is None and answer is not None
    assert answer.state == OperationState.SUCCEEDED
    assert answer.outcome is not None and answer.outcome.code == ErrorCode.NONE
    unknown = _Done()
    dispatcher.query(drone, _new_id('never'), unknown)
    assert unknown.wait(10.0) == (None, None)


def test_cancel_in_flight_go_to(module_ros, dispatcher, drone):
    _ensure_airborne(module_ros, dispatcher, drone)
    operation_id, done = _far_go_to(module_ros, dispatcher, drone)
    dispatcher.cancel(drone, operation_id)
    outcome = done.wait(10.0)
    assert outcome.code == ErrorCode.CANCELED, outcome
    assert len(done.calls) == 1


def test_close_ends_in_flight_and_cancel_reaches_unknown_ids(module_ros, dispatcher, drone):
    _ensure_airborne(module_ros, dispatcher, drone)
    other = ActionDispatcher(module_ros.node)
    try:
        # The module's dispatcher does not know this goal: its cancel goes through
        # /<robot>/cancel_operation.
        operation_id, done = _far_go_to(module_ros, other, drone)
        dispatcher.cancel(drone, operation_id)
        outcome = done.wait(10.0)
        assert outcome.code == ErrorCode.CANCELED, outcome

        operation_id, done = _far_go_to(module_ros, other, drone)
        other.close()
        assert done.event.is_set(), 'close() did not report the goal in flight'
        assert done.wait().code == ErrorCode.SHUTDOWN
        assert other.in_flight == 0
        after = _send(other, drone, 'capture_image').wait()
        assert after.code == ErrorCode.SHUTDOWN
    finally:
        other.close()
    dispatcher.cancel(drone, operation_id)
    assert module_ros.wait_for_state(
        drone, lambda s: operation_id not in s.active_operations) is not None
    assert len(done.calls) == 1


def test_emergency_stop_preempts_go_to(fleet, module_ros, dispatcher):
    robot = _ready(module_ros, fleet['estop'])
    _ensure_airborne(module_ros, dispatcher, robot)
    _, go_to = _far_go_to(module_ros, dispatcher, robot)
    estop = _estop(dispatcher, robot, release=False, reason='test: obstacle')
    stopped = estop.wait(10.0)
    _ok(stopped, 'emergency_stop')
    print(f'\n[e-stop] dispatcher send -> platform command '
          f'{stopped.result["send_to_command_s"] * 1000:.1f} ms')
    assert -0.05 < stopped.result['send_to_command_s'] < 0.5
    victim = go_to.wait(10.0)
    assert victim.code == ErrorCode.PREEMPTED, victim
    _ok(_estop(dispatcher, robot, release=True).wait(10.0), 'release')


def test_burst_of_200_dispatches_calls_back_once_each(dispatcher, drone):
    counts = collections.Counter()
    outcomes = {}
    lock = threading.Lock()
    all_done = threading.Event()
    ids = [_new_id(f'burst{i}') for i in range(200)]

    def on_done(operation_id, outcome):
        with lock:
            counts[operation_id] += 1
            outcomes[operation_id] = outcome
            if len(counts) == len(ids):
                all_done.set()

    t0 = time.monotonic()
    for operation_id in ids:
        dispatcher.dispatch(
            DispatchRequest(robot_id=drone, operation='capture_image', params={'count': 1},
                            operation_id=operation_id),
            lambda outcome, operation_id=operation_id: on_done(operation_id, outcome))
    assert all_done.wait(60.0), f'{len(counts)} of 200 callbacks'
    elapsed = time.monotonic() - t0
    print(f'\n[burst] 200 capture_image dispatches ended in {elapsed:.2f} s '
          f'({200 / elapsed:.0f}/s)')
    # One more round trip lets any late duplicate arrive before counting.
    _ok(_run(dispatcher, drone, 'capture_image'), 'capture_image')
    with lock:
        assert set(counts) == set(ids) and set(counts.values()) == {1}
        codes = collections.Counter(o.code for o in outcomes.values())
    assert codes == {ErrorCode.NONE: 200}, codes
    assert len({o.result['image_uris'][0] for o in outcomes.values()}) == 200
    assert dispatcher.in_flight == 0
