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
RobotRuntime on a simulated robot, driven by an injected fake clock.

No rclpy and no real sleeps: a test moves a mutable clock forward and calls ``tick()``, the
way the ROS adapter's timer does. The platform is a
:class:`~brain_execution.sim.bridge.SimBridge`, whose ``command_log`` shows what reached the
robot and when (in clock time).
"""

import math

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.errors import ErrorCode
from brain_execution.core.geo import GeoPoint
from brain_execution.core.operation import OperationState
from brain_execution.core.runtime import RobotRuntime
from brain_execution.core.state import Platform
from brain_execution.sim.bridge import SimBridge
import pytest

HOME = GeoPoint(latitude_deg=47.397742, longitude_deg=8.545594)
# As config/drone.yaml: a 400 m square fence, 100 m ceiling, 12 m/s limit, 5 m/s cruise.
ENVELOPE = SafetyEnvelope(
    geofence=((-200.0, -200.0), (200.0, -200.0), (200.0, 200.0), (-200.0, 200.0)),
    altitude_ceiling_m=100.0, max_speed_mps=12.0, cruise_speed_mps=5.0)
DT = 0.05
START_S = 1000.0
FAR = {'x_m': 150.0, 'y_m': 0.0, 'altitude_m': 10.0}


class FakeClock:
    """A clock the test moves by hand; the runtime and programs read it."""

    def __init__(self, t: float = START_S):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Robot:
    """A runtime, its simulated bridge and the clock, with helpers to advance time."""

    def __init__(self, *, platform=Platform.DRONE, bridge=None, history_size=1000,
                 auto_return_home=True):
        self.clock = FakeClock()
        self.bridge = bridge or SimBridge(platform=platform, robot_id='r1', home=HOME)
        self.bridge.update(self.clock.t)
        self.logs = []
        self.runtime = RobotRuntime(
            robot_id='r1', bridge=self.bridge, envelope=ENVELOPE, home=HOME, clock=self.clock,
            history_size=history_size, logger=lambda level, msg: self.logs.append((level, msg)),
            auto_return_home=auto_return_home)

    def advance(self, duration_s: float, dt: float = DT) -> None:
        end = self.clock.t + duration_s
        while self.clock.t < end - 1e-9:
            self.clock.t = min(end, self.clock.t + dt)
            self.runtime.tick()

    def until(self, predicate, timeout_s: float, dt: float = DT) -> float:
        """Tick until predicate() holds; return the clock time it took."""
        start = self.clock.t
        while not predicate():
            assert self.clock.t - start < timeout_s, f'condition not met in {timeout_s} s'
            self.clock.t += dt
            self.runtime.tick()
        return self.clock.t - start

    def commands(self, name: str):
        return [t for t, command in self.bridge.command_log if command == name]

    def speed(self) -> float:
        s = self.bridge.snapshot()
        return math.sqrt(s.vx_mps ** 2 + s.vy_mps ** 2 + s.vz_mps ** 2)


def airborne(**kwargs) -> Robot:
    robot = Robot(**kwargs)
    record = robot.runtime.submit('takeoff', {'altitude_m': 10.0, 'climb_speed_mps': 2.0})
    robot.until(lambda: record.done, 30.0)
    assert record.state is OperationState.SUCCEEDED, record.outcome
    return robot


def moving(robot: Robot, **kwargs):
    """Start a long go_to and tick until the drone is under way."""
    record = robot.runtime.submit('go_to', {'target': FAR}, **kwargs)
    assert record.state is OperationState.RUNNING, record.outcome
    robot.until(lambda: robot.speed() > 2.0, 10.0)
    return record


# --- intake ------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['dock', 'fly_to_the_moon'])
def test_unknown_or_unsupported_operation_is_refused_unsupported(name):
    robot = Robot()
    record = robot.runtime.submit(name, {}, operation_id='op-1')
    assert record.done
    assert record.state is OperationState.FAILED
    assert record.outcome.code == ErrorCode.UNSUPPORTED
    assert name in record.outcome.message
    assert robot.runtime.query('op-1') is None
    assert not robot.bridge.command_log


def test_invalid_parameters_are_refused_and_not_remembered():
    robot = Robot()
    record = robot.runtime.submit('takeoff', {'altitude_m': -5.0}, operation_id='op-1')
    assert record.outcome.code == ErrorCode.INVALID_PARAMETERS
    assert 'altitude_m' in record.outcome.message
    assert not record.outcome.retryable
    assert robot.runtime.query('op-1') is None
    assert not robot.bridge.command_log, 'a refused goal must not act on the robot'

    again = robot.runtime.submit('takeoff', {'altitude_m': 10.0}, operation_id='op-1')
    assert again is not record
    assert again.state is OperationState.RUNNING
    assert robot.runtime.query('op-1') is again


def test_nan_parameter_is_refused_with_the_field_named():
    robot = airborne()
    record = robot.runtime.submit('go_to', {'target': dict(FAR, x_m=math.nan)})
    assert record.outcome.code == ErrorCode.INVALID_PARAMETERS
    assert 'x_m' in record.outcome.message


def test_takeoff_succeeds_with_the_altitude_reached():
    robot = Robot()
    record = robot.runtime.submit('takeoff', {'altitude_m': 10.0, 'climb_speed_mps': 2.0})
    assert record.state is OperationState.RUNNING
    assert robot.commands('arm') == [START_S], 'the first step commands the robot at once'
    robot.until(lambda: record.done, 30.0)
    assert record.state is OperationState.SUCCEEDED
    assert record.outcome.code == ErrorCode.NONE
    assert record.outcome.result['altitude_m'] == pytest.approx(10.0, abs=0.5)
    assert record.outcome.elapsed_s == pytest.approx(record.ended_s - START_S)
    assert 4.0 < record.outcome.elapsed_s < 15.0
    assert record.progress.progress == 1.0
    assert robot.bridge.snapshot().airborne


def test_takeoff_while_airborne_is_a_precondition_failure():
    robot = airborne()
    record = robot.runtime.submit('takeoff', {'altitude_m': 20.0})
    assert record.outcome.code == ErrorCode.PRECONDITION_FAILED
    assert 'on the ground' in record.outcome.message


# --- busy policy and preemption ---------------------------------------------------------

@pytest.mark.parametrize('priority', [100, 101, 255])
def test_motion_preempted_by_equal_or_higher_priority(priority):
    robot = airborne()
    first = moving(robot, priority=100)
    second = robot.runtime.submit('go_to', {'target': {'x_m': -50.0, 'y_m': 0.0,
                                                       'altitude_m': 10.0}},
                                  priority=priority)
    assert first.state is OperationState.FAILED
    assert first.outcome.code == ErrorCode.PREEMPTED
    assert not first.outcome.retryable
    assert 'preempted by go_to' in first.outcome.message
    assert second.state is OperationState.RUNNING
    assert robot.runtime.active_records() == [second]
    # The new setpoint superseded the old one: no hold in between.
    assert robot.commands('hold') == []
    robot.until(lambda: robot.bridge.snapshot().vx_mps < -1.0, 20.0)


def test_lower_priority_motion_is_refused_busy():
    robot = airborne()
    first = moving(robot, priority=100)
    go_to_count = len(robot.commands('go_to'))
    refused = robot.runtime.submit('go_to', {'target': FAR}, priority=99)
    assert refused.outcome.code == ErrorCode.BUSY
    assert refused.outcome.retryable
    assert first.operation_id in refused.outcome.message
    assert first.state is OperationState.RUNNING
    assert len(robot.commands('go_to')) == go_to_count


def test_sensing_runs_alongside_motion():
    robot = airborne()
    motion = moving(robot)
    sensing = robot.runtime.submit('capture_image', {'count': 3, 'interval_s': 0.5})
    assert sensing.state is OperationState.RUNNING
    assert set(robot.runtime.active_records()) == {motion, sensing}
    robot.until(lambda: sensing.done, 5.0)
    assert sensing.state is OperationState.SUCCEEDED
    assert sensing.outcome.result['image_uris'] == [
        'sim://r1/default/1.jpg', 'sim://r1/default/2.jpg', 'sim://r1/default/3.jpg']
    assert motion.state is OperationState.RUNNING


def test_go_to_completes_at_the_target():
    robot = airborne()
    record = robot.runtime.submit('go_to', {'target': {'x_m': 20.0, 'y_m': 5.0,
                                                       'altitude_m': 12.0}})
    robot.until(lambda: record.done, 30.0)
    assert record.state is OperationState.SUCCEEDED, record.outcome
    assert record.outcome.result['distance_to_target_m'] <= 1.0
    assert record.outcome.result['position']['x'] == pytest.approx(20.0, abs=1.0)


# --- cancel and timeout -----------------------------------------------------------------

def test_cancel_holds_the_robot_and_ends_canceled():
    robot = airborne()
    record = moving(robot)
    canceled_at = robot.clock.t
    assert robot.runtime.cancel(record.operation_id)
    assert robot.commands('hold') == [canceled_at]
    assert record.state is OperationState.CANCELED
    assert record.outcome.code == ErrorCode.CANCELED
    assert record.ended_s == canceled_at
    assert not robot.runtime.cancel(record.operation_id), 'already ended'
    robot.until(lambda: robot.speed() < 0.05, 10.0)
    assert robot.runtime.active_records() == []


def test_cancel_of_unknown_operation_returns_false():
    robot = Robot()
    assert not robot.runtime.cancel('nope')


def test_cancel_waits_for_the_hold_acknowledgement():
    robot = airborne()
    record = moving(robot)
    robot.bridge.faults.ack_delay_s = 0.5
    canceled_at = robot.clock.t
    assert robot.runtime.cancel(record.operation_id)
    assert not record.done
    assert record.progress.phase == 'holding'
    assert not robot.runtime.cancel(record.operation_id), 'a second cancel is a no-op'
    robot.advance(0.3)
    assert not record.done
    robot.until(lambda: record.done, 2.0, dt=0.01)
    assert record.state is OperationState.CANCELED
    assert 0.5 - 1e-6 <= record.ended_s - canceled_at < 0.6


def test_cancel_ends_after_the_hold_ack_cap_when_no_ack_comes():
    robot = airborne()
    record = moving(robot)
    robot.bridge.faults.ack_delay_s = 30.0
    canceled_at = robot.clock.t
    robot.runtime.cancel(record.operation_id)
    robot.advance(1.9, dt=0.01)
    assert not record.done
    robot.until(lambda: record.done, 1.0, dt=0.01)
    assert record.outcome.code == ErrorCode.CANCELED
    assert 2.0 - 1e-6 <= record.ended_s - canceled_at < 2.05


def test_timeout_holds_and_is_retryable():
    robot = airborne()
    record = robot.runtime.submit('go_to', {'target': FAR}, timeout_s=3.0)
    started = robot.clock.t
    robot.until(lambda: record.done, 10.0)
    assert record.outcome.code == ErrorCode.TIMEOUT
    assert record.outcome.retryable
    assert '3.0 s' in record.outcome.message
    assert 3.0 - 1e-6 <= record.ended_s - started < 3.0 + 2 * DT
    holds = robot.commands('hold')
    assert holds and holds[-1] >= started + 3.0
    robot.until(lambda: robot.speed() < 0.05, 10.0)


# --- emergencies ------------------------------------------------------------------------

def test_emergency_stop_is_commanded_inside_submit_and_preempts_everything():
    robot = airborne()
    motion = moving(robot)
    sensing = robot.runtime.submit('capture_image', {'count': 100, 'interval_s': 0.5})
    robot.advance(0.2)
    now = robot.clock.t
    log_length = len(robot.bridge.command_log)

    stop = robot.runtime.submit('emergency_stop', {'reason': 'person on the field'})
    # Reached the platform in submit, at the current clock time, before any tick.
    assert robot.bridge.now_s == now
    assert list(robot.bridge.command_log)[log_length] == (now, 'emergency_stop')
    assert motion.outcome.code == ErrorCode.PREEMPTED
    assert sensing.outcome.code == ErrorCode.PREEMPTED
    assert 'emergency_stop' in motion.outcome.message
    assert stop.state is OperationState.SUCCEEDED, stop.outcome
    assert stop.outcome.result['command_stamp'] == now
    assert stop.outcome.result['command_latency_s'] == 0.0
    assert robot.runtime.emergency_stop_active
    assert robot.runtime.active_records() == []
    robot.until(lambda: robot.speed() < 0.05, 10.0)
    assert robot.bridge.snapshot().mode == 'EMERGENCY_STOP'


def test_emergency_stop_latches_until_released():
    robot = airborne()
    robot.runtime.submit('emergency_stop', {'reason': 'test'})
    refused = robot.runtime.submit('go_to', {'target': FAR})
    assert refused.outcome.code == ErrorCode.EMERGENCY_STOP_ACTIVE
    assert 'release' in refused.outcome.message
    assert 'test' in refused.outcome.message
    sensing = robot.runtime.submit('capture_image', {})
    assert sensing.state is OperationState.SUCCEEDED, 'sensing is allowed while latched'

    release = robot.runtime.submit('emergency_stop', {'release': True})
    assert release.state is OperationState.SUCCEEDED
    assert not robot.runtime.emergency_stop_active
    assert robot.commands('emergency_stop') == [robot.clock.t], 'release sends no stop'
    go = robot.runtime.submit('go_to', {'target': FAR})
    assert go.state is OperationState.RUNNING


def test_malformed_emergency_stop_that_reached_the_platform_still_stops_the_runtime():
    # submit() commands the stop before validating the request, so the robot stops; the
    # runtime must then not keep a motion 'running' nor accept new motion as if it had not.
    robot = airborne()
    motion = moving(robot)
    stop = robot.runtime.submit('emergency_stop', {'reason': 123})
    assert robot.commands('emergency_stop') == [robot.clock.t]
    assert stop.outcome.code == ErrorCode.INVALID_PARAMETERS
    assert motion.done, 'the platform was stopped under a motion still reported running'
    assert robot.runtime.emergency_stop_active


def test_emergency_land_refuses_motion_while_it_runs():
    robot = airborne()
    moving(robot)
    land = robot.runtime.submit('emergency_land', {'reason': 'battery'})
    assert land.state is OperationState.RUNNING
    assert robot.commands('emergency_land') == [robot.clock.t]
    refused = robot.runtime.submit('go_to', {'target': FAR}, priority=255)
    assert refused.outcome.code == ErrorCode.EMERGENCY_STOP_ACTIVE
    assert 'emergency_land' in refused.outcome.message
    robot.until(lambda: land.done, 60.0)
    assert land.state is OperationState.SUCCEEDED, land.outcome
    assert land.outcome.result['disarmed']
    assert not robot.bridge.snapshot().armed
    assert not robot.runtime.emergency_stop_active, 'emergency_land does not latch'


# --- idempotency and history ------------------------------------------------------------

def test_same_operation_id_runs_once_and_returns_the_same_record():
    robot = airborne()
    first = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    go_to_count = len(robot.commands('go_to'))
    second = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    assert second is first
    assert len(robot.commands('go_to')) == go_to_count
    assert first.state is OperationState.RUNNING, 'not preempted by its own duplicate'
    robot.runtime.cancel('move-1')
    assert robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1') is first
    assert first.outcome.code == ErrorCode.CANCELED


def test_same_operation_id_for_another_operation_is_refused():
    robot = airborne()
    first = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    other = robot.runtime.submit('capture_image', {}, operation_id='move-1')
    assert other.outcome.code == ErrorCode.OPERATION_ID_CONFLICT
    assert not other.outcome.retryable and not other.started
    assert 'move-1' in other.outcome.message and 'go_to' in other.outcome.message
    assert robot.runtime.query('move-1') is first
    assert first.state is OperationState.RUNNING
    assert robot.commands('capture_image') == []


def test_same_operation_id_with_other_parameters_is_refused_naming_the_field():
    robot = airborne()
    first = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    go_to_count = len(robot.commands('go_to'))
    other = robot.runtime.submit('go_to', {'target': dict(FAR, altitude_m=12.0)},
                                 operation_id='move-1')
    assert other is not first
    assert other.outcome.code == ErrorCode.OPERATION_ID_CONFLICT
    assert 'parameters.target.altitude_m: 12.0 != 10.0' in other.outcome.message
    assert len(robot.commands('go_to')) == go_to_count
    assert first.state is OperationState.RUNNING and first.started


def test_generated_operation_ids_are_unique():
    robot = Robot()
    ids = {robot.runtime.submit('capture_image', {}).operation_id for _ in range(100)}
    assert len(ids) == 100


def test_history_is_bounded():
    robot = Robot(history_size=50)
    for i in range(500):
        record = robot.runtime.submit('capture_image', {}, operation_id=f'img-{i}')
        assert record.state is OperationState.SUCCEEDED
    running = len(robot.runtime.active_records())
    assert len(robot.runtime.records()) <= 50 + running
    assert robot.runtime.query('img-499') is not None
    assert robot.runtime.query('img-0') is None


def test_history_is_bounded_while_a_long_operation_runs():
    # A long motion started first sits at the head of the history. Newer operations that
    # ended must still be evicted; only the running ones may exceed the limit.
    robot = airborne(history_size=50)
    motion = moving(robot)
    for i in range(500):
        robot.runtime.submit('capture_image', {}, operation_id=f'img-{i}')
    assert motion.state is OperationState.RUNNING
    running = len(robot.runtime.active_records())
    kept = len(robot.runtime.records())
    assert kept <= 50 + running, f'{kept} records kept, history_size=50, {running} running'


# --- failures while running -------------------------------------------------------------

def test_link_lost_during_go_to_is_a_retryable_communication_failure():
    robot = airborne()
    record = moving(robot)
    robot.bridge.faults.link_down = True
    robot.advance(DT)
    assert record.outcome.code == ErrorCode.COMMUNICATION_FAILURE
    assert record.outcome.retryable
    assert 'link' in record.outcome.message
    # The hold was attempted even though the link was down.
    assert robot.commands('hold')[-1] == robot.clock.t


class _BrokenGoToBridge(SimBridge):
    """A bridge with a bug: go_to raises a plain exception instead of returning a handle."""

    def go_to(self, **kwargs):
        raise RuntimeError('setpoint encoder exploded')


def test_program_exception_ends_internal_error_with_a_message():
    bridge = _BrokenGoToBridge(platform=Platform.DRONE, robot_id='r1', home=HOME)
    robot = airborne(bridge=bridge)
    record = robot.runtime.submit('go_to', {'target': FAR})
    assert record.done, 'the first step raised inside submit'
    assert record.outcome.code == ErrorCode.INTERNAL_ERROR
    assert 'RuntimeError' in record.outcome.message
    assert 'setpoint encoder exploded' in record.outcome.message
    assert not record.outcome.retryable
    assert robot.commands('hold') == [robot.clock.t]
    assert any(level == 'error' and 'RuntimeError' in msg for level, msg in robot.logs)
    # The runtime is still usable.
    assert robot.runtime.submit('capture_image', {}).state is OperationState.SUCCEEDED


class _PhantomGripperBridge(SimBridge):
    """A platform that acknowledges a pickup without attaching anything."""

    def attach_payload(self, *, payload_id: str, expected_mass_kg: float):
        self._log('attach_payload')
        return CommandHandle.succeeded(expected_mass_kg, 'attach_payload')


def test_postcondition_failure_ends_postcondition_failed():
    bridge = _PhantomGripperBridge(platform=Platform.DRONE, robot_id='r1', home=HOME)
    robot = Robot(bridge=bridge)
    record = robot.runtime.submit('pickup', {'payload_id': 'box', 'expected_mass_kg': 1.0})
    robot.until(lambda: record.done, 5.0)
    assert record.outcome.code == ErrorCode.POSTCONDITION_FAILED
    assert 'box' in record.outcome.message
    assert not record.outcome.retryable


def test_platform_refusal_ends_with_the_platform_code():
    robot = Robot()
    robot.bridge.faults.reject_arming = True
    record = robot.runtime.submit('takeoff', {'altitude_m': 10.0})
    robot.until(lambda: record.done, 5.0)
    assert record.outcome.code == 101
    assert 'arming' in record.outcome.message


def test_shutdown_ends_running_operations_and_holds():
    robot = airborne()
    motion = moving(robot)
    sensing = robot.runtime.submit('capture_image', {'count': 100, 'interval_s': 0.5})
    robot.runtime.shutdown()
    for record in (motion, sensing):
        assert record.outcome.code == ErrorCode.SHUTDOWN
        # They started: a caller reconciles by id, never re-sends them under a new one.
        assert not record.outcome.retryable and record.started
    assert robot.commands('hold') == [robot.clock.t]
    assert robot.runtime.active_records() == []


def test_stop_refuses_new_goals_but_not_emergencies_and_can_land():
    robot = airborne()
    moving(robot)
    handle = robot.runtime.stop('test stop', safe_action='land')
    assert handle is not None and robot.commands('land') == [robot.clock.t]
    late = robot.runtime.submit('capture_image', {})
    assert late.outcome.code == ErrorCode.SHUTDOWN and not late.started
    assert 'test stop' in late.outcome.message
    robot.runtime.submit('emergency_stop', {'reason': 'still wins'})
    assert robot.commands('emergency_stop')


def test_history_size_must_be_positive():
    with pytest.raises(ValueError, match='history_size'):
        Robot(history_size=0)


# --- battery failsafe ----------------------------------------------------------------------

def test_low_battery_sends_an_airborne_drone_home_once():
    robot = airborne()
    motion = moving(robot)
    robot.bridge.faults.battery_percent = 20.0  # below the envelope's 25 % return-home level
    robot.advance(DT)
    assert motion.outcome.code == ErrorCode.PREEMPTED
    assert 'battery 20% < 25%' in motion.outcome.message
    returning = [r for r in robot.runtime.records() if r.name == 'return_home']
    assert len(returning) == 1 and returning[0].priority == 255
    robot.until(lambda: returning[0].done, 120.0)
    assert returning[0].state is OperationState.SUCCEEDED, returning[0].outcome
    assert robot.bridge.snapshot().distance_to(0.0, 0.0) < 1.5
    assert not robot.bridge.snapshot().airborne
    # One episode, one return: still low, on the ground at home, nothing new is started.
    robot.advance(1.0)
    assert len([r for r in robot.runtime.records() if r.name == 'return_home']) == 1


def test_low_battery_failsafe_can_be_turned_off():
    robot = airborne(auto_return_home=False)
    motion = moving(robot)
    robot.bridge.faults.battery_percent = 20.0
    robot.advance(1.0)
    assert motion.state is OperationState.RUNNING
    assert not [r for r in robot.runtime.records() if r.name == 'return_home']


def test_malformed_emergency_land_still_lands_and_blocks_motion():
    robot = airborne()
    motion = moving(robot)
    refused = robot.runtime.submit('emergency_land', {'reason': 123})
    assert refused.outcome.code == ErrorCode.INVALID_PARAMETERS
    assert 'commanded anyway' in refused.outcome.message
    assert robot.commands('emergency_land') == [robot.clock.t]
    assert motion.outcome.code == ErrorCode.PREEMPTED
    landing = [r for r in robot.runtime.active_records() if r.name == 'emergency_land']
    assert len(landing) == 1
    blocked = robot.runtime.submit('go_to', {'target': FAR}, priority=255)
    assert blocked.outcome.code == ErrorCode.EMERGENCY_STOP_ACTIVE
    robot.until(lambda: landing[0].done, 60.0)
    assert landing[0].state is OperationState.SUCCEEDED, landing[0].outcome


def test_a_timed_wait_tells_when_it_ends_so_the_adapter_can_tick_then():
    robot = airborne()
    assert robot.runtime.next_wake_s() is None
    start = robot.clock.t
    record = robot.runtime.submit('hover', {'duration_s': 0.13})
    # Holding has to be acknowledged first; then the wait's end is known.
    robot.until(lambda: robot.runtime.next_wake_s() is not None, 2.0, dt=0.01)
    due = robot.runtime.next_wake_s()
    assert start < due <= robot.clock.t + 0.13 + 1e-9
    # One tick at exactly that time ends the hover, however coarse the periodic ticks are.
    robot.clock.t = due
    robot.runtime.tick()
    assert record.state == OperationState.SUCCEEDED, record.outcome
    assert robot.runtime.next_wake_s() is None
