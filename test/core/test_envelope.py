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

"""Safety envelope: configuration checks and fence geometry, convex and not."""

import math

from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.errors import (
    AltitudeLimitError, GeofenceViolationError, SpeedLimitError)
from brain_execution.core.geo import LocalPoint
from hypothesis import given, settings, strategies as st
import pytest

SQUARE = ((-100.0, -100.0), (100.0, -100.0), (100.0, 100.0), (-100.0, 100.0))
# A U opening north: two arms x in [-100, -20] and [20, 100], joined below y = 0; the notch
# between the arms (x in (-20, 20), y > 0) is outside.
U_FENCE = ((-100.0, -100.0), (100.0, -100.0), (100.0, 100.0), (20.0, 100.0), (20.0, 0.0),
           (-20.0, 0.0), (-20.0, 100.0), (-100.0, 100.0))


def _u():
    return SafetyEnvelope(geofence=U_FENCE)


@pytest.mark.parametrize('kwargs, match', [
    ({'cruise_speed_mps': 20.0, 'max_speed_mps': 10.0}, 'cruise_speed_mps'),
    ({'max_speed_mps': 0.0}, 'max_speed_mps'),
    ({'altitude_ceiling_m': -1.0}, 'altitude_ceiling_m'),
    ({'altitude_ceiling_m': math.nan}, 'not a finite number'),
    ({'min_battery_takeoff_percent': 120.0}, 'percent'),
    ({'return_home_battery_percent': -1.0}, 'percent'),
    ({'max_payload_kg': -0.1}, 'max_payload_kg'),
    ({'max_payload_kg': '2'}, 'not a finite number'),
    ({'geofence': ((0.0, 0.0), (1.0, 0.0))}, 'at least 3'),
    ({'geofence': ((0.0, 0.0), (1.0, 0.0), (1.0, math.inf))}, 'not finite'),
    ({'geofence': ((0, 0), (10, 10), (10, 0), (0, 10))}, 'self-intersecting'),
    ({'geofence': ((0, 0), (10, 0), (10, 0), (0, 10))}, 'repeats vertex'),
    ({'geofence': ((0, 0), (10, 0), (5, 0))}, 'folds back|zero area'),
    ({'geofence': ((0, 0), 'ab', (0, 10))}, 'pairs|not finite'),
    ({'geofence': 5}, 'pairs'),
])
def test_nonsense_config_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SafetyEnvelope(**kwargs)


def test_fence_lists_become_tuples_in_either_winding():
    envelope = SafetyEnvelope(geofence=[[0, 0], [0, 10], [10, 10], [10, 0]])
    assert envelope.geofence == ((0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0))
    assert envelope.contains(5.0, 5.0)
    assert not envelope.contains(11.0, 5.0)


def test_no_fence_contains_everything():
    envelope = SafetyEnvelope()
    assert envelope.contains(1e9, -1e9)
    envelope.check_segment((0, 0), (1e9, 1e9))
    envelope.check_path([(5e8, 0.0)], start=(0.0, 0.0), closed=True)


def test_points_on_the_boundary_are_inside():
    envelope = SafetyEnvelope(geofence=SQUARE)
    for point in [(100.0, 0.0), (100.0, 100.0), (-100.0, -100.0), (0.0, -100.0)]:
        assert envelope.contains(*point)
    assert not envelope.contains(100.001, 0.0)


def test_point_outside_names_point_and_fence():
    envelope = SafetyEnvelope(geofence=SQUARE)
    with pytest.raises(GeofenceViolationError) as info:
        envelope.check_point(120.0, 5.0, label='target')
    assert str(info.value) == ('target (x_m=120.0, y_m=5.0) is outside the geofence of 4 '
                               'vertices spanning x -100.0..100.0 m, y -100.0..100.0 m')


def test_non_convex_notch_is_outside():
    envelope = _u()
    assert envelope.contains(0.0, -50.0)
    assert envelope.contains(-60.0, 80.0) and envelope.contains(60.0, 80.0)
    assert not envelope.contains(0.0, 50.0)
    assert envelope.contains(0.0, 0.0)  # on the notch's floor


def test_segment_across_the_notch_leaves_the_fence():
    envelope = _u()
    with pytest.raises(GeofenceViolationError, match=r'leaves the geofence .* at \(-20.0, 80.0\)'):
        envelope.check_segment((-60.0, 80.0), (60.0, 80.0), label='leg')
    # Both ends inside, under the notch: inside all the way.
    envelope.check_segment((-60.0, -50.0), (60.0, -50.0))
    # Along the notch's floor, on the boundary: allowed.
    envelope.check_segment((-60.0, 0.0), (60.0, 0.0))
    # Along an arm's inner wall.
    envelope.check_segment((20.0, 10.0), (20.0, 90.0))


def test_segment_through_reflex_vertices():
    envelope = _u()
    # From one arm through the reflex corner (20, 0) into the notch: leaves.
    with pytest.raises(GeofenceViolationError):
        envelope.check_segment((60.0, -40.0), (-20.0, 40.0))
    # Touching the reflex corner and staying inside the body.
    envelope.check_segment((40.0, 20.0), (0.0, -20.0))
    # Diagonal between both reflex corners runs along the notch floor.
    envelope.check_segment((-20.0, 0.0), (20.0, 0.0))


def test_segment_endpoint_outside_names_it():
    with pytest.raises(GeofenceViolationError, match='leg end'):
        _u().check_segment((-60.0, 80.0), (0.0, 50.0), label='leg')


def test_path_checks_points_legs_and_closing_leg():
    envelope = _u()
    envelope.check_path([(-60.0, 80.0), (-60.0, -50.0), (60.0, -50.0), (60.0, 80.0)])
    with pytest.raises(GeofenceViolationError, match=r'waypoints\[1\]->waypoints\[2\]'):
        envelope.check_path([(-60.0, -50.0), (-60.0, 80.0), (60.0, 80.0)])
    u_path = [(60.0, 80.0), (60.0, -50.0), (-60.0, -50.0), (-60.0, 80.0)]
    envelope.check_path(u_path, label='boundary')
    with pytest.raises(GeofenceViolationError, match=r'boundary\[3\]->boundary\[0\]'):
        envelope.check_path(u_path, closed=True, label='boundary')
    with pytest.raises(GeofenceViolationError, match=r'boundary\[1\] '):
        envelope.check_path([(60.0, 80.0), (0.0, 50.0), (-60.0, 80.0)], label='boundary')


def test_path_leg_from_start():
    envelope = _u()
    with pytest.raises(GeofenceViolationError, match=r'leg to waypoints\[0\]'):
        envelope.check_path([LocalPoint(60.0, 80.0)], start=(-60.0, 80.0))
    # A robot outside the fence may come back in.
    envelope.check_path([LocalPoint(60.0, 80.0)], start=(0.0, 50.0))
    envelope.check_path([{'x_m': 60.0, 'y_m': 80.0}], start=(math.nan, 0.0))


def test_altitude_message():
    envelope = SafetyEnvelope(altitude_ceiling_m=100.0)
    envelope.check_altitude(100.0)
    with pytest.raises(AltitudeLimitError) as info:
        envelope.check_altitude(130.0)
    assert str(info.value) == 'altitude_m=130.0 above ceiling 100.0 m'


def test_speed_and_resolution():
    envelope = SafetyEnvelope(max_speed_mps=10.0, cruise_speed_mps=4.0)
    assert envelope.resolve_speed(0.0) == 4.0
    assert envelope.resolve_speed(10.0) == 10.0
    with pytest.raises(SpeedLimitError) as info:
        envelope.resolve_speed(12.5)
    assert str(info.value) == 'speed_mps=12.5 above limit 10.0 m/s'
    with pytest.raises(SpeedLimitError, match='climb_speed_mps=11.0'):
        envelope.check_speed(11.0, label='climb_speed_mps')


def test_needs_return_home():
    envelope = SafetyEnvelope(return_home_battery_percent=25.0)
    assert envelope.needs_return_home(24.9)
    assert not envelope.needs_return_home(25.0)
    assert not envelope.needs_return_home(math.nan)


_COORD = st.integers(min_value=-120, max_value=120).map(float)
_POINT = st.tuples(_COORD, _COORD)


def _sample_outside(envelope, p, q, count=400):
    for k in range(count + 1):
        t = k / count
        x, y = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
        if not envelope.contains(x, y):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(_POINT, _POINT)
def test_convex_fence_segment_inside_iff_both_ends_inside(p, q):
    envelope = SafetyEnvelope(geofence=SQUARE)
    inside = envelope.contains(*p) and envelope.contains(*q)
    if inside:
        envelope.check_segment(p, q)
    else:
        with pytest.raises(GeofenceViolationError):
            envelope.check_segment(p, q)


@settings(max_examples=300, deadline=None)
@given(_POINT, _POINT)
def test_non_convex_fence_agrees_with_dense_sampling(p, q):
    # Integer coordinates hit the fence's vertices and edges often: the degenerate cases.
    envelope = _u()
    try:
        envelope.check_segment(p, q)
    except GeofenceViolationError:
        assert _sample_outside(envelope, p, q, count=4000)
    else:
        assert not _sample_outside(envelope, p, q)
