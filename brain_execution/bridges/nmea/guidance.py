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
Leg guidance as a chartplotter computes it: cross-track error, bearings, arrival.

A leg runs from an origin to a destination in the local ENU frame. Bearings are true,
in degrees clockwise from north, as NMEA 0183 carries them. The heading to steer is
line-of-sight guidance: the bearing from the boat to the point ``lookahead_m`` further along
the track than the boat's own projection onto it (or to the destination, when that is
closer), which brings the boat back onto the track line instead of only pointing it at the
waypoint.
"""

import dataclasses
import math

__all__ = ['Guidance', 'Leg', 'compass_bearing_deg', 'guide']


def compass_bearing_deg(dx_m: float, dy_m: float) -> float:
    """Return the true bearing of an ENU displacement, degrees in [0, 360)."""
    return math.degrees(math.atan2(dx_m, dy_m)) % 360.0


@dataclasses.dataclass(frozen=True)
class Leg:
    """
    One leg of a route, in the local ENU frame (metres from home).

    :param origin_id: the origin waypoint's name in APB/RMB, up to a few characters.
    :param destination_id: the destination waypoint's name.
    """

    origin_x_m: float
    origin_y_m: float
    destination_x_m: float
    destination_y_m: float
    origin_id: str
    destination_id: str

    @property
    def length_m(self) -> float:
        return math.hypot(self.destination_x_m - self.origin_x_m,
                          self.destination_y_m - self.origin_y_m)

    @property
    def bearing_deg(self) -> float:
        """Return the true bearing from origin to destination."""
        return compass_bearing_deg(self.destination_x_m - self.origin_x_m,
                                   self.destination_y_m - self.origin_y_m)


@dataclasses.dataclass(frozen=True)
class Guidance:
    """
    Where the boat stands on its leg.

    :param cross_track_m: distance from the track line, positive when the boat is to the
        right of it (looking from origin to destination): it must then steer left.
    :param along_track_m: progress along the track from the origin, m.
    :param distance_m: straight-line distance to the destination, m.
    :param bearing_to_destination_deg: true bearing from the boat to the destination.
    :param heading_to_steer_deg: true heading that brings the boat back on the track.
    :param closing_speed_mps: velocity made good toward the destination, m/s.
    :param arrival_circle: the boat is within the arrival radius of the destination.
    :param perpendicular_passed: the boat has crossed the line through the destination
        perpendicular to the leg: it will not come closer on this leg.
    """

    cross_track_m: float
    along_track_m: float
    distance_m: float
    bearing_to_destination_deg: float
    heading_to_steer_deg: float
    closing_speed_mps: float
    arrival_circle: bool
    perpendicular_passed: bool

    @property
    def steer_left(self) -> bool:
        """Return whether the direction to steer back onto the track is left."""
        return self.cross_track_m > 0.0


def guide(leg: Leg, *, x_m: float, y_m: float, vx_mps: float, vy_mps: float,
          arrival_radius_m: float, lookahead_m: float) -> Guidance:
    """Return the guidance for a boat at (x_m, y_m) moving at (vx_mps, vy_mps) on a leg."""
    dx, dy = leg.destination_x_m - x_m, leg.destination_y_m - y_m
    distance = math.hypot(dx, dy)
    length = leg.length_m
    if length > 1e-6:
        ux = (leg.destination_x_m - leg.origin_x_m) / length
        uy = (leg.destination_y_m - leg.origin_y_m) / length
    elif distance > 1e-6:
        # A leg that starts on its destination: the track is the line from the boat to it.
        ux, uy = dx / distance, dy / distance
    else:
        ux, uy = 0.0, 1.0
    rx, ry = x_m - leg.origin_x_m, y_m - leg.origin_y_m
    along = rx * ux + ry * uy
    # The cross product of the track direction with the offset is positive to the left.
    cross = -(ux * ry - uy * rx)
    aim = min(along + lookahead_m, length)
    if aim <= along:
        # Past the end of the track: aim straight at the destination.
        heading = compass_bearing_deg(dx, dy)
    else:
        heading = compass_bearing_deg(leg.origin_x_m + aim * ux - x_m,
                                      leg.origin_y_m + aim * uy - y_m)
    closing = (vx_mps * dx + vy_mps * dy) / distance if distance > 1e-6 else 0.0
    return Guidance(
        cross_track_m=cross,
        along_track_m=along,
        distance_m=distance,
        bearing_to_destination_deg=compass_bearing_deg(dx, dy),
        heading_to_steer_deg=heading,
        closing_speed_mps=closing,
        arrival_circle=distance <= arrival_radius_m,
        perpendicular_passed=along >= length,
    )
