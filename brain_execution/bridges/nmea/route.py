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
A route the bridge steers the autopilot along: legs, the active one, and when to switch.

As on a chartplotter, an intermediate waypoint is reached when the boat enters its arrival
circle or passes its perpendicular; the last one when the boat is within the route's final
radius, or has passed the perpendicular (it would not come closer on that leg, and turning
back for it is not what a route means).
"""

import typing

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.geo import LocalPoint

from .guidance import Guidance, Leg

__all__ = ['Route', 'make_legs']


def make_legs(start_x_m: float, start_y_m: float,
              points: typing.Sequence[LocalPoint]) -> typing.List[Leg]:
    """Return the legs from a start position through points, waypoints named WP1, WP2, ..."""
    legs = []
    x, y, name = start_x_m, start_y_m, 'START'
    for i, point in enumerate(points, start=1):
        legs.append(Leg(origin_x_m=x, origin_y_m=y, destination_x_m=point.x_m,
                        destination_y_m=point.y_m, origin_id=name, destination_id=f'WP{i}'))
        x, y, name = point.x_m, point.y_m, f'WP{i}'
    return legs


class Route:
    """
    The legs of one command, and the handle that reports how the route went.

    :param kind: what the route is for, for logs (``go_to``, ``follow_waypoints``,
        ``return_home``).
    :param legs: at least one leg.
    :param handle: finished with the number of waypoints reached once the last one is.
    :param final_radius_m: distance to the last waypoint that counts as arrived.
    :param arrival_radius_m: arrival circle of the intermediate waypoints.
    """

    def __init__(self, *, kind: str, legs: typing.Sequence[Leg], handle: CommandHandle,
                 final_radius_m: float, arrival_radius_m: float):
        if not legs:
            raise ValueError('a route needs at least one leg')
        self.kind = kind
        self.legs = tuple(legs)
        self.handle = handle
        self.final_radius_m = final_radius_m
        self.arrival_radius_m = arrival_radius_m
        self.index = 0
        handle.feedback['current_waypoint'] = 0

    @property
    def leg(self) -> Leg:
        return self.legs[self.index]

    @property
    def last(self) -> bool:
        return self.index == len(self.legs) - 1

    def advance(self, guidance: Guidance) -> bool:
        """
        Move on when the active waypoint is reached; return whether the route is complete.

        A complete route's handle is finished with the number of waypoints reached.
        """
        if not self.last:
            if guidance.arrival_circle or guidance.perpendicular_passed:
                self.index += 1
                self.handle.feedback['current_waypoint'] = self.index
            return False
        if guidance.distance_m <= self.final_radius_m or guidance.perpendicular_passed:
            self.handle.finish(len(self.legs))
            return True
        return False
