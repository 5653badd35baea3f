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
The MAVROS bridge end to end: robot executor (bridge: mavros) against a sim_mavros process.

Both run as separate processes, started as launch_ros would, and every operation goes
through the executor's action servers. sim_mavros speaks MAVROS's names, types, QoS and
semantics for PX4, ArduCopter and ArduRover; what the vehicle physically did (armed, took
off, reached, landed, which mode it entered and who asked for it) is counted from its own
``sim_mavros/events`` topic, never from the executor.

One vehicle per flavour serves the module; each test starts from the vehicle on the ground,
disarmed, faults off (the ``*_ready`` fixtures bring it there), so the order does not matter.
"""

import json
import math
import signal
import threading
import time

from brain_execution_interfaces.msg import ErrorCode
from mavros_msgs.msg import PositionTarget
import pytest
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_srvs.srv import Trigger

from .mavros_flights import (
    far_go_to, FAULTS_OFF, FLIGHT_TIMEOUT_S, geo, index_of, modes, ok, on_ground,
    start_vehicle, takeoff)


# --- the vehicles --------------------------------------------------------------------------

@pytest.fixture(scope='module')
def px4(module_start_sim_mavros, module_start_executor, module_ros):
    return start_vehicle(module_start_sim_mavros, module_start_executor, module_ros,
                         prefix='px4', flavour='px4', platform='drone',
                         params_file='px4_x500.yaml',
                         operations=['takeoff', 'go_to', 'hover', 'land', 'return_home',
                                     'emergency_land', 'capture_image'],
                         # A camera driver of the test's (test_px4_setpoint_stream_...).
                         parameters={'mavros.capture_service': 'camera/capture'})


@pytest.fixture(scope='module')
def arducopter(module_start_sim_mavros, module_start_executor, module_ros):
    return start_vehicle(module_start_sim_mavros, module_start_executor, module_ros,
                         prefix='copter', flavour='arducopter', platform='drone',
                         params_file='arducopter.yaml', operations=['takeoff', 'go_to', 'land'])


@pytest.fixture(scope='module')
def boat(module_start_sim_mavros, module_start_executor, module_ros):
    return start_vehicle(module_start_sim_mavros, module_start_executor, module_ros,
                         prefix='boat', flavour='ardurover', platform='surface',
                         params_file='ardurover_boat.yaml',
                         operations=['go_to', 'station_keep'])


@pytest.fixture
def px4_ready(px4, module_ros):
    return on_ground(px4, module_ros)


@pytest.fixture
def arducopter_ready(arducopter, module_ros):
    return on_ground(arducopter, module_ros)


@pytest.fixture
def boat_ready(boat, module_ros):
    """Return the boat with its faults off and nothing running (armed or not)."""
    module_ros.set_parameters(boat['sim'].node_name, FAULTS_OFF)
    idle = module_ros.wait_for_state(boat['id'], lambda s: s.link_up and
                                     not s.active_operations, 20.0)
    assert idle is not None, 'boat not idle with its link up'
    return boat


# --- the stream check ----------------------------------------------------------------------

def assert_stream_held(events, mark):
    """
    Assert, from the vehicle's side, that PX4's setpoint stream ran and never stopped.

    It must run before OFFBOARD and all the while the vehicle flies in it. sim_mavros reports
    PX4's offboard signal (``offboard_signal`` ok true / false) whenever it changes; a bridge
    that starts streaming late, or stops, fails here.
    """
    signal_ok = _signal_ok_before(events, mark)
    entered = False
    for event in events.since(mark):
        if event['event'] == 'offboard_signal':
            signal_ok = event['ok']
            # PX4 needs the stream while armed in OFFBOARD; in its own modes (AUTO.LAND,
            # AUTO.RTL) or disarmed a gap is harmless.
            assert signal_ok or not event['armed'] or event['mode'] != 'OFFBOARD', (
                f'setpoint stream stopped in flight in OFFBOARD: {event}')
        elif event['event'] == 'mode' and event['mode'] == 'OFFBOARD' and \
                event['by'] == 'request':
            entered = True
            assert signal_ok, f'OFFBOARD requested without a running setpoint stream: {event}'
    assert entered, f'the vehicle never entered OFFBOARD: {modes(events, mark)}'
    assert not events.since(mark, 'failsafe', reason='offboard signal lost')
    assert not events.since(mark, 'arm_refused', reason='no offboard signal')
    assert not events.since(mark, 'mode_refused', reason='no offboard signal')


def _signal_ok_before(events, mark):
    """Whether the offboard signal was ok at the mark (its last change before it)."""
    earlier = [e for e in events.since(0)[:mark] if e['event'] == 'offboard_signal']
    return bool(earlier) and earlier[-1]['ok']


# --- PX4 ----------------------------------------------------------------------------------

def test_px4_flies_takeoff_go_to_local_and_wgs84_hover_land(px4_ready, module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    mark = events.mark()
    result = takeoff(ros, vehicle, 4.0)
    assert result.altitude_m == pytest.approx(4.0, abs=0.6)
    ok(ros.run(vehicle['id'], 'go_to', {'target': {'x_m': 8.0, 'y_m': 4.0,
                                                   'altitude_m': 5.0},
                                        'speed_mps': 4.0, 'acceptance_radius_m': 0.3},
               timeout_s=FLIGHT_TIMEOUT_S), 'go_to local')
    lat, lon = geo(-4.0, 6.0)
    wgs84 = ok(ros.run(vehicle['id'], 'go_to', {
        'target': {'frame': 1, 'latitude_deg': lat, 'longitude_deg': lon, 'altitude_m': 5.0},
        'speed_mps': 4.0}, timeout_s=FLIGHT_TIMEOUT_S), 'go_to WGS-84')
    assert (wgs84.position.x, wgs84.position.y) == pytest.approx((-4.0, 6.0), abs=1.0)
    hover = ok(ros.run(vehicle['id'], 'hover', {'duration_s': 1.0}), 'hover')
    assert hover.max_drift_m < 1.0
    land = ok(ros.run(vehicle['id'], 'land', {}, timeout_s=FLIGHT_TIMEOUT_S), 'land')
    assert land.disarmed

    # What the vehicle did, by its own account.
    assert len(events.since(mark, 'armed')) == 1, events.since(mark, 'armed')
    assert len(events.since(mark, 'took_off')) == 1
    reached = [e['target'] for e in events.since(mark, 'reached', what='setpoint')]
    assert any(t[:2] == pytest.approx([8.0, 4.0], abs=0.1) for t in reached), reached
    assert any(t[:2] == pytest.approx([-4.0, 6.0], abs=0.3) for t in reached), reached
    (landed,) = events.since(mark, 'landed')
    assert (landed['x'], landed['y']) == pytest.approx((-4.0, 6.0), abs=1.0)
    events.wait_for(mark, 'disarmed')
    requested = modes(events, mark, by='request')
    assert requested[:1] == ['OFFBOARD'] and 'AUTO.LOITER' in requested and \
        requested[-1] == 'AUTO.LAND', requested
    assert_stream_held(events, mark)


def test_px4_return_home_uses_auto_rtl_and_lands_at_home(px4_ready, module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    mark = events.mark()
    takeoff(ros, vehicle, 4.0)
    ok(ros.run(vehicle['id'], 'go_to', {'target': {'x_m': 10.0, 'y_m': -6.0,
                                                   'altitude_m': 5.0},
                                        'speed_mps': 5.0}, timeout_s=FLIGHT_TIMEOUT_S))
    result = ok(ros.run(vehicle['id'], 'return_home', {'speed_mps': 5.0, 'land': True},
                        timeout_s=FLIGHT_TIMEOUT_S), 'return_home')
    assert result.distance_to_home_m < 1.5
    assert events.since(mark, 'mode', mode='AUTO.RTL', by='request')
    events.wait_for(mark, 'reached', what='home')
    (landed,) = events.since(mark, 'landed')
    assert math.hypot(landed['x'], landed['y']) < 1.5, landed
    assert events.since(mark, 'disarmed')
    assert_stream_held(events, mark)


def test_px4_emergency_land_preempts_go_to_and_lands_in_place(px4_ready, module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    mark = events.mark()
    takeoff(ros, vehicle, 4.0)
    go_to = far_go_to(ros, vehicle)
    result = ok(ros.run(vehicle['id'], 'emergency_land', {'reason': 'test'},
                        timeout_s=FLIGHT_TIMEOUT_S), 'emergency_land')
    assert result.disarmed
    assert go_to.wait(10.0).error_code == ErrorCode.PREEMPTED
    assert events.since(mark, 'mode', mode='AUTO.LAND', by='request')
    (landed,) = events.since(mark, 'landed')
    assert 3.0 < landed['x'] < 40.0, landed  # where it was, not at the target
    assert not events.since(mark, 'reached', what='setpoint', target=[60.0, 0.0, 5.0])


def test_px4_arming_refused_is_temporarily_rejected_and_retryable(px4_ready, module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    ros.set_parameters(vehicle['sim'].node_name,
                       {'fault.arming_denied': 'heading estimate not stable'})
    mark = events.mark()
    result = ros.run(vehicle['id'], 'takeoff', {'altitude_m': 4.0},
                     timeout_s=FLIGHT_TIMEOUT_S)
    assert result.error_code == ErrorCode.COMMAND_TEMPORARILY_REJECTED, result.error_msg
    assert result.retryable
    assert 'TEMPORARILY_REJECTED (1)' in result.error_msg, result.error_msg
    # PX4 sends no STATUSTEXT to MAVROS: the message says so rather than invent a reason.
    assert 'no reason' in result.error_msg, result.error_msg
    assert events.since(mark, 'arm_refused')
    assert not events.since(mark, 'armed') and not events.since(mark, 'took_off')


def test_px4_link_drop_mid_go_to_is_communication_failure_and_commands_hold(px4_ready,
                                                                            module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    takeoff(ros, vehicle, 4.0)
    mark = events.mark()
    go_to = far_go_to(ros, vehicle)
    ros.set_parameters(vehicle['sim'].node_name, {'fault.link_down': True})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, result.error_msg
    assert result.retryable
    assert 'link' in result.error_msg, result.error_msg
    # The safe behaviour (mavros.link_loss_action: hold = AUTO.LOITER) was commanded; the
    # request reached MAVROS (set_mode answers while the FCU link is down) but not the
    # vehicle, which meanwhile lost its setpoints and failed safe on its own.
    events.wait_for(mark, 'set_mode', mode='AUTO.LOITER')
    events.wait_for(mark, 'failsafe', reason='offboard signal lost')
    ros.set_parameters(vehicle['sim'].node_name, {'fault.link_down': False})
    assert ros.wait_for_state(vehicle['id'], lambda s: s.link_up, 20.0) is not None
    # The autopilot's RTL lands it at home; nothing the bridge does after the drop switches
    # it back to OFFBOARD.
    events.wait_for(mark, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    assert 'OFFBOARD' not in modes(events, mark, by='request'), events.since(mark, 'mode')


def test_px4_pilot_takeover_is_manual_override_and_never_fought(px4_ready, module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    takeoff(ros, vehicle, 4.0)
    go_to = far_go_to(ros, vehicle)
    mark = events.mark()
    ros.set_parameters(vehicle['sim'].node_name, {'fault.pilot_takeover': 'POSCTL'})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.MANUAL_OVERRIDE, result.error_msg
    assert 'POSCTL' in result.error_msg
    # Hover is acknowledged without acting, and new motion is refused, naming the pilot.
    ok(ros.run(vehicle['id'], 'hover', {'duration_s': 0.5}), 'hover under the pilot')
    refused = ros.run(vehicle['id'], 'go_to', {'target': {'x_m': 0.0, 'y_m': 0.0,
                                                          'altitude_m': 5.0}})
    assert refused.error_code == ErrorCode.MANUAL_OVERRIDE, refused.error_msg
    # Several heartbeats later the mode is still the pilot's: the bridge sent no set_mode.
    first = ros.wait_for_state(vehicle['id'], lambda s: s.mode == 'POSCTL', 5.0)
    assert first is not None
    later = time.time() + 3.0
    assert ros.wait_for_state(vehicle['id'], lambda s: s.header.stamp.sec > later, 10.0)
    assert not events.since(mark, 'set_mode'), events.since(mark, 'set_mode')
    assert modes(events, mark) == ['POSCTL'], events.since(mark, 'mode')
    # The pilot lands it.
    ros.set_parameters(vehicle['sim'].node_name, {'fault.pilot_takeover': 'AUTO.LAND'})
    events.wait_for(mark, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    assert not events.since(mark, 'set_mode')


def test_px4_stream_check_catches_a_stopped_setpoint_stream(px4_ready, module_ros):
    """
    The executor process is frozen (SIGSTOP) mid-go_to in OFFBOARD: its stream stops.

    The vehicle fails safe exactly as PX4 does, and :func:`assert_stream_held` -- the check
    every other PX4 flight passes -- fails on that record, so a bridge that stops streaming
    cannot pass these tests. Once resumed, the bridge must not take its own stall for link
    loss (its last pose is old only because it did not run) and must leave the vehicle to
    PX4's failsafe: the go_to ends with PLATFORM_FAILSAFE and the drone returns and lands.
    """
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    mark = events.mark()
    takeoff(ros, vehicle, 4.0)
    go_to = far_go_to(ros, vehicle)
    vehicle['executor'].process.send_signal(signal.SIGSTOP)
    try:
        events.wait_for(mark, 'failsafe', reason='offboard signal lost', timeout_s=10.0)
    finally:
        vehicle['executor'].process.send_signal(signal.SIGCONT)
    failsafe = index_of(events, mark, 'failsafe', reason='offboard signal lost')
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.PLATFORM_FAILSAFE, (
        f'{result.error_code}: {result.error_msg}')
    assert 'AUTO.RTL' in result.error_msg, result.error_msg
    lost = [e for e in events.since(mark, 'offboard_signal') if not e['ok']]
    assert lost and lost[0]['armed'] and lost[0]['mode'] == 'OFFBOARD', lost
    with pytest.raises(AssertionError, match='setpoint stream stopped in flight in OFFBOARD'):
        assert_stream_held(events, mark)
    # PX4's RTL brings it home and lands it; only then is the whole record in.
    events.wait_for(failsafe, 'reached', what='home', timeout_s=FLIGHT_TIMEOUT_S)
    events.wait_for(failsafe, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    (landed,) = events.since(failsafe, 'landed')
    assert math.hypot(landed['x'], landed['y']) < 1.5, landed
    # From the failsafe on the vehicle was the autopilot's: the bridge asked for no mode (no
    # AUTO.LOITER over the RTL), and every mode change was PX4's own.
    assert not events.since(failsafe, 'set_mode'), events.since(failsafe, 'set_mode')
    changes = events.since(failsafe, 'mode')
    assert changes and changes[0]['mode'] == 'AUTO.RTL', changes
    assert all(e['by'] in ('failsafe', 'autopilot') for e in changes), changes
    assert not events.since(failsafe, 'reached', what='setpoint', target=[60.0, 0.0, 5.0]), (
        '\n'.join(map(str, events.since(mark))))


def test_px4_setpoint_stream_holds_while_the_executor_is_loaded(px4_ready, module_ros):
    """
    A burst of capture_image goals loads the executor while PX4 hovers in OFFBOARD.

    Every goal's intake, record and result runs on the executor's threads, and every capture
    is a service call of the bridge's. The setpoint stream must still go out faster than
    PX4's 2 Hz: measured from the setpoints' own stamps (when the bridge sent them, whatever
    this process's delays) and judged by the vehicle (its offboard signal never drops).
    """
    vehicle, ros = px4_ready, module_ros
    events, robot = vehicle['events'], vehicle['id']
    takeoff(ros, vehicle, 4.0)
    stamps, arrived = [], threading.Condition()

    def on_setpoint(msg):
        with arrived:
            stamps.append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)
            arrived.notify_all()

    def on_capture(request, response):
        response.success, response.message = True, 'file:///tmp/px4.jpg'
        return response

    qos = QoSProfile(depth=500, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.BEST_EFFORT)
    subscription = ros.node.create_subscription(
        PositionTarget, f'/{robot}/mavros/setpoint_raw/local', on_setpoint, qos)
    service = ros.node.create_service(Trigger, f'/{robot}/camera/capture', on_capture)
    try:
        mark = events.mark()
        with arrived:
            assert arrived.wait_for(lambda: len(stamps) >= 20, 10.0), 'no setpoint stream'
            first = len(stamps)
        started = time.monotonic()
        goals = [ros.send(robot, 'capture_image', {'count': 1}) for _ in range(_BURST)]
        results = [g.wait(120.0) for g in goals]
        took_s = time.monotonic() - started
        with arrived:
            during = stamps[first - 1:]
    finally:
        ros.node.destroy_subscription(subscription)
        ros.node.destroy_service(service)
    gaps = [b - a for a, b in zip(during, during[1:])]
    figures = {'goals': _BURST, 'burst_s': round(took_s, 2), 'setpoints': len(during),
               'rate_hz': round(len(gaps) / (during[-1] - during[0]), 1),
               'max_gap_s': round(max(gaps), 3),
               'gaps_over_0.25_s': sum(g > 0.25 for g in gaps),
               'succeeded': sum(r.error_code == ErrorCode.NONE for r in results)}
    print('setpoint stream under load:', json.dumps(figures))
    # Every goal ended (a capture whose answer this busy process sent late ends ACK_TIMEOUT).
    assert all(r is not None for r in results)
    # PX4's commander wants more than 2 Hz; one second without a setpoint fails it safe.
    assert figures['max_gap_s'] < 0.5, figures
    assert not events.since(mark, 'offboard_signal'), events.since(mark, 'offboard_signal')
    assert not events.since(mark, 'failsafe'), events.since(mark, 'failsafe')
    ok(ros.run(robot, 'land', {}, timeout_s=FLIGHT_TIMEOUT_S), 'land')


_BURST = 200


def test_px4_arming_without_ack_is_ack_timeout_and_not_resent(px4_ready, module_ros):
    """
    cmd/arming gets no COMMAND_ACK and the autopilot never arms: ACK_TIMEOUT, sent once.

    MAVROS answers success=false, result=0 after 5 s; the bridge then reads the state for
    mavros.ack_grace_s before failing, and never sends the command again (PLATFORMS.md: the
    autopilot may still carry it out).
    """
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    ros.set_parameters(vehicle['sim'].node_name, {'fault.ack_timeout': True,
                                                  'fault.late_effect_s': -1.0})
    mark = events.mark()
    result = ros.run(vehicle['id'], 'takeoff', {'altitude_m': 4.0},
                     timeout_s=FLIGHT_TIMEOUT_S)
    assert result.error_code == ErrorCode.ACK_TIMEOUT, f'{result.error_code}: {result.error_msg}'
    assert result.retryable
    assert 'not re-sent' in result.error_msg, result.error_msg
    (answer,) = events.since(mark, 'command', name='arming')
    assert answer['success'] is False and answer['result'] == 0 and answer['reason'] == 'no ack'
    # A few heartbeats after the failure: still one arming request, and no other command.
    later = time.time() + 2.0
    assert ros.wait_for_state(vehicle['id'], lambda s: s.header.stamp.sec > later, 10.0)
    received = events.since(mark, 'command_received')
    assert [e['name'] for e in received] == ['arming'], received
    assert not events.since(mark, 'armed') and not events.since(mark, 'took_off')


def test_px4_late_arming_after_a_lost_ack_is_taken_from_the_state(px4_ready, module_ros):
    """No ACK, but the autopilot arms a moment later: the state decides, nothing is re-sent."""
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    # Late, but within MAVROS's 5 s plus the bridge's mavros.ack_grace_s (3 s).
    ros.set_parameters(vehicle['sim'].node_name, {'fault.ack_timeout': True,
                                                  'fault.late_effect_s': 6.0})
    mark = events.mark()
    result = takeoff(ros, vehicle, 4.0)
    assert result.altitude_m == pytest.approx(4.0, abs=0.6)
    ros.set_parameters(vehicle['sim'].node_name, {'fault.ack_timeout': False})
    assert len(events.since(mark, 'command_received', name='arming')) == 1
    (late,) = events.since(mark, 'late_effect', name='arming')
    assert late['result'] == 0, late
    assert len(events.since(mark, 'armed')) == 1 and events.since(mark, 'took_off')
    ok(ros.run(vehicle['id'], 'land', {}, timeout_s=FLIGHT_TIMEOUT_S), 'land')


def test_px4_gps_lost_mid_go_to_is_position_lost_and_lands_in_place(px4_ready, module_ros):
    vehicle, ros = px4_ready, module_ros
    events = vehicle['events']
    takeoff(ros, vehicle, 4.0)
    go_to = far_go_to(ros, vehicle)
    mark = events.mark()
    ros.set_parameters(vehicle['sim'].node_name, {'fault.gps_lost': True})
    result = go_to.wait(15.0)
    assert result.error_code == ErrorCode.POSITION_LOST, f'{result.error_code}: {result.error_msg}'
    assert 'NO_FIX' in result.error_msg, result.error_msg
    # The vehicle lands where it is (PX4's failsafe, and the bridge's land request, which PX4
    # refuses without a position) and disarms; it never reaches the target.
    events.wait_for(mark, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    assert 'AUTO.LAND' in modes(events, mark), events.since(mark, 'mode')
    (landed,) = events.since(mark, 'landed')
    assert 3.0 < landed['x'] < 40.0, landed
    assert not events.since(mark, 'reached', what='setpoint', target=[60.0, 0.0, 5.0])
    # Nothing but a landing was asked for after the loss.
    asked = {e['mode'] for e in events.since(mark, 'set_mode')}
    assert asked <= {'AUTO.LAND'}, asked


# --- ArduCopter ---------------------------------------------------------------------------

def test_arducopter_flies_guided_takeoff_go_to_land(arducopter_ready, module_ros):
    vehicle, ros = arducopter_ready, module_ros
    events = vehicle['events']
    mark = events.mark()
    takeoff(ros, vehicle, 4.0)
    ok(ros.run(vehicle['id'], 'go_to', {'target': {'x_m': 6.0, 'y_m': 6.0,
                                                   'altitude_m': 5.0},
                                        'speed_mps': 4.0, 'acceptance_radius_m': 0.3},
               timeout_s=FLIGHT_TIMEOUT_S),
        'go_to')
    ok(ros.run(vehicle['id'], 'land', {}, timeout_s=FLIGHT_TIMEOUT_S), 'land')
    assert len(events.since(mark, 'armed')) == 1
    (command,) = events.since(mark, 'command', name='takeoff')
    assert command['success'], command
    assert events.since(mark, 'reached', what='setpoint', target=[6.0, 6.0, 5.0])
    (landed,) = events.since(mark, 'landed')
    assert (landed['x'], landed['y']) == pytest.approx((6.0, 6.0), abs=1.0)
    requested = modes(events, mark, by='request')
    assert requested[0] == 'GUIDED' and requested[-1] == 'LAND', requested
    # ArduPilot needs stream rates before it reports a position; the bridge asked.
    assert events.since(0, 'streams')


def test_arducopter_arming_refused_carries_the_statustext_and_is_not_retryable(
        arducopter_ready, module_ros):
    vehicle, ros = arducopter_ready, module_ros
    events = vehicle['events']
    ros.set_parameters(vehicle['sim'].node_name, {'fault.arming_denied': 'GPS 1: Bad fix'})
    mark = events.mark()
    result = ros.run(vehicle['id'], 'takeoff', {'altitude_m': 4.0},
                     timeout_s=FLIGHT_TIMEOUT_S)
    assert result.error_code == ErrorCode.COMMAND_FAILED, result.error_msg
    assert not result.retryable
    assert 'FAILED (4)' in result.error_msg and 'Arm: GPS 1: Bad fix' in result.error_msg, (
        result.error_msg)
    assert len(events.since(mark, 'arm_refused')) == 1  # refused once, not re-sent
    assert not events.since(mark, 'armed')


# --- ArduRover boat -----------------------------------------------------------------------

def test_boat_go_to_in_guided_and_station_keep_in_hold(boat_ready, module_ros):
    vehicle, ros = boat_ready, module_ros
    events = vehicle['events']
    mark = events.mark()
    result = ok(ros.run(vehicle['id'], 'go_to', {'target': {'x_m': 15.0, 'y_m': 5.0},
                                                 'speed_mps': 4.0,
                                                 'acceptance_radius_m': 0.3},
                        timeout_s=FLIGHT_TIMEOUT_S), 'go_to')
    assert (result.position.x, result.position.y) == pytest.approx((15.0, 5.0), abs=1.5)
    hold = ok(ros.run(vehicle['id'], 'station_keep', {'duration_s': 1.0}), 'station_keep')
    assert hold.max_drift_m < 1.5
    assert len(events.since(mark, 'armed')) == 1
    reached = events.since(mark, 'reached', what='setpoint')
    assert reached and reached[-1]['target'][:2] == pytest.approx([15.0, 5.0], abs=0.1)
    requested = modes(events, mark, by='request')
    assert requested == ['GUIDED', 'HOLD'], requested
    assert not events.since(mark, 'took_off')
