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
A ``land`` or ``rtl`` link-loss action the dead link did not deliver, end to end.

A robot executor (bridge: mavros) flies a sim_mavros vehicle with ``mavros.link_loss_action``
rtl or land; the link drops mid go_to. The bridge's RTL or LAND goes into the dead link
(MAVROS sends it, the vehicle never gets it). ArduCopter without a GCS failsafe (its
default) flies on to its last GUIDED target; when the link is back, still in GUIDED, the
bridge commands the action then, once. PX4 fails safe by itself when the setpoints stop
(AUTO.RTL): the bridge leaves it to it. What the vehicle did, and every mode request that
reached it, is counted from the sim's own ``sim_mavros/events`` and poses.
"""

import math

from brain_execution_interfaces.msg import ErrorCode
import pytest

from .mavros_flights import (
    far_go_to, FAR_TARGET, FLIGHT_TIMEOUT_S, lands_at_home, link_back_in, modes, on_ground,
    SimPoses, start_vehicle, takeoff)

_TARGET = [FAR_TARGET['x_m'], FAR_TARGET['y_m'], FAR_TARGET['altitude_m']]
_OPERATIONS = ['takeoff', 'go_to', 'land', 'emergency_land']


def _start(start_sim, start_executor, ros, *, flavour: str, params_file: str,
           action: str) -> dict:
    return start_vehicle(start_sim, start_executor, ros, prefix=f'late{action}',
                         flavour=flavour, platform='drone', params_file=params_file,
                         operations=_OPERATIONS,
                         parameters={'mavros.link_loss_action': action},
                         # No GCS failsafe (ArduCopter's default, FS_GCS_ENABLE 0).
                         sim_parameters={'rtl_altitude_m': 8.0})


@pytest.fixture(scope='module')
def arducopter_rtl(module_start_sim_mavros, module_start_executor, module_ros):
    return _start(module_start_sim_mavros, module_start_executor, module_ros,
                  flavour='arducopter', params_file='arducopter.yaml', action='rtl')


@pytest.fixture(scope='module')
def arducopter_land(module_start_sim_mavros, module_start_executor, module_ros):
    return _start(module_start_sim_mavros, module_start_executor, module_ros,
                  flavour='arducopter', params_file='arducopter.yaml', action='land')


@pytest.fixture(scope='module')
def px4_land(module_start_sim_mavros, module_start_executor, module_ros):
    return _start(module_start_sim_mavros, module_start_executor, module_ros,
                  flavour='px4', params_file='px4_x500.yaml', action='land')


def _drop_mid_go_to(ros, vehicle, action_mode: str) -> int:
    """
    Fly out, drop the link mid go_to; return the mark just before the drop.

    The go_to ends COMMUNICATION_FAILURE, the robot reports its link down, and the bridge's
    link-loss action went into the dead link.
    """
    events, sim = vehicle['events'], vehicle['sim'].node_name
    takeoff(ros, vehicle, 4.0)
    go_to = far_go_to(ros, vehicle)
    mark = events.mark()
    ros.set_parameters(sim, {'fault.link_down': True})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, (
        f'{result.error_code}: {result.error_msg}')
    assert ros.wait_for_state(vehicle['id'], lambda s: not s.link_up, 10.0) is not None
    lost = events.wait_for(mark, 'set_mode', mode=action_mode)
    assert lost['mode_sent'], lost  # MAVROS sent it; the vehicle never got it
    return mark


def _ardupilot_link_back(ros, vehicle, mode: str):
    """
    Drop the link mid go_to; bring it back once the copter reached its old GUIDED target.

    :return: the sim's events mark at the return, and the copter's first pose after it.
    """
    events, sim = vehicle['events'], vehicle['sim'].node_name
    poses = SimPoses(ros.node, vehicle['id'])
    mark = _drop_mid_go_to(ros, vehicle, mode)
    # Deaf to the bridge, it flies on to its last GUIDED target.
    events.wait_for(mark, 'reached', what='setpoint', target=_TARGET,
                    timeout_s=FLIGHT_TIMEOUT_S)
    assert modes(events, mark) == [], events.since(mark, 'mode')
    back, back_pose = events.mark(), poses.mark()
    ros.set_parameters(sim, {'fault.link_down': False})
    returned = poses.wait_for(back_pose, lambda p: True)
    # The late action, once: one request after the return, entered by request.
    events.wait_for(back, 'mode', mode=mode, timeout_s=20.0)
    return back, returned


def _once_by_request(vehicle, back: int, mode: str) -> None:
    """Assert the mode was requested and entered once since back, and nothing else asked."""
    events = vehicle['events']
    assert [(e['mode'], e['mode_sent']) for e in events.since(back, 'set_mode')] == [
        (mode, True)], events.since(back, 'set_mode')
    changes = [(e['mode'], e['by']) for e in events.since(back, 'mode')]
    assert changes == [(mode, 'request')], changes
    assert not events.since(back, 'command_received'), events.since(back, 'command_received')
    assert not events.since(back, 'failsafe'), events.since(back, 'failsafe')
    assert vehicle['executor'].log().count(
        f'commanding the link-loss action {mode} now') == 1, 'not logged once'


def test_arducopter_rtl_missed_by_the_dead_link_is_commanded_once_it_is_back_and_lands_home(
        arducopter_rtl, module_ros):
    vehicle, ros = on_ground(arducopter_rtl, module_ros), module_ros
    events = vehicle['events']
    back, returned = _ardupilot_link_back(ros, vehicle, 'RTL')
    assert math.dist(returned[1:3], _TARGET[:2]) < 2.0, returned
    lands_at_home(events, back)
    assert events.since(back, 'disarmed', reason='landed'), events.since(back, 'disarmed')
    _once_by_request(vehicle, back, 'RTL')
    state = ros.wait_for_state(vehicle['id'], lambda s: s.link_up and not s.armed, 10.0)
    assert state is not None, 'the robot never reported itself disarmed with its link up'


def test_arducopter_land_missed_by_the_dead_link_is_commanded_once_it_is_back_and_lands_there(
        arducopter_land, module_ros):
    vehicle, ros = on_ground(arducopter_land, module_ros), module_ros
    events = vehicle['events']
    back, returned = _ardupilot_link_back(ros, vehicle, 'LAND')
    disarmed = events.wait_for(back, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    assert disarmed['reason'] == 'landed', disarmed
    # Where the link came back (its old target), not at home nor where the link was lost.
    (landed,) = events.since(back, 'landed')
    assert math.dist((landed['x'], landed['y']), returned[1:3]) < 1.5, (landed, returned)
    _once_by_request(vehicle, back, 'LAND')


def test_px4_failsafe_in_the_drop_keeps_the_vehicle_and_the_late_land_is_not_commanded(
        px4_land, module_ros):
    """
    PX4 loses the setpoint stream with the link and fails safe to AUTO.RTL by itself.

    The bridge's AUTO.LAND went into the dead link. When the link is back the robot reports
    AUTO.RTL, and the bridge commands nothing over it: the copter returns and lands at home.
    """
    vehicle, ros = on_ground(px4_land, module_ros), module_ros
    events = vehicle['events']
    mark = _drop_mid_go_to(ros, vehicle, 'AUTO.LAND')
    failsafe = events.wait_for(mark, 'failsafe', reason='offboard signal lost')
    assert failsafe['action'] == 'AUTO.RTL', failsafe
    back = link_back_in(ros, vehicle, 'AUTO.RTL')
    lands_at_home(events, back)
    assert not events.since(back, 'set_mode'), events.since(back, 'set_mode')
    assert not events.since(back, 'command_received'), events.since(back, 'command_received')
    changes = events.since(mark, 'mode')
    assert changes and (changes[0]['mode'], changes[0]['by']) == ('AUTO.RTL', 'failsafe')
    assert all(e['by'] in ('failsafe', 'autopilot') for e in changes), changes
    assert 'link-loss action not commanded' in vehicle['executor'].log()
