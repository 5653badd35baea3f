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
Execution semantics of robot executors running as separate processes.

Every executor is started from its platform's params file, as a user would start it, and
driven through real action round trips: the action servers a platform offers, takeoff, the
battery precondition, a full flight, cancel and preemption timing, the emergency-stop latch,
the priority busy policy, idempotent operation ids and timeouts.

The processes are shared by the whole module (starting one costs seconds); each test first
brings the drone into the state it needs (released, on the ground or airborne), so the tests
do not depend on their order. Timing figures are printed (run with ``-s`` to see them).
"""

import math
import threading
import time
import uuid

from action_msgs.msg import GoalStatus
from action_msgs.srv import CancelGoal
from brain_execution.core import catalog
from brain_execution_interfaces.msg import ErrorCode, OperationStatus, RobotState
from brain_execution_interfaces.srv import QueryOperation
import pytest
from rclpy.action import get_action_names_and_types

# Metres above home the drone flies at in these tests.
_ALTITUDE_M = 8.0
_FAST_CLIMB = {'altitude_m': _ALTITUDE_M, 'climb_speed_mps': 5.0}
# Below this the robot counts as stopped (m/s).
_STOPPED_MPS = 0.2
_DISCOVERY_TIMEOUT_S = 30.0


@pytest.fixture(scope='module')
def fleet(module_start_executor):
    """Start every executor the module needs at once, so that they boot in parallel."""
    return {
        'drone': module_start_executor('drone'),
        # The emergency-stop latch gets a drone of its own, so that a latch the executor
        # failed to release cannot fail the tests that follow.
        'drone_estop': module_start_executor('drone'),
        'ground': module_start_executor('ground'),
        'surface': module_start_executor('surface'),
        'drone_low_battery': module_start_executor(
            'drone', parameters={'sim.initial_battery_percent': 15.0}),
        'ground_slow_tick': module_start_executor('ground', parameters={'tick_rate_hz': 2.0}),
    }


def _ready_drone(executor, ros):
    ros.wait_for_servers(executor, ['takeoff', 'land', 'go_to', 'emergency_stop',
                                    'capture_image'])
    ros.watch_state(executor.robot_id)
    assert _state(ros, executor.robot_id) is not None, executor.log()
    return executor


@pytest.fixture
def drone(fleet, module_ros):
    return _ready_drone(fleet['drone'], module_ros)


@pytest.fixture
def estop_drone(fleet, module_ros):
    return _ready_drone(fleet['drone_estop'], module_ros)


# --- helpers -------------------------------------------------------------------------------

def _speed(state: RobotState) -> float:
    v = state.velocity.linear
    return math.sqrt(v.x * v.x + v.y * v.y + v.z * v.z)


def _state(ros, robot_id, condition=lambda s: True, timeout_s=10.0):
    return ros.wait_for_state(robot_id, condition, timeout_s=timeout_s)


def _fresh_state(ros, robot_id, condition=lambda s: True, timeout_s=10.0):
    """Return the first robot_state received after now that satisfies condition."""
    after = time.time()
    return _state(ros, robot_id, lambda s: _stamp_s(s.header.stamp) > after and condition(s),
                  timeout_s)


def _stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def _ok(result, what=''):
    assert result is not None, f'{what}: no result'
    assert result.error_code == ErrorCode.NONE, (
        f'{what}: error_code {result.error_code}: {result.error_msg}')


def _release(ros, robot_id):
    _ok(ros.run(robot_id, 'emergency_stop', {'release': True}), 'release')


def _ensure_airborne(ros, robot_id):
    """Release any e-stop latch; take off if the drone is on the ground; wait until still."""
    _release(ros, robot_id)
    state = _state(ros, robot_id)
    assert state is not None
    if state.landed_state != RobotState.LANDED_IN_AIR:
        _ok(ros.run(robot_id, 'takeoff', _FAST_CLIMB), 'takeoff')
    state = _state(ros, robot_id, lambda s: s.landed_state == RobotState.LANDED_IN_AIR and
                   not s.active_operations)
    assert state is not None, 'drone not airborne and idle'
    return state


def _ensure_on_ground(ros, robot_id):
    _release(ros, robot_id)
    state = _state(ros, robot_id)
    assert state is not None
    if state.landed_state != RobotState.LANDED_ON_GROUND:
        _ok(ros.run(robot_id, 'land', {'descent_speed_mps': 3.0}), 'land')
    state = _state(ros, robot_id, lambda s: s.landed_state == RobotState.LANDED_ON_GROUND and
                   not s.armed and not s.active_operations)
    assert state is not None, 'drone not landed, disarmed and idle'
    return state


def _far_target(state: RobotState):
    """Return a local target about 150 m away, inside the drone's 400 m geofence."""
    x = state.pose.position.x
    return {'x_m': -150.0 if x > 0.0 else 150.0, 'y_m': state.pose.position.y,
            'altitude_m': _ALTITUDE_M}


def _new_id(tag: str) -> str:
    return f'{tag}-{uuid.uuid4().hex[:10]}'


def _wait_moving(ros, robot_id, operation_id, min_speed_mps):
    state = _state(ros, robot_id, lambda s: operation_id in s.active_operations and
                   _speed(s) >= min_speed_mps)
    assert state is not None, f'{operation_id} never got the robot to {min_speed_mps} m/s'
    return state


def _query(ros, robot_id, operation_id='', timeout_s=10.0):
    client = ros.node.create_client(QueryOperation, f'/{robot_id}/query_operation')
    try:
        assert client.wait_for_service(timeout_sec=_DISCOVERY_TIMEOUT_S), 'no query service'
        done = threading.Event()
        future = client.call_async(QueryOperation.Request(operation_id=operation_id))
        future.add_done_callback(lambda f: done.set())
        assert done.wait(timeout_s), 'no query response in time'
        return future.result()
    finally:
        ros.node.destroy_client(client)


# --- 1. action servers per platform -------------------------------------------------------

@pytest.mark.parametrize('platform', ['drone', 'ground', 'surface'])
def test_action_servers_match_catalog(fleet, module_ros, platform):
    robot_id = fleet[platform].robot_id
    expected = {f'/{robot_id}/{spec.name}':
                f'brain_execution_interfaces/action/{spec.action_type}'
                for spec in catalog.operations_for(platform)}
    prefix = f'/{robot_id}/'
    # Waiting for every expected server first makes the graph read below a condition, not a
    # race: the executor creates all its servers before it starts spinning.
    module_ros.wait_for_servers(fleet[platform],
                                [spec.name for spec in catalog.operations_for(platform)])
    served = {name: types for name, types in get_action_names_and_types(module_ros.node)
              if name.startswith(prefix)}
    assert set(served) == set(expected), (
        f'missing {sorted(set(expected) - set(served))}, '
        f'unexpected {sorted(set(served) - set(expected))}\n{fleet[platform].log()}')
    for name, type_name in expected.items():
        assert served[name] == [type_name], name


# --- 2. seed cases --------------------------------------------------------------------------

def test_takeoff_refused_on_low_battery(fleet, module_ros):
    executor = fleet['drone_low_battery']
    module_ros.wait_for_servers(executor, ['takeoff'])
    run = module_ros.send(executor.robot_id, 'takeoff', _FAST_CLIMB)
    result = run.wait()
    assert run.status == GoalStatus.STATUS_ABORTED
    assert result.error_code == ErrorCode.PRECONDITION_FAILED, result.error_msg
    assert result.retryable is False
    for text in ('15', '30', 'takeoff'):
        assert text in result.error_msg, result.error_msg
    state = _state(module_ros, executor.robot_id)
    assert state is not None and not state.armed
    assert state.landed_state == RobotState.LANDED_ON_GROUND


def test_takeoff_go_to_land_ends_landed_and_disarmed(drone, module_ros):
    robot = drone.robot_id
    _ensure_on_ground(module_ros, robot)
    _ok(module_ros.run(robot, 'takeoff', _FAST_CLIMB), 'takeoff')
    target = {'x_m': 12.0, 'y_m': -6.0, 'altitude_m': _ALTITUDE_M}
    go_to = module_ros.run(robot, 'go_to', {'target': target, 'acceptance_radius_m': 1.0})
    _ok(go_to, 'go_to')
    assert go_to.distance_to_target_m <= 1.0
    assert math.dist((go_to.position.x, go_to.position.y, go_to.position.z),
                     (12.0, -6.0, _ALTITUDE_M)) <= 1.0
    run = module_ros.send(robot, 'land', {'descent_speed_mps': 3.0})
    land = run.wait()
    _ok(land, 'land')
    assert run.status == GoalStatus.STATUS_SUCCEEDED
    assert land.disarmed is True
    state = _fresh_state(module_ros, robot)
    assert state is not None, 'no robot_state after landing'
    assert state.landed_state == RobotState.LANDED_ON_GROUND
    assert state.armed is False
    assert state.pose.position.z == pytest.approx(0.0, abs=0.2)


def test_takeoff_reports_altitude_reached(drone, module_ros):
    robot = drone.robot_id
    _ensure_on_ground(module_ros, robot)
    goal_altitude_m = 6.0
    run = module_ros.send(robot, 'takeoff', {'altitude_m': goal_altitude_m,
                                             'climb_speed_mps': 5.0})
    result = run.wait()
    _ok(result, 'takeoff')
    assert run.status == GoalStatus.STATUS_SUCCEEDED
    tolerance = max(0.5, 0.05 * goal_altitude_m)
    assert abs(result.altitude_m - goal_altitude_m) <= tolerance, result.altitude_m
    assert result.operation_id
    # The autopilot may still report the end of its takeoff; it must settle in the air there.
    state = _fresh_state(module_ros, robot, lambda s: s.landed_state == RobotState.LANDED_IN_AIR)
    assert state is not None, 'drone never reported LANDED_IN_AIR after takeoff'
    assert state.armed
    assert abs(state.pose.position.z - goal_altitude_m) <= tolerance


# --- 3. cancel and preemption timing ----------------------------------------------------------

def test_cancel_go_to_stops_robot_within_one_second(drone, module_ros):
    robot = drone.robot_id
    state = _ensure_airborne(module_ros, robot)
    operation_id = _new_id('cancel')
    run = module_ros.send(robot, 'go_to', {'target': _far_target(state),
                                           'operation_id': operation_id})
    _wait_moving(module_ros, robot, operation_id, 4.0)
    response = module_ros.cancel(run)
    canceled_at = time.monotonic()
    assert response.return_code == CancelGoal.Response.ERROR_NONE
    assert len(response.goals_canceling) == 1
    stopped = _state(module_ros, robot, lambda s: _speed(s) < _STOPPED_MPS, timeout_s=5.0)
    stop_s = time.monotonic() - canceled_at
    print(f'\n[cancel] robot below {_STOPPED_MPS} m/s {stop_s * 1000:.0f} ms after the '
          f'cancel response')
    assert stopped is not None, 'robot did not stop after cancel'
    assert stop_s < 1.0, f'robot took {stop_s:.2f} s to stop'
    result = run.wait(10.0)
    assert run.status == GoalStatus.STATUS_CANCELED
    assert result.error_code == ErrorCode.CANCELED, result.error_msg
    assert result.operation_id == operation_id
    # The hold keeps it there: it does not drift off towards the old target.
    later = _fresh_state(module_ros, robot)
    assert later is not None and _speed(later) < _STOPPED_MPS
    assert operation_id not in later.active_operations


def test_emergency_stop_preempts_go_to_and_latches(estop_drone, module_ros):
    robot = estop_drone.robot_id
    state = _ensure_airborne(module_ros, robot)
    operation_id = _new_id('estop-victim')
    go_to = module_ros.send(robot, 'go_to', {'target': _far_target(state),
                                             'operation_id': operation_id})
    _wait_moving(module_ros, robot, operation_id, 2.0)
    estop = module_ros.send(robot, 'emergency_stop', {'reason': 'test: obstacle'})
    estop_result = estop.wait(10.0)
    _ok(estop_result, 'emergency_stop')
    latency_s = _stamp_s(estop_result.command_stamp) - estop.sent_s
    print(f'\n[e-stop] command_stamp - client send time = {latency_s * 1000:.1f} ms '
          f'(server-side command_latency_s = {estop_result.command_latency_s * 1000:.2f} ms)')
    assert estop_result.command_stamp.sec > 0, 'no command_stamp in the e-stop result'
    assert -0.05 < latency_s < 0.1, f'e-stop commanded {latency_s * 1000:.1f} ms after send'

    victim = go_to.wait(10.0)
    assert go_to.status == GoalStatus.STATUS_ABORTED
    assert victim.error_code == ErrorCode.PREEMPTED, victim.error_msg

    stopped = _state(module_ros, robot, lambda s: s.emergency_stop_active and
                     _speed(s) < _STOPPED_MPS, timeout_s=5.0)
    assert stopped is not None, 'robot_state never showed a stopped, latched robot'
    assert operation_id not in stopped.active_operations

    refused = module_ros.run(robot, 'go_to', {'target': _far_target(stopped)}, timeout_s=10.0)
    assert refused.error_code == ErrorCode.EMERGENCY_STOP_ACTIVE, refused.error_msg
    still = _fresh_state(module_ros, robot)
    assert still is not None and still.emergency_stop_active and _speed(still) < _STOPPED_MPS

    _release(module_ros, robot)
    released = _fresh_state(module_ros, robot)
    assert released is not None and not released.emergency_stop_active
    p = released.pose.position
    after = module_ros.run(robot, 'go_to', {'target': {
        'x_m': p.x + 3.0, 'y_m': p.y, 'altitude_m': _ALTITUDE_M}})
    _ok(after, 'go_to after release')


def test_higher_priority_preempts_and_lower_is_refused_busy(drone, module_ros):
    robot = drone.robot_id
    state = _ensure_airborne(module_ros, robot)
    low_id, high_id = _new_id('low'), _new_id('high')
    low = module_ros.send(robot, 'go_to', {'target': _far_target(state), 'priority': 100,
                                           'operation_id': low_id})
    moving = _wait_moving(module_ros, robot, low_id, 1.0)
    p = moving.pose.position
    # Close enough to finish in a few seconds, far enough to be running when the next
    # goal arrives.
    near = {'x_m': p.x, 'y_m': p.y + 20.0, 'altitude_m': _ALTITUDE_M}
    high = module_ros.send(robot, 'go_to', {'target': near, 'priority': 200,
                                            'operation_id': high_id})
    preempted = low.wait(10.0)
    assert low.status == GoalStatus.STATUS_ABORTED
    assert preempted.error_code == ErrorCode.PREEMPTED, preempted.error_msg
    assert preempted.operation_id == low_id

    busy = module_ros.run(robot, 'go_to', {'target': _far_target(moving), 'priority': 50},
                          timeout_s=10.0)
    high_was_running = not high.finished.is_set()
    assert busy.error_code == ErrorCode.BUSY, busy.error_msg
    assert busy.retryable is True
    assert high_id in busy.error_msg
    assert high_was_running, 'the higher-priority go_to ended before the refusal arrived'

    result = high.wait()
    _ok(result, 'higher-priority go_to')
    assert high.status == GoalStatus.STATUS_SUCCEEDED
    assert result.operation_id == high_id
    assert result.distance_to_target_m <= 1.0


# --- 4. idempotency and timeout ---------------------------------------------------------------

def test_same_operation_id_executes_once(drone, module_ros):
    robot = drone.robot_id
    operation_id = _new_id('capture')
    fields = {'count': 3, 'interval_s': 0.3, 'operation_id': operation_id}
    # The second goal arrives while the first is still capturing.
    first = module_ros.send(robot, 'capture_image', fields)
    second = module_ros.send(robot, 'capture_image', fields)
    results = [first.wait(), second.wait()]
    third = module_ros.run(robot, 'capture_image', fields)
    results.append(third)
    for result in results:
        _ok(result, 'capture_image')
        assert result.operation_id == operation_id
        assert len(result.image_uris) == 3
    # Executed once: the simulator numbers every image, so a second run would give new URIs.
    for result in results[1:]:
        assert list(result.image_uris) == list(results[0].image_uris)
        assert result.elapsed_s == results[0].elapsed_s
        assert (result.error_code, result.error_msg, result.retryable) == (
            results[0].error_code, results[0].error_msg, results[0].retryable)

    response = _query(module_ros, robot, operation_id)
    assert response.found
    assert [s.operation_id for s in response.operations] == [operation_id]
    assert response.operations[0].state == OperationStatus.STATE_SUCCEEDED
    assert response.operations[0].operation == 'capture_image'
    everything = _query(module_ros, robot)
    assert [s.operation_id for s in everything.operations].count(operation_id) == 1


def test_go_to_timeout_holds_robot(drone, module_ros):
    robot = drone.robot_id
    state = _ensure_airborne(module_ros, robot)
    operation_id = _new_id('timeout')
    run = module_ros.send(robot, 'go_to', {'target': _far_target(state), 'timeout_s': 1.0,
                                           'operation_id': operation_id})
    result = run.wait(15.0)
    ended_at = time.monotonic()
    assert run.status == GoalStatus.STATUS_ABORTED
    assert result.error_code == ErrorCode.TIMEOUT, result.error_msg
    assert result.retryable is True
    assert result.operation_id == operation_id
    assert 0.9 <= result.elapsed_s < 3.0, result.elapsed_s
    assert 'go_to' in result.error_msg
    stopped = _state(module_ros, robot, lambda s: _speed(s) < _STOPPED_MPS, timeout_s=5.0)
    print(f'\n[timeout] robot below {_STOPPED_MPS} m/s '
          f'{(time.monotonic() - ended_at) * 1000:.0f} ms after the TIMEOUT result')
    assert stopped is not None, 'robot kept moving after the timeout'
    held = _fresh_state(module_ros, robot)
    assert held is not None and _speed(held) < _STOPPED_MPS
    assert operation_id not in held.active_operations


def test_a_timed_wait_ends_on_time_between_slow_ticks(fleet, module_ros):
    # Ticks every 0.5 s; a 0.2 s hold still ends after 0.2 s, not at the next tick.
    executor = fleet['ground_slow_tick']
    module_ros.wait_for_servers(executor, ['hold'])
    for _ in range(3):
        run = module_ros.send(executor.robot_id, 'hold', {'duration_s': 0.2})
        result = run.wait(15.0)
        assert run.status == GoalStatus.STATUS_SUCCEEDED, result.error_msg
        assert 0.2 <= result.elapsed_s < 0.45, result.elapsed_s
