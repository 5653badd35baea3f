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
The Nav2 bridge end to end: robot executor (bridge: nav2) against a sim_nav2 process.

Both run as separate processes, started as launch_ros would, and every operation goes
through the executor's action servers. sim_nav2 serves Nav2's actions, lifecycle services
and topics (Jazzy types and codes); what the robot physically did is counted from its own
events topic, not from the executor. The robot starts on its dock, off the map origin and
turned (odom is not map), with home at the dock: so poses only come out right when the
bridge composes AMCL fixes with odometry and maps the local frame to the global one.

The processes serve the whole module; each test brings the robot into the state it needs
(faults off, undocked or docked, idle), so the tests do not depend on their order.
"""

import math
import time

from action_msgs.msg import GoalStatus
from brain_execution_interfaces.msg import ErrorCode, Waypoint
import pytest

from .conftest import SimEvents, unique_robot_id

# The dock (and start pose, and home) in the global frame: x_m, y_m, yaw_rad.
_DOCK = (2.0, 1.0, 0.5)
_SIM = {
    'start_pose': list(_DOCK),
    'start_docked': True,
    'docks': [f'charger:{_DOCK[0]}:{_DOCK[1]}:{_DOCK[2]}'],
    'max_speed_mps': 2.0,
    'max_accel_mps2': 4.0,
    'max_yaw_rate_radps': 3.0,
    'progress_timeout_s': 2.0,
    'replan_period_s': 0.5,
}
_FAULTS_OFF = {'fault.planning_failure': False, 'fault.stuck': False, 'fault.inactive': False}
_FAST = 2.0
_STOPPED_MPS = 0.05
_UNSUPPORTED = {
    'capture_image': {},
    'record_video': {},
    'scan_area': {'boundary': [Waypoint(x_m=0.0, y_m=0.0), Waypoint(x_m=5.0, y_m=0.0),
                               Waypoint(x_m=5.0, y_m=5.0)]},
    'pickup': {'payload_id': 'box'},
    'dropoff': {},
    'send_data': {'destination': 'base', 'data': b'x'},
}


def _executor_parameters(namespace: str):
    return {'nav2.namespace': namespace, 'nav2.home_pose': list(_DOCK),
            'limits.max_speed_mps': _FAST, 'nav2.readiness_period_s': 0.2}


@pytest.fixture(scope='module')
def rover(module_start_sim_nav2, module_start_executor, module_ros):
    """Start a sim_nav2 robot and its executor; return them ready (link up, Nav2 active)."""
    robot_id = unique_robot_id('rover')
    namespace = f'/{robot_id}/nav2'
    sim = module_start_sim_nav2(namespace, _SIM)
    executor = module_start_executor('ground', robot_id=robot_id, params_file='ground_nav2.yaml',
                                     parameters=_executor_parameters(namespace))
    module_ros.wait_for_servers(executor, ['go_to', 'hold', 'follow_waypoints', 'dock',
                                           'undock', 'return_home', 'emergency_stop'])
    ready = module_ros.wait_for_state(robot_id, lambda s: s.link_up and s.armed, 30.0)
    assert ready is not None, f'rover never ready: sim {sim.running()}\n{executor.log()}'
    events = SimEvents(module_ros.node, namespace)
    return {'id': robot_id, 'sim': sim, 'executor': executor, 'events': events,
            'namespace': namespace}


@pytest.fixture
def robot(rover, module_ros):
    """Return the rover with its faults off, its e-stop released and nothing running."""
    module_ros.set_parameters(rover['sim'].node_name, _FAULTS_OFF)
    _ok(module_ros.run(rover['id'], 'emergency_stop', {'release': True}), 'release')
    idle = _fresh_state(module_ros, rover['id'], lambda s: s.armed and s.link_up
                        and not s.active_operations)
    assert idle is not None, 'rover not idle and active'
    return rover


# --- helpers -------------------------------------------------------------------------------

def _ok(result, what=''):
    assert result is not None, f'{what}: no result'
    assert result.error_code == ErrorCode.NONE, (
        f'{what}: error_code {result.error_code}: {result.error_msg}')


def _fresh_state(ros, robot_id, condition, timeout_s=10.0):
    """Return the first robot_state published from now on that satisfies condition."""
    after = time.time()
    return ros.wait_for_state(robot_id, lambda s: s.header.stamp.sec + s.header.stamp.nanosec
                              * 1e-9 > after and condition(s), timeout_s)


def _speed(state) -> float:
    return math.hypot(state.velocity.linear.x, state.velocity.linear.y)


def _undocked(ros, robot):
    state = ros.wait_for_state(robot['id'], lambda s: True)
    if state.docked:
        _ok(ros.run(robot['id'], 'undock', {}), 'undock')
    return ros.wait_for_state(robot['id'], lambda s: not s.docked and _speed(s) < _STOPPED_MPS)


def _docked(ros, robot):
    state = ros.wait_for_state(robot['id'], lambda s: True)
    if not state.docked:
        _ok(ros.run(robot['id'], 'dock', {'dock_id': 'charger'}), 'dock')


def _far(state, distance_m=12.0):
    """Return a local target distance_m away, toward the side of home the robot is not."""
    x = state.pose.position.x
    return {'x_m': x - distance_m if x > 0.0 else x + distance_m, 'y_m': state.pose.position.y}


def _wait_moving(ros, robot, operation_id='', min_speed_mps=0.5):
    state = ros.wait_for_state(robot['id'], lambda s: _speed(s) >= min_speed_mps and (
        not operation_id or operation_id in s.active_operations), 10.0)
    assert state is not None, f'the robot never reached {min_speed_mps} m/s'
    return state


def _driving_far(ros, robot):
    """Send a long go_to and wait until the robot moves; return the run, a mark, the state."""
    state = _undocked(ros, robot)
    mark = robot['events'].mark()
    run = ros.send(robot['id'], 'go_to', {'target': _far(state), 'speed_mps': _FAST})
    _wait_moving(ros, robot)
    return run, mark, state


def _assert_stopped_by_nav2(ros, robot, mark, action='navigate_to_pose',
                            status=('canceled',)):
    """Assert that the goal ended on the robot's side and the robot came to a standstill."""
    events = robot['events']
    ended = events.wait_for(mark, 'goal_ended', action=action)
    assert ended['status'] in status, ended
    events.wait_for(mark, 'stopped')
    still = ros.wait_for_state(robot['id'], lambda s: _speed(s) < _STOPPED_MPS, 5.0)
    assert still is not None, 'robot_state still shows the robot moving'


# --- every ground operation ----------------------------------------------------------------

def test_undock_and_dock_drive_nav2_docking(robot, module_ros):
    _docked(module_ros, robot)
    events = robot['events']
    mark = events.mark()
    result = module_ros.run(robot['id'], 'undock', {'distance_m': 1.0})
    _ok(result, 'undock')
    assert result.docked is False
    assert len(events.since(mark, 'goal_accepted', action='undock_robot')) == 1
    events.wait_for(mark, 'undocked')

    mark = events.mark()
    result = module_ros.run(robot['id'], 'dock', {'dock_id': 'charger'})
    _ok(result, 'dock')
    assert result.docked is True
    accepted = events.since(mark, 'goal_accepted', action='dock_robot')
    assert [e['dock_id'] for e in accepted] == ['charger']
    events.wait_for(mark, 'docked', dock_id='charger')
    state = module_ros.wait_for_state(robot['id'], lambda s: s.docked and s.mode == 'DOCKED')
    assert state is not None
    # Home is the dock: the robot is back at the local origin.
    assert math.hypot(state.pose.position.x, state.pose.position.y) < 0.1, state.pose


def test_go_to_drives_navigate_to_pose_once_in_the_global_frame(robot, module_ros):
    _undocked(module_ros, robot)
    events = robot['events']
    mark = events.mark()
    target = {'x_m': 3.0, 'y_m': 2.0, 'has_yaw': True, 'yaw_rad': 1.0}
    result = module_ros.run(robot['id'], 'go_to', {'target': target, 'speed_mps': _FAST,
                                                   'acceptance_radius_m': 0.3})
    _ok(result, 'go_to')
    # Local (3, 2) is 3 m east and 2 m north of home, which is the dock in the map.
    accepted = events.since(mark, 'goal_accepted', action='navigate_to_pose')
    assert len(accepted) == 1, accepted
    x, y, yaw = accepted[0]['target']
    assert (x, y, yaw) == pytest.approx((_DOCK[0] + 3.0, _DOCK[1] + 2.0, 1.0), abs=1e-3)
    assert result.distance_to_target_m <= 0.3
    assert result.position.x == pytest.approx(3.0, abs=0.3)
    assert result.position.y == pytest.approx(2.0, abs=0.3)
    ended = events.wait_for(mark, 'goal_ended', action='navigate_to_pose')
    assert ended['status'] == 'succeeded'


def test_go_to_without_yaw_faces_its_way(robot, module_ros):
    state = _undocked(module_ros, robot)
    events = robot['events']
    mark = events.mark()
    p = state.pose.position
    _ok(module_ros.run(robot['id'], 'go_to', {'target': {'x_m': p.x, 'y_m': p.y + 2.0},
                                              'speed_mps': _FAST}), 'go_to')
    (accepted,) = events.since(mark, 'goal_accepted', action='navigate_to_pose')
    assert accepted['target'][2] == pytest.approx(math.pi / 2.0, abs=1e-3)


def test_follow_waypoints_runs_natively_on_nav2s_waypoint_follower(robot, module_ros):
    state = _undocked(module_ros, robot)
    events = robot['events']
    mark = events.mark()
    p = state.pose.position
    points = [(p.x + 1.5, p.y), (p.x + 1.5, p.y + 1.5), (p.x, p.y + 1.5)]
    run = module_ros.send(robot['id'], 'follow_waypoints', {
        'waypoints': [Waypoint(x_m=x, y_m=y) for x, y in points], 'speed_mps': _FAST,
        'acceptance_radius_m': 0.5})
    result = run.wait()
    _ok(result, 'follow_waypoints')
    assert result.waypoints_completed == 3
    (accepted,) = events.since(mark, 'goal_accepted', action='follow_waypoints')
    sent = [v for pose in accepted['poses'] for v in pose[:2]]
    assert sent == pytest.approx([v for x, y in points for v in (x + _DOCK[0], y + _DOCK[1])],
                                 abs=1e-3)
    assert not events.since(mark, 'goal_accepted', action='navigate_to_pose')
    seen = [f.current_waypoint for f in run.feedback]
    assert seen == sorted(seen) and seen[-1] == 2, seen


def test_return_home_navigates_to_the_configured_home(robot, module_ros):
    state = _undocked(module_ros, robot)
    p = state.pose.position
    _ok(module_ros.run(robot['id'], 'go_to', {'target': {'x_m': p.x + 2.0, 'y_m': p.y - 2.0},
                                              'speed_mps': _FAST}), 'go_to')
    events = robot['events']
    mark = events.mark()
    result = module_ros.run(robot['id'], 'return_home', {'speed_mps': _FAST})
    _ok(result, 'return_home')
    (accepted,) = events.since(mark, 'goal_accepted', action='navigate_to_pose')
    assert accepted['target'] == pytest.approx(list(_DOCK), abs=1e-3)
    assert result.distance_to_home_m < 0.3


def test_hold_preempts_go_to_and_cancels_the_navigation(robot, module_ros):
    go_to, mark, _ = _driving_far(module_ros, robot)
    hold = module_ros.run(robot['id'], 'hold', {'duration_s': 0.5})
    _ok(hold, 'hold')
    assert go_to.wait(10.0).error_code == ErrorCode.PREEMPTED
    _assert_stopped_by_nav2(module_ros, robot, mark)


def test_cancel_stops_the_robot_through_nav2(robot, module_ros):
    run, mark, _ = _driving_far(module_ros, robot)
    module_ros.cancel(run)
    result = run.wait(10.0)
    assert run.status == GoalStatus.STATUS_CANCELED
    assert result.error_code == ErrorCode.CANCELED, result.error_msg
    _assert_stopped_by_nav2(module_ros, robot, mark)


def test_emergency_stop_cancels_navigation_and_latches(robot, module_ros):
    go_to, mark, state = _driving_far(module_ros, robot)
    _ok(module_ros.run(robot['id'], 'emergency_stop', {'reason': 'test'}), 'emergency_stop')
    assert go_to.wait(10.0).error_code == ErrorCode.PREEMPTED
    _assert_stopped_by_nav2(module_ros, robot, mark)
    refused = module_ros.run(robot['id'], 'go_to', {'target': _far(state)})
    assert refused.error_code == ErrorCode.EMERGENCY_STOP_ACTIVE, refused.error_msg
    assert len(robot['events'].since(mark, 'goal_accepted')) == 1


def test_go_to_after_follow_waypoints_waits_for_the_route_to_end(robot, module_ros):
    """
    Nav2's waypoint follower cancels *every* NavigateToPose goal when its own is canceled.

    So the navigation that preempts a route is sent only once the route has ended.
    """
    state = _undocked(module_ros, robot)
    events = robot['events']
    p = state.pose.position
    far = _far(state)
    route = module_ros.send(robot['id'], 'follow_waypoints', {
        'waypoints': [Waypoint(x_m=far['x_m'], y_m=p.y), Waypoint(x_m=p.x, y_m=p.y)],
        'speed_mps': _FAST})
    _wait_moving(module_ros, robot)
    mark = events.mark()
    _ok(module_ros.run(robot['id'], 'go_to', {'target': {'x_m': p.x, 'y_m': p.y + 1.0},
                                              'speed_mps': _FAST}), 'go_to')
    assert route.wait(10.0).error_code == ErrorCode.PREEMPTED
    kinds = [(e['event'], e.get('action')) for e in events.since(mark)
             if e['event'] in ('goal_accepted', 'goal_ended')]
    assert kinds[:2] == [('goal_ended', 'follow_waypoints'),
                         ('goal_accepted', 'navigate_to_pose')], kinds
    assert events.since(mark, 'goal_ended', action='follow_waypoints')[0]['status'] == (
        'canceled')


@pytest.mark.parametrize('operation', sorted(_UNSUPPORTED))
def test_what_nav2_cannot_do_is_unsupported_with_a_reason(robot, module_ros, operation):
    mark = robot['events'].mark()
    result = module_ros.run(robot['id'], operation, _UNSUPPORTED[operation])
    assert result.error_code == ErrorCode.UNSUPPORTED, result.error_msg
    assert 'nav2 bridge' in result.error_msg and 'Nav2 has no' in result.error_msg
    assert not robot['events'].since(mark, 'goal_accepted')


# --- faults: each ends with its own code, Nav2's code and message quoted, robot stopped -----

def test_planning_failure_ends_no_path_with_nav2s_code_and_message(robot, module_ros):
    state = _undocked(module_ros, robot)
    module_ros.set_parameters(robot['sim'].node_name, {'fault.planning_failure': True})
    mark = robot['events'].mark()
    result = module_ros.run(robot['id'], 'go_to', {'target': _far(state), 'speed_mps': _FAST},
                            timeout_s=15.0)
    assert result.error_code == ErrorCode.NO_PATH, result.error_msg
    assert 'error_code 208 (ComputePathToPose NO_VALID_PATH)' in result.error_msg
    assert 'injected planning failure' in result.error_msg  # Nav2's error_msg, kept
    assert not result.retryable
    (accepted,) = robot['events'].since(mark, 'goal_accepted')
    ended = robot['events'].wait_for(mark, 'goal_ended', goal_id=accepted['goal_id'])
    assert (ended['status'], ended['error_code']) == ('aborted', 208), robot['events'].since(mark)


def test_planning_failure_mid_route_names_the_missed_waypoint(robot, module_ros):
    state = _undocked(module_ros, robot)
    p = state.pose.position
    module_ros.set_parameters(robot['sim'].node_name, {'fault.planning_failure': True})
    result = module_ros.run(robot['id'], 'follow_waypoints', {
        'waypoints': [Waypoint(x_m=p.x + 1.0, y_m=p.y), Waypoint(x_m=p.x + 2.0, y_m=p.y)],
        'speed_mps': _FAST}, timeout_s=15.0)
    assert result.error_code == ErrorCode.NO_PATH, result.error_msg
    assert 'at waypoint 0 of 2' in result.error_msg and '208' in result.error_msg


def test_stuck_robot_ends_stuck_and_is_stopped(robot, module_ros):
    state = _undocked(module_ros, robot)
    module_ros.set_parameters(robot['sim'].node_name, {'fault.stuck': True})
    mark = robot['events'].mark()
    started = time.monotonic()
    result = module_ros.run(robot['id'], 'go_to', {'target': _far(state), 'speed_mps': _FAST},
                            timeout_s=15.0)
    assert result.error_code == ErrorCode.STUCK, result.error_msg
    assert 'error_code 105 (FollowPath FAILED_TO_MAKE_PROGRESS)' in result.error_msg
    # sim_nav2's progress checker allows 2 s: the goal ends then, not at its own timeout.
    assert time.monotonic() - started < 6.0
    ended = robot['events'].wait_for(mark, 'goal_ended', action='navigate_to_pose')
    assert (ended['status'], ended['error_code']) == ('aborted', 105)


def test_inactive_nav2_refuses_goals_not_ready(robot, module_ros):
    state = _undocked(module_ros, robot)
    module_ros.set_parameters(robot['sim'].node_name, {'fault.inactive': True})
    assert module_ros.wait_for_state(robot['id'], lambda s: not s.armed and
                                     s.mode == 'NOT_READY', 5.0) is not None
    mark = robot['events'].mark()
    result = module_ros.run(robot['id'], 'go_to', {'target': _far(state)})
    assert result.error_code == ErrorCode.PLATFORM_NOT_READY, result.error_msg
    assert "bt_navigator/get_state reports 'inactive'" in result.error_msg
    assert result.retryable
    assert not robot['events'].since(mark, 'goal_accepted')


def test_nav2_deactivated_mid_goal_ends_not_ready(robot, module_ros):
    run, mark, _ = _driving_far(module_ros, robot)
    module_ros.set_parameters(robot['sim'].node_name, {'fault.inactive': True})
    result = run.wait(10.0)
    assert result.error_code == ErrorCode.PLATFORM_NOT_READY, result.error_msg
    assert 'aborted by Nav2 without an error code' in result.error_msg
    assert 'not active' in result.error_msg
    _assert_stopped_by_nav2(module_ros, robot, mark, status=('aborted',))


def test_readiness_from_the_lifecycle_manager(robot, module_ros, module_start_executor):
    """An executor asking lifecycle_manager_navigation/is_active instead of bt_navigator."""
    robot_id = unique_robot_id('rover_manager')
    executor = module_start_executor('ground', robot_id=robot_id,
                                     params_file='ground_nav2.yaml',
                                     parameters=dict(_executor_parameters(robot['namespace']),
                                                     **{'nav2.readiness': 'lifecycle_manager'}))
    module_ros.wait_for_servers(executor, ['go_to'])
    assert module_ros.wait_for_state(robot_id, lambda s: s.link_up and s.armed, 30.0), (
        executor.log())
    module_ros.set_parameters(robot['sim'].node_name, {'fault.inactive': True})
    assert module_ros.wait_for_state(robot_id, lambda s: not s.armed, 5.0) is not None
    result = module_ros.run(robot_id, 'undock', {})
    assert result.error_code == ErrorCode.PLATFORM_NOT_READY, result.error_msg
    assert 'lifecycle_manager_navigation/is_active reports not active' in result.error_msg
    assert executor.stop() == 0


def test_unknown_dock_is_dock_not_found(robot, module_ros):
    _undocked(module_ros, robot)
    result = module_ros.run(robot['id'], 'dock', {'dock_id': 'nowhere'})
    assert result.error_code == 1501, result.error_msg  # Dock.DOCK_NOT_FOUND
    assert 'error_code 901 (DockRobot DOCK_NOT_IN_DB)' in result.error_msg
    assert "'nowhere'" in result.error_msg


def test_dock_that_cannot_stage_is_docking_failed(robot, module_ros):
    state = _undocked(module_ros, robot)
    p = state.pose.position
    _ok(module_ros.run(robot['id'], 'go_to', {'target': {'x_m': p.x + 2.0, 'y_m': p.y},
                                              'speed_mps': _FAST}), 'go_to')
    module_ros.set_parameters(robot['sim'].node_name, {'fault.planning_failure': True})
    result = module_ros.run(robot['id'], 'dock', {'dock_id': 'charger'})
    assert result.error_code == 1502, result.error_msg  # Dock.DOCKING_FAILED
    assert 'error_code 903 (DockRobot FAILED_TO_STAGE)' in result.error_msg


def test_frozen_nav2_ends_communication_failure_and_stops_on_resume(robot, module_ros):
    events, sim = robot['events'], robot['sim']
    run, mark, _ = _driving_far(module_ros, robot)
    frozen = time.monotonic()
    sim.process.send_signal(19)  # SIGSTOP: Nav2's process freezes mid-goal
    try:
        result = run.wait(15.0)
        ended_s = time.monotonic() - frozen
        assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, result.error_msg
        # nav2.pose_timeout_s (1 s), then at most 2 s waiting for the hold's answer.
        assert ended_s < 6.0, ended_s
        assert not events.since(mark, 'goal_ended')
    finally:
        sim.process.send_signal(18)  # SIGCONT
    # Once Nav2 runs again, the cancel sent meanwhile ends its goal, unless its progress
    # checker, which saw no motion for the whole freeze, aborts it first: either way the
    # goal ends and the robot stops.
    _assert_stopped_by_nav2(module_ros, robot, mark, status=('canceled', 'aborted'))
    assert module_ros.wait_for_state(robot['id'], lambda s: s.link_up, 5.0) is not None


def test_goal_nav2_accepts_after_its_operation_ended_is_canceled(robot, module_ros):
    """Exactly once: a goal sent into a freeze must not drive the robot once Nav2 resumes."""
    state = _undocked(module_ros, robot)
    events, sim = robot['events'], robot['sim']
    for _ in range(3):
        mark = events.mark()
        sim.process.send_signal(19)  # SIGSTOP before the goal reaches Nav2
        try:
            result = module_ros.run(robot['id'], 'go_to', {'target': _far(state)},
                                    timeout_s=15.0)
        finally:
            sim.process.send_signal(18)  # SIGCONT
        if result.error_code not in (ErrorCode.PRECONDITION_FAILED,
                                     ErrorCode.PLATFORM_NOT_READY):
            break
        # Nothing was sent: the goal reached the executor after the link was found down (a
        # loaded machine), or Nav2's readiness had not yet recovered from the freeze of the
        # test before. Try again once both are back.
        assert 'link' in result.error_msg or 'not sent' in result.error_msg, result.error_msg
        assert _fresh_state(module_ros, robot['id'], lambda s: s.link_up and s.armed)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, (result.error_code,
                                                                  result.error_msg)
    accepted = events.wait_for(mark, 'goal_accepted', action='navigate_to_pose')
    ended = events.wait_for(mark, 'goal_ended', goal_id=accepted['goal_id'])
    assert ended['status'] == 'canceled', ended
    # Canceled as soon as the acceptance reached the bridge (times on the robot's clock),
    # rather than left to drive the 12 m (6 s) to the target.
    still = module_ros.wait_for_state(robot['id'], lambda s: s.link_up and
                                      _speed(s) < _STOPPED_MPS, 10.0)
    assert still is not None
    moved = math.hypot(still.pose.position.x - state.pose.position.x,
                       still.pose.position.y - state.pose.position.y)
    print(f'\n[late acceptance] canceled {ended["t"] - accepted["t"]:.3f} s after acceptance; '
          f'the robot moved {moved:.2f} m')
    assert ended['t'] - accepted['t'] < 2.0, (accepted, ended)


def test_executor_shutdown_cancels_what_nav2_still_drives(robot, module_ros,
                                                          module_start_executor):
    """A second executor on the same Nav2 is stopped (SIGINT) while its goal runs."""
    robot_id = unique_robot_id('rover_shutdown')
    executor = module_start_executor('ground', robot_id=robot_id,
                                     params_file='ground_nav2.yaml',
                                     parameters=dict(_executor_parameters(robot['namespace']),
                                                     **{'nav2.start_docked': False}))
    module_ros.wait_for_servers(executor, ['go_to'])
    state = module_ros.wait_for_state(robot_id, lambda s: s.link_up and s.armed, 30.0)
    _undocked(module_ros, robot)
    mark = robot['events'].mark()
    module_ros.send(robot_id, 'go_to', {'target': _far(state), 'speed_mps': _FAST})
    _wait_moving(module_ros, robot)
    assert executor.stop() == 0, executor.log()
    _assert_stopped_by_nav2(module_ros, robot, mark)
