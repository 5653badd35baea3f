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

"""Where the markers put an operation's target: every kind of place a goal can name."""

import math

from brain_execution.core.geo import GeoPoint, local_to_geographic
from brain_execution.ros.fleet_markers import target_points
from brain_execution_interfaces.msg import RobotState
import pytest

_HOME = GeoPoint(47.397742, 8.545594)


def _state(x=10.0, y=-4.0, z=2.0) -> RobotState:
    state = RobotState()
    state.pose.position.x, state.pose.position.y, state.pose.position.z = x, y, z
    here = local_to_geographic(_HOME, x, y)
    state.latitude_deg, state.longitude_deg = here.latitude_deg, here.longitude_deg
    return state


def _xy(points):
    return [(round(p.x_m, 3), round(p.y_m, 3)) for p in points]


def test_local_and_geographic_targets():
    points, closed = target_points('go_to', {'target': {'x_m': 30.0, 'y_m': 20.0,
                                                        'altitude_m': 15.0}}, _state())
    assert (_xy(points), points[0].z_m, closed) == ([(30.0, 20.0)], 15.0, False)
    # A geographic target lands where it is relative to the robot's home, which the markers
    # work out from the robot's own state.
    target = local_to_geographic(_HOME, -25.0, 40.0)
    points, _ = target_points('go_to', {'target': {
        'frame': 1, 'latitude_deg': target.latitude_deg,
        'longitude_deg': target.longitude_deg}}, _state())
    assert _xy(points) == [(pytest.approx(-25.0, abs=0.01), pytest.approx(40.0, abs=0.01))]
    assert target_points('go_to', {'target': {'frame': 1, 'latitude_deg': 1.0,
                                              'longitude_deg': 1.0}}, None) == ([], False)


def test_paths_areas_circles_and_implicit_places():
    points, closed = target_points('follow_waypoints', {'waypoints': [
        {'x_m': 1.0, 'y_m': 2.0}, {'x_m': 3.0, 'y_m': 4.0}]}, _state())
    assert (_xy(points), closed) == ([(1.0, 2.0), (3.0, 4.0)], False)
    points, closed = target_points('scan_area', {'boundary': [
        {'x_m': 0.0, 'y_m': 0.0}, {'x_m': 20.0, 'y_m': 0.0}, {'x_m': 20.0, 'y_m': 20.0}]},
        _state())
    assert closed and len(points) == 3
    points, closed = target_points('orbit', {'center': {'x_m': 5.0, 'y_m': 5.0,
                                                        'altitude_m': 10.0},
                                             'radius_m': 8.0}, _state())
    assert closed and all(math.hypot(p.x_m - 5.0, p.y_m - 5.0) == pytest.approx(8.0)
                          for p in points)
    assert _xy(target_points('return_home', {}, _state())[0]) == [(0.0, 0.0)]
    points, _ = target_points('takeoff', {'altitude_m': 12.0}, _state())
    assert (_xy(points), points[0].z_m) == ([(10.0, -4.0)], 12.0)
    # Nothing to draw: no place, an unknown operation, parameters the robot would refuse.
    assert target_points('capture_image', {}, _state()) == ([], False)
    assert target_points('warp', {}, _state()) == ([], False)
    assert target_points('go_to', {'target': {'x_m': 'far'}}, _state()) == ([], False)
