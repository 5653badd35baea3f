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
A boat on ``bridge: nmea`` end to end: executor process, real TCP, ``sim_nmea_autopilot``.

The robot executor runs from ``config/nmea_boat.yaml`` as a user starts it; the simulated
autopilot is its own process, and every fault is injected there, in the middle of an
operation (a cut link, a corrupted stream, a lost GNSS fix, the process frozen or killed).
What the boat physically did is read from the simulator's own event log: when it engaged
nav mode, every heading command it steered, when it dropped the route.

Both processes serve the whole module; each test first places the boat at home heading
east, clears the faults and waits for the executor to see it there.
"""

import math
import signal
import time

from brain_execution.bridges.nmea.unsupported import UNSUPPORTED
from brain_execution.core.geo import local_to_geographic
from brain_execution.sim.bridge import DEFAULT_HOME
from brain_execution_interfaces.msg import ErrorCode, Waypoint
from diagnostic_msgs.msg import DiagnosticArray
import pytest

_SPEED_MPS = 3.0
_LINK_TIMEOUT_S = 2.0
_NO_FAULTS = {'corrupt': 0.0, 'noise': 0.0, 'link_drop': False, 'no_fix': False}


@pytest.fixture(scope='module')
def rig(module_nmea_autopilots, module_start_executor):
    """Start the simulated autopilot, then the executor connecting to it."""
    autopilot = module_nmea_autopilots('boat', [
        '--tcp-port', '0', '--speed-mps', str(_SPEED_MPS), '--heading-deg', '90'])
    executor = module_start_executor('nmea_boat', parameters={
        'nmea.port': autopilot.ports['tcp_port'], 'nmea.link_timeout_s': _LINK_TIMEOUT_S,
        'nmea.arrival_radius_m': 6.0})
    return autopilot, executor


@pytest.fixture
def boat(rig, module_ros):
    """Return (autopilot, robot_id), the boat at home heading east, link up, no latch."""
    autopilot, executor = rig
    if autopilot.process.poll() is not None:
        autopilot.start()
    module_ros.wait_for_servers(executor, ['go_to', 'emergency_stop', 'return_home'])
    autopilot.faults(**_NO_FAULTS)
    release = module_ros.run(executor.robot_id, 'emergency_stop', {'release': True})
    assert release.error_code == ErrorCode.NONE, release.error_msg
    # A leg that ended on its acceptance radius is steered until the boat passes the
    # target's beam; the boat is moved only once no route is left.
    assert module_ros.wait_for_state(executor.robot_id, lambda s: s.mode == 'STANDBY',
                                     timeout_s=20.0) is not None
    deadline = time.monotonic() + 12.0
    while autopilot.state()['nav']:
        assert time.monotonic() < deadline, 'the autopilot never left nav mode'
        time.sleep(0.1)  # the drop reaches the autopilot one sentence period later
    autopilot.request('place', x_m=0.0, y_m=0.0, heading_deg=90.0)
    state = module_ros.wait_for_state(
        executor.robot_id, lambda s: s.link_up and math.hypot(
            s.pose.position.x, s.pose.position.y) < 1.0, timeout_s=20.0)
    assert state is not None, f'the executor never saw the boat at home:\n{executor.log()}'
    return autopilot, executor.robot_id


def _route_since(autopilot, since: int):
    events = autopilot.events(since)
    return [e for e in events if e['event'] in ('nav_engaged', 'steer', 'nav_dropped')]


def test_operations_an_nmea_autopilot_cannot_do_answer_unsupported(boat, module_ros):
    autopilot, robot_id = boat
    since = autopilot.next_event()
    for operation, reason in UNSUPPORTED.items():
        result = module_ros.run(robot_id, operation, {})
        assert result.error_code == ErrorCode.UNSUPPORTED, (operation, result.error_msg)
        assert f'not supported by the nmea bridge of {robot_id}: {reason}' in \
            result.error_msg
        assert not result.retryable
    assert _route_since(autopilot, since) == [], 'a refused operation steered the boat'


def test_go_to_sails_a_leg_and_the_autopilot_steers_it(boat, module_ros):
    autopilot, robot_id = boat
    since = autopilot.next_event()
    result = module_ros.run(robot_id, 'go_to', {
        'target': {'x_m': 40.0, 'y_m': 25.0}, 'speed_mps': _SPEED_MPS,
        'acceptance_radius_m': 3.0})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert result.distance_to_target_m <= 3.0
    # The boat's own account: nav engaged, heading commands steered, and it is there.
    events = _route_since(autopilot, since)
    assert events[0]['event'] == 'nav_engaged'
    assert sum(e['event'] == 'steer' for e in events) >= 3
    sim = autopilot.state()
    # The boat sails on at 3 m/s (the autopilot only steers), a second at most past it.
    assert math.hypot(sim['x_m'] - 40.0, sim['y_m'] - 25.0) < 3.0 + 2.0 * _SPEED_MPS
    assert sim['received'].get('apb_not_true', 0) == 0
    assert sim['received'].get('bad_checksum', 0) == 0
    # Past the target the route is dropped on its own (status V), not left steering.
    dropped = autopilot.wait_for_event('nav_dropped', since, timeout_s=10.0)
    assert dropped['reason'] == 'APB status V (no valid route)'


def test_go_to_a_geographic_target(boat, module_ros):
    autopilot, robot_id = boat
    target = local_to_geographic(DEFAULT_HOME, -30.0, 20.0)
    result = module_ros.run(robot_id, 'go_to', {
        'target': {'frame': 1, 'latitude_deg': target.latitude_deg,
                   'longitude_deg': target.longitude_deg},
        'speed_mps': _SPEED_MPS, 'acceptance_radius_m': 3.0})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert result.position.x == pytest.approx(-30.0, abs=3.0)
    assert result.position.y == pytest.approx(20.0, abs=3.0)


def test_follow_waypoints_is_a_route_the_bridge_sequences(boat, module_ros):
    autopilot, robot_id = boat
    since = autopilot.next_event()
    run = module_ros.send(robot_id, 'follow_waypoints', {
        'waypoints': [Waypoint(x_m=35.0, y_m=0.0), Waypoint(x_m=35.0, y_m=35.0),
                      Waypoint(x_m=0.0, y_m=35.0)],
        'speed_mps': _SPEED_MPS, 'acceptance_radius_m': 4.0})
    result = run.wait(90.0)
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert result.waypoints_completed == 3
    assert {f.current_waypoint for f in run.feedback} >= {0, 1, 2}
    # One route: nav engaged once, and the boat steered east, then north, then west.
    events = autopilot.events(since)
    assert [e['event'] for e in events].count('nav_engaged') == 1
    legs = []
    for e in events:
        if e['event'] != 'steer':
            continue
        nearest = min((90.0, 0.0, 270.0), key=lambda b: abs(
            (e['heading_command_deg'] - b + 180.0) % 360.0 - 180.0))
        if not legs or legs[-1] != nearest:
            legs.append(nearest)
    assert legs == [90.0, 0.0, 270.0], legs


def test_orbit_is_sailed_from_legs(boat, module_ros):
    autopilot, robot_id = boat
    result = module_ros.run(robot_id, 'orbit', {
        'center': {'x_m': 0.0, 'y_m': 20.0}, 'radius_m': 20.0, 'turns': 0.5,
        'speed_mps': _SPEED_MPS}, timeout_s=90.0)
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert result.turns_completed == pytest.approx(0.5)
    sim = autopilot.state()
    # Half a turn from the bottom of the circle ends near its top.
    assert math.hypot(sim['x_m'] - 0.0, sim['y_m'] - 40.0) < 12.0


def test_return_home_is_a_route_home(boat, module_ros):
    autopilot, robot_id = boat
    autopilot.request('place', x_m=40.0, y_m=20.0, heading_deg=90.0)
    assert module_ros.wait_for_state(robot_id, lambda s: s.pose.position.x > 35.0) is not None
    result = module_ros.run(robot_id, 'return_home', {'speed_mps': _SPEED_MPS})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert result.distance_to_home_m <= 6.0 + 1.0  # the arrival circle, and one fix


def test_broadcast_status_needs_no_route(boat, module_ros):
    autopilot, robot_id = boat
    since = autopilot.next_event()
    result = module_ros.run(robot_id, 'broadcast_status', {'message': 'on patrol'})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert result.messages_sent == 1
    assert _route_since(autopilot, since) == []


def _start_long_leg(autopilot, module_ros, robot_id, **fields):
    """Send a go_to far east; return the run once the boat steers it, and the event mark."""
    since = autopilot.next_event()
    run = module_ros.send(robot_id, 'go_to', dict({
        'target': {'x_m': 400.0, 'y_m': 0.0}, 'speed_mps': _SPEED_MPS,
        'acceptance_radius_m': 3.0}, **fields))
    autopilot.wait_for_event('nav_engaged', since)
    return run, since


def _steered_after(autopilot, seq: int):
    return [e for e in autopilot.events(seq) if e['event'] in ('steer', 'nav_engaged')]


def test_cancel_drops_the_route(boat, module_ros):
    autopilot, robot_id = boat
    run, since = _start_long_leg(autopilot, module_ros, robot_id)
    module_ros.cancel(run)
    result = run.wait(10.0)
    assert result.error_code == ErrorCode.CANCELED, result.error_msg
    dropped = autopilot.wait_for_event('nav_dropped', since, timeout_s=5.0)
    assert dropped['reason'] == 'APB status V (no valid route)'
    state = module_ros.wait_for_state(robot_id, lambda s: s.mode == 'STANDBY')
    assert state is not None
    # No valid APB arrives any more: nothing steers the boat after the drop.
    apbs = autopilot.state()['received'].get('apb', 0)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        assert autopilot.state()['received'].get('apb', 0) == apbs
        time.sleep(0.5)  # a quiet period being measured, not a synchronisation
    assert _steered_after(autopilot, dropped['seq']) == []


def test_a_timeout_drops_the_route(boat, module_ros):
    autopilot, robot_id = boat
    started = time.monotonic()
    run, since = _start_long_leg(autopilot, module_ros, robot_id, timeout_s=4.0)
    result = run.wait(15.0)
    assert result.error_code == ErrorCode.TIMEOUT, result.error_msg
    assert time.monotonic() - started < 4.0 + 5.0
    assert autopilot.wait_for_event('nav_dropped', since)['reason'] == \
        'APB status V (no valid route)'


def test_emergency_stop_drops_the_route_and_latches(boat, module_ros):
    autopilot, robot_id = boat
    run, since = _start_long_leg(autopilot, module_ros, robot_id)
    stop = module_ros.run(robot_id, 'emergency_stop', {'reason': 'test'})
    assert stop.error_code == ErrorCode.NONE, stop.error_msg
    assert run.wait(10.0).error_code == ErrorCode.PREEMPTED
    dropped = autopilot.wait_for_event('nav_dropped', since, timeout_s=5.0)
    refused = module_ros.run(robot_id, 'go_to', {'target': {'x_m': 10.0, 'y_m': 0.0}})
    assert refused.error_code == ErrorCode.EMERGENCY_STOP_ACTIVE, refused.error_msg
    assert _steered_after(autopilot, dropped['seq']) == []
    release = module_ros.run(robot_id, 'emergency_stop', {'release': True})
    assert release.error_code == ErrorCode.NONE


@pytest.mark.parametrize('fault, code, words', [
    ({'link_drop': True}, ErrorCode.COMMUNICATION_FAILURE, 'NMEA data on tcp_client'),
    ({'corrupt': 1.0}, ErrorCode.LINK_CORRUPTED, 'lines failed validation'),
    ({'no_fix': True}, ErrorCode.NAVIGATION_DATA_UNAVAILABLE, 'GNSS reports no fix'),
])
def test_each_link_fault_ends_the_leg_with_its_own_code(boat, module_ros, fault, code, words):
    autopilot, robot_id = boat
    run, since = _start_long_leg(autopilot, module_ros, robot_id)
    failed_at = time.monotonic()
    autopilot.faults(**fault)
    result = run.wait(_LINK_TIMEOUT_S + 10.0)
    assert result.error_code == code, result.error_msg
    assert words in result.error_msg
    assert result.retryable
    assert time.monotonic() - failed_at < _LINK_TIMEOUT_S + 5.0
    assert module_ros.wait_for_state(robot_id, lambda s: not s.link_up) is not None
    # The boat drops the route: told so (status V) when the bridge can still reach it, by
    # the autopilot's own 8 s timeout when the link is cut both ways.
    dropped = autopilot.wait_for_event('nav_dropped', since, timeout_s=12.0)
    expected = 'no APB for 8 s' if fault.get('link_drop') else 'APB status V (no valid route)'
    assert dropped['reason'] == expected
    autopilot.faults(**_NO_FAULTS)
    assert module_ros.wait_for_state(robot_id, lambda s: s.link_up, timeout_s=10.0)
    # The restored link brings no route back: the boat is not steered again.
    assert _steered_after(autopilot, dropped['seq']) == []


def test_noise_on_the_bus_neither_steers_nor_stops_a_leg(boat, module_ros):
    autopilot, robot_id = boat
    since = autopilot.next_event()
    autopilot.faults(noise=0.5, corrupt=0.2)
    reports = []
    subscription = module_ros.node.create_subscription(
        DiagnosticArray, '/diagnostics', lambda m: reports.extend(
            s for s in m.status if s.name == f'{robot_id}: nmea link'), 10)
    try:
        deadline = time.monotonic() + 10.0
        while not reports and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for the first once-a-second report
        assert _route_since(autopilot, since) == [], 'noise alone steered the boat'
        result = module_ros.run(robot_id, 'go_to', {
            'target': {'x_m': 30.0, 'y_m': -20.0}, 'speed_mps': _SPEED_MPS,
            'acceptance_radius_m': 3.0})
        assert result.error_code == ErrorCode.NONE, result.error_msg
        seen = len(reports)
        deadline = time.monotonic() + 5.0
        while len(reports) == seen and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for the next once-a-second report
        assert len(reports) > seen, 'no /diagnostics report after the leg'
    finally:
        module_ros.node.destroy_subscription(subscription)
    values = {kv.key: kv.value for kv in reports[-1].values}
    assert int(values['bad']) > 0 and int(values['foreign_talker']) > 0, values
    assert int(values['proprietary']) > 0 and int(values['valid']) > 0, values


def test_a_frozen_autopilot_ends_the_leg_and_its_link_comes_back(boat, module_ros):
    autopilot, robot_id = boat
    run, _ = _start_long_leg(autopilot, module_ros, robot_id)
    autopilot.signal(signal.SIGSTOP)
    try:
        result = run.wait(_LINK_TIMEOUT_S + 10.0)
    finally:
        autopilot.signal(signal.SIGCONT)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, result.error_msg
    assert 'NMEA data on tcp_client' in result.error_msg
    assert module_ros.wait_for_state(robot_id, lambda s: s.link_up, timeout_s=10.0)


def test_a_killed_autopilot_ends_the_leg_at_once_and_a_restart_reconnects(boat, module_ros):
    autopilot, robot_id = boat
    run, _ = _start_long_leg(autopilot, module_ros, robot_id)
    killed_at = time.monotonic()
    autopilot.kill()
    result = run.wait(10.0)
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, result.error_msg
    assert 'NMEA link (tcp_client' in result.error_msg and 'down' in result.error_msg
    # A closed connection is noticed at once, not after the data timeout.
    assert time.monotonic() - killed_at < _LINK_TIMEOUT_S
    autopilot.start()
    assert module_ros.wait_for_state(robot_id, lambda s: s.link_up, timeout_s=15.0)
    result = module_ros.run(robot_id, 'go_to', {
        'target': {'x_m': 15.0, 'y_m': 0.0}, 'speed_mps': _SPEED_MPS,
        'acceptance_radius_m': 3.0})
    assert result.error_code == ErrorCode.NONE, result.error_msg


def test_an_executor_interrupted_mid_leg_drops_the_route(boat, module_ros, start_executor):
    autopilot, _ = boat
    # A second executor on the same autopilot (its TCP port takes several peers).
    executor = start_executor('nmea_boat', parameters={
        'nmea.port': autopilot.ports['tcp_port'], 'nmea.link_timeout_s': _LINK_TIMEOUT_S})
    module_ros.wait_for_servers(executor, ['go_to'])
    assert module_ros.wait_for_state(executor.robot_id, lambda s: s.link_up, timeout_s=20.0)
    _, since = _start_long_leg(autopilot, module_ros, executor.robot_id)
    assert executor.stop() == 0, executor.log()
    # Shutting down ends the leg and tells the autopilot before the link closes.
    assert autopilot.wait_for_event('nav_dropped', since, timeout_s=5.0)['reason'] == \
        'APB status V (no valid route)'


def test_a_bad_nmea_parameter_stops_the_executor_with_one_line(start_executor):
    executor = start_executor('nmea_boat', parameters={'nmea.transport': 'carrier_pigeon'})
    assert executor.process.wait(timeout=30.0) == 2
    lines = [line for line in executor.log().splitlines() if line.strip()]
    assert lines[-1].startswith('robot_executor: invalid parameter: '), lines
    assert "bridge 'nmea': nmea.transport=" in lines[-1], lines
    assert "'carrier_pigeon' unknown" in lines[-1]
