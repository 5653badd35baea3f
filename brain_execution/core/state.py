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

"""What the executor knows about a robot at one instant, independent of the platform."""

import dataclasses
import enum
import math

__all__ = ['LandedState', 'Platform', 'RobotSnapshot']


class Platform(str, enum.Enum):
    """Kind of vehicle; decides which operations exist and how they move."""

    DRONE = 'drone'
    GROUND = 'ground'
    SURFACE = 'surface'


class LandedState(enum.IntEnum):
    """Same values as MAVROS ExtendedState.landed_state and RobotState.LANDED_*."""

    UNKNOWN = 0
    ON_GROUND = 1
    IN_AIR = 2
    TAKING_OFF = 3
    LANDING = 4


@dataclasses.dataclass(frozen=True)
class RobotSnapshot:
    """
    State of one robot, positions in the local ENU frame with home at the origin.

    Units: metres, metres per second, radians (ENU: 0 = east, counter-clockwise positive),
    percent, kilograms, seconds. Unknown values are NaN.
    """

    platform: Platform
    stamp_s: float = 0.0
    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = 0.0
    yaw_rad: float = 0.0
    vx_mps: float = 0.0
    vy_mps: float = 0.0
    vz_mps: float = 0.0
    yaw_rate_radps: float = 0.0
    latitude_deg: float = math.nan
    longitude_deg: float = math.nan
    battery_percent: float = math.nan
    armed: bool = False
    mode: str = ''
    landed_state: LandedState = LandedState.ON_GROUND
    docked: bool = False
    link_up: bool = True
    payload_id: str = ''
    payload_mass_kg: float = 0.0

    @property
    def airborne(self) -> bool:
        """Whether a drone is off the ground (taking off, flying or landing)."""
        return self.landed_state in (
            LandedState.IN_AIR, LandedState.TAKING_OFF, LandedState.LANDING)

    @property
    def speed_mps(self) -> float:
        """Ground speed plus vertical speed, as one magnitude."""
        return math.sqrt(self.vx_mps ** 2 + self.vy_mps ** 2 + self.vz_mps ** 2)

    def distance_to(self, x_m: float, y_m: float, z_m: float = None) -> float:
        """Return the straight-line distance to a point; horizontal only when z_m is None."""
        dz = 0.0 if z_m is None else z_m - self.z_m
        return math.sqrt((x_m - self.x_m) ** 2 + (y_m - self.y_m) ** 2 + dz ** 2)
