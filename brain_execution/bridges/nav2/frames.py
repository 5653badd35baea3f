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
Poses in the plane, and the map between Nav2's global frame and the executor's local frame.

The executor works in a local ENU frame: metres east and north of home, yaw 0 = east,
counter-clockwise positive (REP-103). Nav2 works in its global frame (``map`` by default).
The two differ by home's pose in the global frame and by the heading of the global frame's x
axis: 0 when the map is ENU-aligned, as REP-105 asks of outdoor maps and as
robot_localization's navsat_transform makes it.
"""

import dataclasses
import math
import typing

import transforms3d

__all__ = ['GlobalFrame', 'Pose2D', 'quaternion_from_yaw', 'wrap_angle', 'yaw_from_quaternion']


def wrap_angle(angle_rad: float) -> float:
    """Return the angle in [-pi, pi)."""
    return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi


def yaw_from_quaternion(w: float, x: float, y: float, z: float) -> float:
    """Return the heading (rotation about z) of a quaternion, radians."""
    return transforms3d.euler.quat2euler((w, x, y, z), 'sxyz')[2]


def quaternion_from_yaw(yaw_rad: float) -> typing.Tuple[float, float, float, float]:
    """Return the quaternion (w, x, y, z) of a rotation by yaw_rad about z."""
    return tuple(transforms3d.euler.euler2quat(0.0, 0.0, yaw_rad, 'sxyz'))


@dataclasses.dataclass(frozen=True)
class Pose2D:
    """A pose in the plane: metres and radians, in whichever frame the holder says."""

    x_m: float
    y_m: float
    yaw_rad: float

    def compose(self, other: 'Pose2D') -> 'Pose2D':
        """Return this pose applied to other (other expressed in this pose's frame)."""
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return Pose2D(self.x_m + c * other.x_m - s * other.y_m,
                      self.y_m + s * other.x_m + c * other.y_m,
                      wrap_angle(self.yaw_rad + other.yaw_rad))

    def inverse(self) -> 'Pose2D':
        """Return the pose that composes with this one to the identity."""
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return Pose2D(-c * self.x_m - s * self.y_m, s * self.x_m - c * self.y_m,
                      wrap_angle(-self.yaw_rad))

    def distance_to(self, other: 'Pose2D') -> float:
        """Return the distance between the two positions, metres."""
        return math.hypot(other.x_m - self.x_m, other.y_m - self.y_m)


class GlobalFrame:
    """
    Nav2's global frame as seen from the executor's local ENU frame.

    :param name: the frame id, e.g. ``map``.
    :param home: home's pose in the global frame: the local frame's origin; its yaw is the
        heading the robot takes when it returns home.
    :param x_axis_heading_rad: heading of the global frame's x axis in ENU (0 = east).
    """

    def __init__(self, name: str, *, home: Pose2D, x_axis_heading_rad: float = 0.0):
        self.name = name
        self.home = home
        # local = rotation(heading) * (global - home position); yaw_local = yaw_global + heading
        self._heading = x_axis_heading_rad
        self._to_local = Pose2D(0.0, 0.0, x_axis_heading_rad).compose(
            Pose2D(-home.x_m, -home.y_m, 0.0))
        self._to_global = self._to_local.inverse()

    def to_local(self, pose: Pose2D) -> Pose2D:
        """Return a global-frame pose in the local ENU frame."""
        return self._to_local.compose(pose)

    def to_global(self, pose: Pose2D) -> Pose2D:
        """Return a local ENU pose in the global frame."""
        return self._to_global.compose(pose)

    def velocity_to_local(self, vx_mps: float, vy_mps: float) -> typing.Tuple[float, float]:
        """Return a global-frame velocity vector in the local ENU frame."""
        c, s = math.cos(self._heading), math.sin(self._heading)
        return c * vx_mps - s * vy_mps, s * vx_mps + c * vy_mps
