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
ArduCopter's faults mid-flight, end to end: a pilot, the GPS, the EKF and the link.

A robot executor (bridge: mavros, config/arducopter.yaml) flies a sim_mavros ArduCopter;
every fault lands during a 60 m go_to. What the vehicle physically did, and every mode or
command that reached it, is counted from the sim's own ``sim_mavros/events``. The one rule
all share: once the pilot or the autopilot's own failsafe has the vehicle, the bridge
commands nothing (no GUIDED, no LAND, no command) and refuses new motion.

The sim runs ArduCopter's GCS failsafe (FS_GCS_ENABLE 1, ``gcs_failsafe_s``) with a short
return altitude, as a robot whose MAVROS is its GCS would; a second copter runs ArduCopter's
default (FS_GCS_ENABLE 0: no GCS failsafe), for a link that drops and comes back with the
vehicle still in GUIDED.
"""

import math
import time

from brain_execution_interfaces.msg import ErrorCode
import pytest

from .mavros_flights import (
    far_go_to, FAR_TARGET, FLIGHT_TIMEOUT_S, index_of, lands_at_home, link_back_in, modes, ok,
    on_ground, SimPoses, start_vehicle, takeoff)

_GCS_FAILSAFE_S = 5.0  # FS_GCS_TIMEOUT's default
_TARGET = [FAR_TARGET['x_m'], FAR_TARGET['y_m'], FAR_TARGET['altitude_m']]


def _start_copter(start_sim, start_executor, ros, prefix: str, **sim_parameters) -> dict:
    return start_vehicle(start_sim, start_executor, ros, prefix=prefix, flavour='arducopter',
                         platform='drone', params_file='arducopter.yaml',
                         operations=['takeoff', 'go_to', 'hover', 'land', 'emergency_land'],
                         sim_parameters=sim_parameters)


@pytest.fixture(scope='module')
def copter(module_start_sim_mavros, module_start_executor, module_ros):
    return _start_copter(module_start_sim_mavros, module_start_executor, module_ros,
                         'apfault', gcs_failsafe_s=_GCS_FAILSAFE_S, rtl_altitude_m=8.0)


@pytest.fixture(scope='module')
def copter_without_gcs_failsafe(module_start_sim_mavros, module_start_executor, module_ros):
    """Run a copter with ArduCopter's default FS_GCS_ENABLE 0: a lost link leaves it in GUIDED."""
    return _start_copter(module_start_sim_mavros, module_start_executor, module_ros,
                         'apnogcs')


@pytest.fixture
def copter_ready(copter, module_ros):
    return on_ground(copter, module_ros)


def _flying_out(ros, vehicle):
    """Take off and start the far go_to; return it and the mark just before the fault."""
    takeoff(ros, vehicle, 4.0)
    go_to = far_go_to(ros, vehicle)
    return go_to, vehicle['events'].mark()


def _nothing_asked(events, mark):
    """Assert that no mode request and no command reached the vehicle since mark."""
    assert not events.since(mark, 'set_mode'), events.since(mark, 'set_mode')
    assert not events.since(mark, 'command_received'), events.since(mark, 'command_received')


def _landed_on_the_way(events, mark):
    """Assert the vehicle landed between where the fault found it and the target."""
    (landed,) = events.since(mark, 'landed')
    assert 3.0 < landed['x'] < 40.0, landed
    assert not events.since(mark, 'reached', what='setpoint', target=_TARGET)


@pytest.mark.parametrize('mode', ['LOITER', 'POSHOLD'])
def test_pilot_takeover_mid_go_to_is_manual_override_and_never_fought(copter_ready,
                                                                      module_ros, mode):
    vehicle, ros = copter_ready, module_ros
    events, sim = vehicle['events'], vehicle['sim'].node_name
    go_to, mark = _flying_out(ros, vehicle)
    ros.set_parameters(sim, {'fault.pilot_takeover': mode})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.MANUAL_OVERRIDE, (
        f'{result.error_code}: {result.error_msg}')
    assert mode in result.error_msg and not result.retryable, result.error_msg
    # Hover is acknowledged without acting; new motion is refused, naming the pilot.
    ok(ros.run(vehicle['id'], 'hover', {'duration_s': 0.5}), 'hover under the pilot')
    refused = ros.run(vehicle['id'], 'go_to', {'target': {'x_m': 0.0, 'y_m': 0.0,
                                                          'altitude_m': 5.0}})
    assert refused.error_code == ErrorCode.MANUAL_OVERRIDE, refused.error_msg
    # Several heartbeats later the mode is still the pilot's, and the robot says so.
    later = time.time() + 3.0
    state = ros.wait_for_state(vehicle['id'], lambda s: s.header.stamp.sec > later, 10.0)
    assert state is not None and state.mode == mode and state.armed, state
    _nothing_asked(events, mark)
    assert modes(events, mark) == [mode], events.since(mark, 'mode')
    # The pilot lands it; still nothing from the bridge.
    ros.set_parameters(sim, {'fault.pilot_takeover': 'LAND'})
    events.wait_for(mark, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    _nothing_asked(events, mark)
    assert modes(events, mark, by='pilot') == [mode, 'LAND'], events.since(mark, 'mode')
    _landed_on_the_way(events, mark)


def test_gps_lost_mid_go_to_is_position_lost_and_lands_in_place(copter_ready, module_ros):
    """
    GPS_RAW_INT reports NO_FIX at once, before the EKF failsafe (1 s of a bad position).

    The bridge sees the loss first: POSITION_LOST, and it asks for LAND, the one mode that
    needs no GPS and what FS_EKF_ACTION 1 does anyway; the EKF failsafe then finds the
    copter landing and lets it land (no mode change). Nothing else is asked for.
    """
    vehicle, ros = copter_ready, module_ros
    events = vehicle['events']
    go_to, mark = _flying_out(ros, vehicle)
    ros.set_parameters(vehicle['sim'].node_name, {'fault.gps_lost': True})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.POSITION_LOST, (
        f'{result.error_code}: {result.error_msg}')
    assert 'NO_FIX' in result.error_msg, result.error_msg
    events.wait_for(mark, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    assert modes(events, mark) == ['LAND'], events.since(mark, 'mode')
    assert [e['mode'] for e in events.since(mark, 'set_mode')] == ['LAND']
    assert {e['name'] for e in events.since(mark, 'command_received')} <= {'land'}
    assert [e['action'] for e in events.since(mark, 'failsafe')] == ['LAND']
    _landed_on_the_way(events, mark)


def test_ekf_failsafe_mid_go_to_is_platform_failsafe_and_not_overridden(copter_ready,
                                                                        module_ros):
    """
    A GPS glitch the EKF rejects: NavSatFix keeps its fix, ArduCopter lands by itself.

    Only the autopilot's mode change shows it (FS_EKF_ACTION 1: LAND, "EKF variance"): the
    operation ends PLATFORM_FAILSAFE and the bridge leaves the landing to the autopilot.
    """
    vehicle, ros = copter_ready, module_ros
    events = vehicle['events']
    go_to, mark = _flying_out(ros, vehicle)
    ros.set_parameters(vehicle['sim'].node_name, {'fault.gps_glitch': True})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.PLATFORM_FAILSAFE, (
        f'{result.error_code}: {result.error_msg}')
    assert 'LAND' in result.error_msg, result.error_msg
    failsafe = index_of(events, mark, 'failsafe', reason='gps glitch')
    assert events.since(mark, 'statustext', text='EKF variance')
    events.wait_for(failsafe, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    changes = events.since(mark, 'mode')
    assert [(e['mode'], e['by']) for e in changes] == [('LAND', 'failsafe')], changes
    _nothing_asked(events, mark)
    _landed_on_the_way(events, mark)


def test_link_drop_mid_go_to_is_communication_failure_and_the_gcs_failsafe_keeps_it(
        copter_ready, module_ros):
    """
    The link drops mid go_to and comes back after ArduCopter's GCS failsafe chose RTL.

    The operation ends COMMUNICATION_FAILURE as soon as the bridge sees the link gone. Its
    hold (GUIDED on the current position, ``mavros.link_loss_action: hold``) cannot reach
    the vehicle, which flies on to its last GUIDED target; the autopilot returns on its own.
    Once the link is back the robot reports it, in RTL, and the bridge commands nothing over
    the failsafe: the copter lands at home.
    """
    vehicle, ros = copter_ready, module_ros
    events, sim = vehicle['events'], vehicle['sim'].node_name
    go_to, mark = _flying_out(ros, vehicle)
    ros.set_parameters(sim, {'fault.link_down': True})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, (
        f'{result.error_code}: {result.error_msg}')
    assert result.retryable and 'link' in result.error_msg, result.error_msg
    down = ros.wait_for_state(vehicle['id'], lambda s: not s.link_up, 10.0)
    assert down is not None, 'the robot still reports its link up'
    failsafe = events.wait_for(mark, 'failsafe', reason='gcs lost',
                               timeout_s=_GCS_FAILSAFE_S + 10.0)
    assert failsafe['action'] == 'RTL', failsafe
    lands_at_home(events, link_back_in(ros, vehicle, 'RTL'))
    # From the drop on, every mode change was the autopilot's, and the bridge asked nothing.
    changes = events.since(mark, 'mode')
    assert changes and changes[0]['mode'] == 'RTL', changes
    assert all(e['by'] in ('failsafe', 'autopilot') for e in changes), changes
    _nothing_asked(events, mark)


def test_link_back_without_a_gcs_failsafe_holds_where_the_copter_is_not_where_it_was_lost(
        copter_without_gcs_failsafe, module_ros):
    """
    No GCS failsafe (ArduCopter's default): the link drops mid go_to, then comes back.

    The bridge's link-loss hold (GUIDED on the position at the drop) cannot reach the
    vehicle, which flies on to its last GUIDED target. Once the link is back, with the copter
    still in GUIDED, it must hold where it is then: never turn back to the drop point. The
    robot reports the link up, and no mode or command is asked for.
    """
    vehicle, ros = on_ground(copter_without_gcs_failsafe, module_ros), module_ros
    events, sim = vehicle['events'], vehicle['sim'].node_name
    poses = SimPoses(ros.node, vehicle['id'])
    go_to, mark = _flying_out(ros, vehicle)
    ros.set_parameters(sim, {'fault.link_down': True})
    dropped = poses.last()  # the sim publishes nothing from the drop on
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, (
        f'{result.error_code}: {result.error_msg}')
    assert ros.wait_for_state(vehicle['id'], lambda s: not s.link_up, 10.0) is not None
    # Deaf to the bridge, it flies on to its last GUIDED target, tens of metres on.
    events.wait_for(mark, 'reached', what='setpoint', target=_TARGET,
                    timeout_s=FLIGHT_TIMEOUT_S)
    assert not events.since(mark, 'failsafe'), events.since(mark, 'failsafe')
    back = poses.mark()
    ros.set_parameters(sim, {'fault.link_down': False})
    up = ros.wait_for_state(vehicle['id'], lambda s: s.link_up, 20.0)
    assert up is not None, 'the robot never reported the link back'
    assert up.armed and up.mode == 'GUIDED', up
    returned = poses.wait_for(back, lambda p: True)
    assert math.dist(returned[1:3], dropped[1:3]) > 20.0, (returned, dropped)
    # Watch it for several resend periods of the bridge (1 s in GUIDED).
    poses.wait_for(back, lambda p: p[0] >= returned[0] + 5.0, timeout_s=15.0)
    after = poses.since(back)
    furthest = max(math.dist(p[1:], returned[1:]) for p in after)
    closest = min(math.dist(p[1:3], dropped[1:3]) for p in after)
    assert furthest < 2.0, (
        f'the copter moved {furthest:.1f} m after the link came back at {returned[1:]}, to '
        f'{closest:.1f} m of the drop point {dropped[1:]}: it flew back to the stale hold')
    # Held: still over the last second.
    last_second = [p for p in after if p[0] >= after[-1][0] - 1.0]
    assert max(math.dist(p[1:], last_second[-1][1:]) for p in last_second) < 0.2, last_second
    _nothing_asked(events, mark)
    assert modes(events, mark) == [], events.since(mark, 'mode')
