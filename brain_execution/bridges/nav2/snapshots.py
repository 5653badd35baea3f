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
The robot's snapshot, composed from what Nav2 and the robot report; no ROS here.

Position and velocity come from the telemetry (global frame, turned into the local frame),
link health from the odometry's age, ``armed`` from Nav2's readiness, the mode from the
goal Nav2 is running, and ``docked`` from the docking results: docked after a DockRobot
success (or from the start, with ``nav2.start_docked``) until an UndockRobot success or
until the robot is found ``nav2.dock_radius_m`` from where it docked.
"""

import dataclasses
import math
import typing

from brain_execution.core.geo import GeoPoint, local_to_geographic
from brain_execution.core.state import RobotSnapshot

from .frames import Pose2D
from .settings import Nav2Settings
from .telemetry import Reading

__all__ = ['MODES', 'SnapshotComposer']

#: RobotState.mode while Nav2 runs a goal, by the command that sent it.
MODES = {'go_to': 'NAVIGATING', 'return_home': 'RETURNING_HOME',
         'follow_waypoints': 'FOLLOWING_WAYPOINTS', 'dock': 'DOCKING', 'undock': 'UNDOCKING'}


class SnapshotComposer:
    """
    Turn readings into snapshots, keeping track of the dock; not thread-safe (lock around it).

    :param settings: the ``nav2.*`` parameters.
    :param home: geographic position of the local origin, for latitude and longitude.
    """

    def __init__(self, settings: Nav2Settings, home: GeoPoint):
        self._settings = settings
        self._home = home
        self._odometry_topic = settings.resolve(settings.odometry_topic)
        self.docked = settings.start_docked
        self._dock_pose: typing.Optional[Pose2D] = None

    def docked_at(self, pose: typing.Optional[Pose2D]) -> None:
        """Record a docking success, the robot at pose (global frame)."""
        self.docked, self._dock_pose = True, pose

    def undocked(self) -> None:
        """Record an undocking success."""
        self.docked, self._dock_pose = False, None

    def compose(self, previous: RobotSnapshot, reading: Reading, *, ready: bool,
                activity: typing.Optional[str], now_ns: int
                ) -> typing.Tuple[RobotSnapshot, str]:
        """
        Return the new snapshot, and why the link is down (empty when it is up).

        :param activity: the command whose goal Nav2 runs, or None.
        :param now_ns: the node clock, for the readings' ages.
        """
        s = self._settings
        problem = reading.problem
        if not problem:
            age_s = (now_ns - reading.odometry_ns) * 1e-9
            if age_s > s.pose_timeout_s:
                problem = (f'no odometry from {self._odometry_topic} for {age_s:.1f} s '
                           f'(nav2.pose_timeout_s {s.pose_timeout_s:.1f} s)')
        pose = reading.pose
        if pose is not None and self.docked:
            if self._dock_pose is None:
                self._dock_pose = pose
            elif pose.distance_to(self._dock_pose) > s.dock_radius_m:
                self.undocked()
        fields = {}
        if pose is not None:
            local = s.frame.to_local(pose)
            vx, vy = s.frame.velocity_to_local(*reading.velocity[:2])
            geo = local_to_geographic(self._home, local.x_m, local.y_m)
            fields = {'x_m': local.x_m, 'y_m': local.y_m, 'yaw_rad': local.yaw_rad,
                      'vx_mps': vx, 'vy_mps': vy, 'yaw_rate_radps': reading.velocity[2],
                      'latitude_deg': geo.latitude_deg, 'longitude_deg': geo.longitude_deg}
        battery = reading.battery_percent
        if reading.battery_ns is None or now_ns - reading.battery_ns > s.battery_timeout_s * 1e9:
            battery = math.nan
        if problem:
            mode = 'NO_POSE'
        elif not ready:
            mode = 'NOT_READY'
        elif activity is not None:
            mode = MODES[activity]
        else:
            mode = 'DOCKED' if self.docked else 'IDLE'
        snapshot = dataclasses.replace(
            previous, stamp_s=(reading.odometry_ns or 0) * 1e-9, battery_percent=battery,
            armed=ready, mode=mode, docked=self.docked, link_up=not problem, **fields)
        return snapshot, problem
