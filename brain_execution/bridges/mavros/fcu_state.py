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
What MAVROS last reported about the vehicle, as one immutable value; no ROS here.

The telemetry callbacks replace the whole :class:`FcuState` on every message (with the node
clock's receipt time of each part), so the bridge's timer and commands read a consistent view
without a lock. Positions are MAVROS's: ENU in its ``map`` frame, whose origin is the EKF
origin, not necessarily home; :meth:`FcuState.local` turns them into the executor's frame
(home at the origin, z = height above home).
"""

import collections
import dataclasses
import math
import typing

__all__ = ['FcuState', 'Home', 'Pose', 'StatusText', 'with_text']


@dataclasses.dataclass(frozen=True)
class Pose:
    """A position (m) and heading (rad, ENU) in MAVROS's local frame."""

    x_m: float
    y_m: float
    z_m: float
    yaw_rad: float


@dataclasses.dataclass(frozen=True)
class Home:
    """
    Home as MAVROS reports it (``home_position/home``).

    :param position: home in MAVROS's local frame.
    :param altitude_ellipsoid_m: home's altitude, height above the WGS-84 ellipsoid (MAVROS
        converts the autopilot's AMSL to it).
    """

    position: Pose
    latitude_deg: float
    longitude_deg: float
    altitude_ellipsoid_m: float


@dataclasses.dataclass(frozen=True)
class StatusText:
    """One STATUSTEXT the autopilot sent, with its receipt time (node clock, s)."""

    stamp_s: float
    severity: int
    text: str


@dataclasses.dataclass(frozen=True)
class FcuState:
    """
    The latest of every MAVROS topic the bridge reads; times are node-clock seconds.

    A ``*_s`` time of None means that topic has not been heard yet.
    """

    connected: bool = False
    armed: bool = False
    mode: str = ''
    state_s: typing.Optional[float] = None
    landed_state: int = 0
    extended_s: typing.Optional[float] = None
    pose: typing.Optional[Pose] = None
    pose_s: typing.Optional[float] = None
    velocity: typing.Tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    latitude_deg: float = math.nan
    longitude_deg: float = math.nan
    altitude_ellipsoid_m: float = math.nan
    #: sensor_msgs/NavSatStatus.status: -1 no fix, 0 fix, 1 SBAS, 2 GBAS; None before any.
    fix_status: typing.Optional[int] = None
    global_s: typing.Optional[float] = None
    home: typing.Optional[Home] = None
    battery_percent: float = math.nan
    battery_s: typing.Optional[float] = None
    texts: typing.Tuple[StatusText, ...] = ()

    def local(self) -> typing.Optional[Pose]:
        """Return the pose relative to home (home at the origin), or None before both came."""
        if self.pose is None or self.home is None:
            return None
        h = self.home.position
        return Pose(self.pose.x_m - h.x_m, self.pose.y_m - h.y_m, self.pose.z_m - h.z_m,
                    self.pose.yaw_rad)

    def to_mavros(self, x_m: float, y_m: float, z_m: float) -> typing.Tuple[float, float, float]:
        """Return a point of the executor's frame (home at origin) in MAVROS's local frame."""
        h = self.home.position
        return x_m + h.x_m, y_m + h.y_m, z_m + h.z_m

    def reasons_since(self, since_s: float) -> str:
        """Return the STATUSTEXTs received since ``since_s``, joined, oldest first."""
        return '; '.join(t.text for t in self.texts if t.stamp_s >= since_s)


def with_text(state: FcuState, text: StatusText, *, keep: int = 20) -> FcuState:
    """Return ``state`` with one more STATUSTEXT, keeping the last ``keep``."""
    texts = collections.deque(state.texts, maxlen=keep)
    texts.append(text)
    return dataclasses.replace(state, texts=tuple(texts))
