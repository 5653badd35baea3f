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

"""Local ENU <-> WGS-84 conversions."""

from brain_execution.core.geo import (
    geographic_to_local, GeoPoint, local_to_geographic, LocalPoint)
from hypothesis import given, settings, strategies as st
import pytest


@settings(max_examples=300, deadline=None)
@given(st.floats(-80.0, 80.0), st.floats(-180.0, 180.0), st.floats(-20000.0, 20000.0),
       st.floats(-20000.0, 20000.0), st.floats(-100.0, 500.0))
def test_local_geographic_round_trip(lat, lon, x, y, z):
    home = GeoPoint(lat, lon)
    point = local_to_geographic(home, x, y, z)
    assert -180.0 <= point.longitude_deg < 180.0
    back = geographic_to_local(home, point)
    assert back.x_m == pytest.approx(x, abs=1e-6)
    assert back.y_m == pytest.approx(y, abs=1e-6)
    assert back.z_m == z


def test_known_distances_at_the_equator():
    home = GeoPoint(0.0, 0.0)
    # WGS-84: 110.574 km per degree of latitude, 111.320 km per degree of longitude there.
    assert geographic_to_local(home, GeoPoint(0.01, 0.0)).y_m == pytest.approx(1105.74, rel=1e-3)
    assert geographic_to_local(home, GeoPoint(0.0, 0.01)).x_m == pytest.approx(1113.20, rel=1e-3)


def test_longitude_shrinks_with_latitude():
    east = geographic_to_local(GeoPoint(60.0, 10.0), GeoPoint(60.0, 10.01)).x_m
    assert east == pytest.approx(1113.2 * 0.5, rel=5e-3)


def test_antimeridian():
    home = GeoPoint(10.0, 179.999)
    point = local_to_geographic(home, 500.0, 0.0)
    assert point.longitude_deg < -179.99
    back = geographic_to_local(home, point)
    assert back.x_m == pytest.approx(500.0, abs=1e-6)
    assert geographic_to_local(home, GeoPoint(10.0, -179.999)).x_m > 0.0


def test_yaw_and_altitude_pass_through():
    home = GeoPoint(48.0, 11.0, 0.0)
    local = geographic_to_local(home, GeoPoint(48.0, 11.0, 25.0), yaw_rad=1.5)
    assert local == LocalPoint(0.0, 0.0, 25.0, 1.5)
