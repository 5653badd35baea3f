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

"""Leg guidance, route sequencing, link supervision and settings of the NMEA bridge."""

import math

from brain_execution.bridges.nmea.guidance import compass_bearing_deg, guide, Leg
from brain_execution.bridges.nmea.link import LinkMonitor
from brain_execution.bridges.nmea.route import make_legs, Route
from brain_execution.bridges.nmea.settings import NmeaSettings
from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import ErrorCode
from brain_execution.core.geo import LocalPoint
from brain_execution.sim.nmea_autopilot.boat import Boat
import pytest

_NORTHEAST = Leg(0.0, 0.0, 100.0, 100.0, 'START', 'DEST')


def _at(leg: Leg, x: float, y: float, vx: float = 0.0, vy: float = 0.0):
    return guide(leg, x_m=x, y_m=y, vx_mps=vx, vy_mps=vy, arrival_radius_m=10.0,
                 lookahead_m=20.0)


@pytest.mark.parametrize('dx, dy, bearing', [
    (0.0, 1.0, 0.0), (1.0, 0.0, 90.0), (0.0, -1.0, 180.0), (-1.0, 0.0, 270.0),
    (1.0, 1.0, 45.0)])
def test_bearings_are_true_and_clockwise_from_north(dx, dy, bearing):
    assert compass_bearing_deg(dx, dy) == pytest.approx(bearing)


def test_cross_track_error_is_positive_right_of_the_track():
    right = _at(_NORTHEAST, 50.0, 40.0)
    left = _at(_NORTHEAST, 40.0, 50.0)
    assert right.cross_track_m == pytest.approx(10.0 / math.sqrt(2.0))
    assert right.steer_left and not left.steer_left
    assert left.cross_track_m == pytest.approx(-right.cross_track_m)
    # Steering back: left of the leg bearing when right of the track, and the other way.
    assert right.heading_to_steer_deg < _NORTHEAST.bearing_deg < left.heading_to_steer_deg


def test_on_the_track_the_heading_to_steer_is_the_leg_bearing():
    on = _at(_NORTHEAST, 30.0, 30.0, vx=1.0, vy=1.0)
    assert on.cross_track_m == pytest.approx(0.0, abs=1e-9)
    assert on.heading_to_steer_deg == pytest.approx(45.0)
    assert on.closing_speed_mps == pytest.approx(math.sqrt(2.0))
    assert not on.arrival_circle and not on.perpendicular_passed


def test_arrival_circle_and_perpendicular():
    assert _at(_NORTHEAST, 95.0, 95.0).arrival_circle
    passed = _at(_NORTHEAST, 120.0, 90.0)
    assert passed.perpendicular_passed and not passed.arrival_circle
    # Past the end, the boat is sent straight at the destination.
    assert passed.heading_to_steer_deg == pytest.approx(compass_bearing_deg(-20.0, 10.0))


def test_a_boat_following_the_guidance_converges_on_the_track():
    leg = Leg(0.0, 0.0, 300.0, 0.0, 'START', 'DEST')
    boat = Boat(x_m=0.0, y_m=-30.0, heading_deg=0.0, throttle_mps=3.0)
    worst_late = 0.0
    for step in range(4000):
        s = boat.state()
        vx, vy = s.velocity
        g = _at(leg, s.x_m, s.y_m, vx, vy)
        if g.perpendicular_passed:
            break
        if s.x_m > 150.0:
            worst_late = max(worst_late, abs(g.cross_track_m))
        boat.step(0.05, g.heading_to_steer_deg)
    assert g.perpendicular_passed, 'never reached the end of the leg'
    assert worst_late < 0.5, f'still {worst_late:.2f} m off the track on its second half'
    assert g.distance_m < 1.0


def test_routes_switch_legs_at_the_arrival_circle_and_finish_at_the_last_point():
    handle = CommandHandle('follow_waypoints')
    legs = make_legs(0.0, 0.0, [LocalPoint(50.0, 0.0), LocalPoint(50.0, 50.0)])
    assert [(leg.origin_id, leg.destination_id) for leg in legs] == \
        [('START', 'WP1'), ('WP1', 'WP2')]
    route = Route(kind='follow_waypoints', legs=legs, handle=handle, final_radius_m=2.0,
                  arrival_radius_m=10.0)
    assert not route.advance(_at(route.leg, 30.0, 0.0))
    assert route.index == 0
    assert not route.advance(_at(route.leg, 42.0, 0.0))
    assert (route.index, handle.feedback['current_waypoint']) == (1, 1)
    # The last point needs the final radius, not the arrival circle.
    assert not route.advance(_at(route.leg, 50.0, 45.0))
    assert not handle.finished
    assert route.advance(_at(route.leg, 50.5, 48.5))
    assert handle.finished and handle.value == 2


def test_a_passed_last_point_finishes_the_route_rather_than_turning_back():
    handle = CommandHandle('go_to')
    route = Route(kind='go_to', legs=make_legs(0.0, 0.0, [LocalPoint(20.0, 0.0)]),
                  handle=handle, final_radius_m=0.0, arrival_radius_m=10.0)
    assert not route.advance(_at(route.leg, 19.0, 2.5))
    assert route.advance(_at(route.leg, 20.4, 2.5))
    assert handle.finished


def test_link_monitor_names_each_cause():
    monitor = LinkMonitor(timeout_s=3.0, transport='tcp_client 127.0.0.1:20220')
    problem = monitor.problem(0.0)
    assert problem.code == ErrorCode.COMMUNICATION_FAILURE
    assert 'not connected yet' in str(problem)
    monitor.on_connection(True)
    assert 'no NMEA data received yet' in str(monitor.problem(0.0))
    monitor.on_data(1.0)
    monitor.on_fix(1.0)
    monitor.on_heading(1.0)
    assert monitor.problem(3.9) is None
    # Silence.
    problem = monitor.problem(4.5)
    assert problem.code == ErrorCode.COMMUNICATION_FAILURE and 'stopped 3.5 s ago' in \
        str(problem)
    # Data that fails validation.
    monitor.on_data(4.4)
    for category in ('bad_checksum', 'bad_checksum', 'garbage', 'unused'):
        monitor.on_line(category)
    problem = monitor.problem(4.5)
    assert problem.code == ErrorCode.LINK_CORRUPTED
    assert '3 of 4 lines failed validation (bad checksum 2, garbage 1)' in str(problem)
    assert problem.retryable
    # The receiver says it has no fix.
    monitor.on_line('no_fix')
    problem = monitor.problem(4.5)
    assert problem.code == ErrorCode.NAVIGATION_DATA_UNAVAILABLE and 'no fix' in str(problem)
    # A fix again; the heading is still missing, among the same bad lines.
    monitor.on_fix(4.5)
    problem = monitor.problem(4.6)
    assert problem.code == ErrorCode.LINK_CORRUPTED and 'valid heading none for 3.6 s' in \
        str(problem)
    monitor.on_heading(4.6)
    assert monitor.problem(4.6) is None
    monitor.on_connection(False, 'connection reset')
    assert 'connection reset' in str(monitor.problem(4.6))


def test_a_missing_compass_is_navigation_data_unavailable():
    monitor = LinkMonitor(timeout_s=1.0, transport='udp')
    monitor.on_connection(True)
    for t in (0.0, 0.5, 1.0, 1.5):
        monitor.on_data(t)
        monitor.on_line('valid')
        monitor.on_fix(t)
    problem = monitor.problem(1.5)
    assert problem.code == ErrorCode.NAVIGATION_DATA_UNAVAILABLE
    assert 'autopilot sends no valid heading (HDT/HDG): never received' in str(problem)


@pytest.mark.parametrize('changes, named', [
    ({'transport': 'carrier_pigeon'}, 'nmea.transport'),
    ({'talker_id': 'gp'}, 'nmea.talker_id'),
    ({'accept_talkers': ('GP', 'G')}, 'nmea.accept_talkers'),
    ({'apb_rate_hz': 0.0, 'rmb_rate_hz': 0.0}, 'nmea.apb_rate_hz'),
    ({'transport': 'serial', 'baud': 1234}, 'nmea.baud'),
    ({'transport': 'serial', 'device': ''}, 'nmea.device'),
    ({'host': ''}, 'nmea.host'),
    ({'link_timeout_s': math.nan}, 'nmea.link_timeout_s'),
])
def test_settings_name_the_parameter_at_fault(changes, named):
    with pytest.raises(ValueError, match=named.replace('.', r'\.')):
        NmeaSettings(**changes)


def test_a_link_that_died_just_after_a_fix_is_silence_not_missing_position():
    # RMC at 2 Hz, HDG at 5 Hz: the last bytes before the cut are a heading or two.
    monitor = LinkMonitor(timeout_s=2.0, transport='tcp_client')
    monitor.on_connection(True)
    monitor.on_data(10.0)
    monitor.on_fix(10.0)
    monitor.on_heading(10.0)
    monitor.on_data(10.4)
    monitor.on_line('valid')
    monitor.on_heading(10.4)
    problem = monitor.problem(12.1)
    assert problem.code == ErrorCode.COMMUNICATION_FAILURE, problem
    assert 'stopped 1.7 s ago: no valid position or heading for 2.1 s' in str(problem)
