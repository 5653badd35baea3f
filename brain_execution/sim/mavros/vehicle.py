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
The kinematic models under sim_mavros: the shared drone and vessel models, plus velocity.

:mod:`brain_execution.sim.vehicle` already integrates a multirotor and a surface vessel
deterministically. An autopilot adds two things: velocity setpoints (MAVROS
``setpoint_velocity/cmd_vel`` and velocity-only ``setpoint_raw/local``), held until the next
or until the setpoint times out, and disarming *after* touchdown on its own timer rather than
at the instant of contact; the autopilot layer (:mod:`.autopilot`) decides when.
"""

import math
import typing

from ..vehicle import _wrap, DroneVehicle, SimMode, SurfaceVehicle
from ...core.state import LandedState

__all__ = ['MavrosDrone', 'MavrosRover', 'VelocityMixin']


class VelocityMixin:
    """Velocity setpoints on top of a :class:`~brain_execution.sim.vehicle.SimVehicle`."""

    _velocity: typing.Optional[typing.Tuple[float, float, float]] = None

    def set_velocity(self, vx: float, vy: float, vz: float) -> None:
        """Fly or drive at (vx, vy, vz) m/s ENU, clamped to the speed limit, until replaced."""
        values = [float(v) for v in (vx, vy, vz)]
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f'velocity must be finite, got {values}')
        speed = math.sqrt(sum(v * v for v in values))
        if speed > self.limits.max_speed_mps:
            values = [v * self.limits.max_speed_mps / speed for v in values]
        self._velocity = tuple(values)
        self._mode = SimMode.GOTO
        self._target = None
        self._hold_point = None

    @property
    def velocity_mode(self) -> bool:
        return self._velocity is not None

    def go_to(self, **kwargs) -> None:
        self._velocity = None
        super().go_to(**kwargs)

    def hold(self) -> None:
        self._velocity = None
        super().hold()

    def _set_hold(self, mode) -> None:
        self._velocity = None
        super()._set_hold(mode)


class MavrosDrone(VelocityMixin, DroneVehicle):
    """A multirotor that stays armed on the ground after touchdown, and flies velocities."""

    def land(self, *, descent_speed_mps: float) -> None:
        self._velocity = None
        super().land(descent_speed_mps=descent_speed_mps)

    def force_disarm(self) -> None:
        """Stop the motors wherever the drone is (an autopilot's own disarm on the ground)."""
        self._armed = False
        self._mode = SimMode.IDLE
        self._velocity = None

    def _touchdown(self) -> None:
        super()._touchdown()
        # The autopilot disarms after its landing detector's delay, not at contact.
        self._armed = True

    def _move(self, dt: float) -> None:
        if self._velocity is None or self._landed == LandedState.ON_GROUND:
            super()._move(dt)
            return
        self._turn(dt)
        vx, vy, vz = self._velocity
        if self._z <= 0.0 and vz < 0.0:
            vz = 0.0
        self._accelerate(vx, vy, vz, dt)
        self._integrate(dt)
        self._z = max(0.0, self._z)


class MavrosRover(VelocityMixin, SurfaceVehicle):
    """A rover or boat that also drives velocity setpoints (heading follows the velocity)."""

    def _move(self, dt: float) -> None:
        if self._velocity is None:
            super()._move(dt)
            return
        vx, vy, _ = self._velocity
        speed = math.hypot(vx, vy)
        if speed > 1e-6:
            error = _wrap(math.atan2(vy, vx) - self._yaw)
            max_turn = self.limits.max_yaw_rate_radps * dt
            turn = max(-max_turn, min(max_turn, error))
            self._yaw = _wrap(self._yaw + turn)
            self._yaw_rate = turn / dt
            wanted = speed * max(0.0, math.cos(error - turn))
        else:
            self._yaw_rate = 0.0
            wanted = 0.0
        accel = self.limits.max_accel_mps2 * dt
        self._forward += max(-accel, min(accel, wanted - self._forward))
        self._set_velocity()
        self._x += self._vx * dt
        self._y += self._vy * dt
