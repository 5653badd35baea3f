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
A boat steered by heading only: what an autopilot's rudder moves.

The throttle is the skipper's (``speed_mps``), so the boat always makes way at that speed,
reached and left at the acceleration limit; the rudder turns it toward the commanded
heading at a rate proportional to the error, up to the yaw-rate limit, or holds it straight
with no command (standby). The limits are the simulated surface vessel's
(:func:`brain_execution.sim.vehicle.default_limits`). Deterministic: :meth:`Boat.step`
integrates a time step the caller chooses, reading no clock.
"""

import dataclasses
import math
import typing

from ..vehicle import default_limits, MotionLimits
from ...core.state import Platform

__all__ = ['Boat', 'BoatState']

# Turn rate per radian of heading error, 1/s: a 20 degree error turns at 0.35 rad/s.
_HEADING_GAIN = 1.0


@dataclasses.dataclass(frozen=True)
class BoatState:
    """Where the boat is: local ENU metres, true heading and course in degrees, m/s."""

    x_m: float
    y_m: float
    heading_deg: float
    speed_mps: float
    yaw_rate_degps: float

    @property
    def velocity(self) -> typing.Tuple[float, float]:
        """Return the ENU velocity over ground, m/s (no current: course = heading)."""
        heading = math.radians(self.heading_deg)
        return self.speed_mps * math.sin(heading), self.speed_mps * math.cos(heading)


class Boat:
    """
    A unicycle boat under an autopilot's rudder.

    :param x_m: and ``y_m``: start position, local ENU metres.
    :param heading_deg: start heading, true degrees.
    :param throttle_mps: speed the throttle gives, m/s (clamped to the limits).
    :param limits: kinematic limits; the simulated surface vessel's when None.
    """

    def __init__(self, *, x_m: float = 0.0, y_m: float = 0.0, heading_deg: float = 0.0,
                 throttle_mps: float = 2.0, limits: typing.Optional[MotionLimits] = None):
        self.limits = limits or default_limits(Platform.SURFACE)
        self._x, self._y = float(x_m), float(y_m)
        self._heading = float(heading_deg) % 360.0
        self._speed = 0.0
        self._yaw_rate = 0.0
        self.throttle_mps = throttle_mps

    @property
    def throttle_mps(self) -> float:
        return self._throttle

    @throttle_mps.setter
    def throttle_mps(self, value: float) -> None:
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f'throttle must be finite and >= 0 m/s, got {value!r}')
        self._throttle = min(float(value), self.limits.max_speed_mps)

    def place(self, *, x_m: float, y_m: float, heading_deg: float) -> None:
        """Put the boat somewhere, stopped (a skipper repositioning it between runs)."""
        self._x, self._y, self._heading = float(x_m), float(y_m), float(heading_deg) % 360.0
        self._speed = self._yaw_rate = 0.0

    def state(self) -> BoatState:
        return BoatState(self._x, self._y, self._heading, self._speed,
                         math.degrees(self._yaw_rate))

    def step(self, dt_s: float, heading_command_deg: typing.Optional[float]) -> None:
        """Advance dt_s seconds steering toward the command (None: rudder amidships)."""
        if dt_s <= 0.0:
            return
        if heading_command_deg is None:
            self._yaw_rate = 0.0
        else:
            error = math.radians((heading_command_deg - self._heading + 180.0) % 360.0 - 180.0)
            limit = self.limits.max_yaw_rate_radps
            self._yaw_rate = max(-limit, min(limit, _HEADING_GAIN * error))
            # Never turn past the command within one step.
            if abs(self._yaw_rate * dt_s) > abs(error):
                self._yaw_rate = error / dt_s
        # Compass heading grows clockwise: a positive yaw rate here is a turn to starboard.
        self._heading = (self._heading + math.degrees(self._yaw_rate * dt_s)) % 360.0
        accel = self.limits.max_accel_mps2 * dt_s
        self._speed += max(-accel, min(accel, self._throttle - self._speed))
        heading = math.radians(self._heading)
        self._x += self._speed * math.sin(heading) * dt_s
        self._y += self._speed * math.cos(heading) * dt_s
