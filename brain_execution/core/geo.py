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
Conversions between WGS-84 coordinates and a robot's local ENU frame.

A local tangent plane at the home position, with the WGS-84 radii of curvature there: the
error stays below 0.1 % of the distance within 20 km of home, far inside the range of one
robot's mission, and needs no projection library on the robot.
"""

import dataclasses
import math
import typing

__all__ = ['GeoPoint', 'LocalPoint', 'geographic_to_local', 'local_to_geographic']

_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3


@dataclasses.dataclass(frozen=True)
class GeoPoint:
    """WGS-84 position: degrees, and metres above the reference (home) altitude."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0


@dataclasses.dataclass(frozen=True)
class LocalPoint:
    """Position in the local ENU frame, metres from home; yaw_rad None keeps the heading."""

    x_m: float
    y_m: float
    z_m: float = 0.0
    yaw_rad: typing.Optional[float] = None


def _radii(latitude_deg: float) -> typing.Tuple[float, float]:
    """Return the (north, east) metres per radian at a latitude."""
    sin_lat = math.sin(math.radians(latitude_deg))
    w = math.sqrt(1.0 - _WGS84_E2 * sin_lat * sin_lat)
    meridian = _WGS84_A * (1.0 - _WGS84_E2) / (w ** 3)
    normal = _WGS84_A / w
    return meridian, normal * math.cos(math.radians(latitude_deg))


def geographic_to_local(home: GeoPoint, point: GeoPoint,
                        yaw_rad: typing.Optional[float] = None) -> LocalPoint:
    """Return the local ENU position of a geographic point, relative to home."""
    north_per_rad, east_per_rad = _radii(home.latitude_deg)
    d_lon = (point.longitude_deg - home.longitude_deg + 180.0) % 360.0 - 180.0
    return LocalPoint(
        x_m=math.radians(d_lon) * east_per_rad,
        y_m=math.radians(point.latitude_deg - home.latitude_deg) * north_per_rad,
        z_m=point.altitude_m,
        yaw_rad=yaw_rad,
    )


def local_to_geographic(home: GeoPoint, x_m: float, y_m: float, z_m: float = 0.0) -> GeoPoint:
    """Return the geographic position of a local ENU point, relative to home."""
    north_per_rad, east_per_rad = _radii(home.latitude_deg)
    longitude = home.longitude_deg + math.degrees(x_m / east_per_rad)
    return GeoPoint(
        latitude_deg=home.latitude_deg + math.degrees(y_m / north_per_rad),
        longitude_deg=(longitude + 180.0) % 360.0 - 180.0,
        altitude_m=z_m,
    )
