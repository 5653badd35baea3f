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
The robot's pose in the global frame from odometry and localization fixes, without tf2.

Nav2 robots publish odometry (nav_msgs/Odometry: smooth, continuous, in ``odom``, which
drifts) and a localizer's fixes in the global frame (AMCL's ``amcl_pose``: exact but sparse,
one per 0.25 m or 0.2 rad of motion). tf2 chains them as map -> odom -> base_link; this does
the same from the two topics: each fix, against the odometry of its own stamp, gives the
map -> odom correction, which then carries every newer odometry sample into the global frame.
With no localizer, odometry must already be in the global frame.
"""

import collections
import math
import typing

from .frames import Pose2D, wrap_angle

__all__ = ['PoseTracker']


class _Sample(typing.NamedTuple):
    stamp_s: float
    pose: Pose2D


class PoseTracker:
    """
    Latest global pose and velocity of the robot.

    Stamps are the messages' header stamps (the robot's clock), so a fix is matched with the
    odometry of the same instant whatever the transport delay.

    :param uses_fixes: whether poses come from odometry corrected by fixes (True) or from
        odometry alone, which is then in the global frame.
    :param history_s: odometry kept to match late fixes; an older fix is matched with the
        oldest sample kept.
    """

    def __init__(self, *, uses_fixes: bool, history_s: float = 10.0):
        self.uses_fixes = uses_fixes
        self._history_s = history_s
        self._odometry: typing.Deque[_Sample] = collections.deque()
        self._correction: typing.Optional[Pose2D] = None if uses_fixes else Pose2D(0, 0, 0)
        self._velocity = (0.0, 0.0, 0.0)
        self._pending_fix: typing.Optional[typing.Tuple[float, Pose2D]] = None

    def add_odometry(self, stamp_s: float, pose: Pose2D, forward_mps: float, left_mps: float,
                     yaw_rate_radps: float) -> None:
        """
        Record an odometry sample: pose in the odometry frame, twist in the robot's frame.

        A stamp older than the newest one means the source restarted (a simulation reset, a
        replayed bag): the history is dropped rather than matched across the jump.
        """
        if self._odometry and stamp_s < self._odometry[-1].stamp_s:
            self._odometry.clear()
        self._odometry.append(_Sample(stamp_s, pose))
        while self._odometry and stamp_s - self._odometry[0].stamp_s > self._history_s:
            self._odometry.popleft()
        self._velocity = (forward_mps, left_mps, yaw_rate_radps)
        self._apply_fix()

    def add_fix(self, stamp_s: float, pose: Pose2D) -> None:
        """
        Record a localization fix (global frame).

        A fix that comes before any odometry (AMCL's latched last pose, delivered as soon as
        the subscription matches) is kept until the first odometry sample: AMCL publishes
        again only once the robot has moved.

        :raises ValueError: the tracker was built without fixes.
        """
        if not self.uses_fixes:
            raise ValueError('this tracker takes its global pose from odometry alone')
        self._pending_fix = (stamp_s, pose)
        self._apply_fix()

    def _apply_fix(self) -> None:
        if self._pending_fix is None or not self._odometry:
            return
        stamp_s, pose = self._pending_fix
        self._pending_fix = None
        self._correction = pose.compose(self._odometry_at(stamp_s).inverse())

    def pose(self) -> typing.Optional[Pose2D]:
        """Return the latest global pose, or None before the first odometry (and fix)."""
        if self._correction is None or not self._odometry:
            return None
        return self._correction.compose(self._odometry[-1].pose)

    def velocity(self) -> typing.Tuple[float, float, float]:
        """Return the velocity in the global frame: vx, vy (m/s) and the yaw rate (rad/s)."""
        pose = self.pose()
        forward, left, yaw_rate = self._velocity
        if pose is None:
            return 0.0, 0.0, yaw_rate
        c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
        return c * forward - s * left, s * forward + c * left, yaw_rate

    def _odometry_at(self, stamp_s: float) -> Pose2D:
        """Return the odometry pose at stamp_s, interpolated; clamped to the history kept."""
        samples = self._odometry
        if stamp_s >= samples[-1].stamp_s:
            return samples[-1].pose
        if stamp_s <= samples[0].stamp_s:
            return samples[0].pose
        # Fixes are recent, so the bracketing pair is near the newest end.
        for i in range(len(samples) - 1, 0, -1):
            before, after = samples[i - 1], samples[i]
            if before.stamp_s <= stamp_s:
                span = after.stamp_s - before.stamp_s
                t = (stamp_s - before.stamp_s) / span if span > 0.0 else 1.0
                a, b = before.pose, after.pose
                return Pose2D(a.x_m + t * (b.x_m - a.x_m), a.y_m + t * (b.y_m - a.y_m),
                              wrap_angle(a.yaw_rad + t * wrap_angle(b.yaw_rad - a.yaw_rad)))
        return samples[0].pose
