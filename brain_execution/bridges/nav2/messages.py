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
Nav2 goal poses built from local points, and what a FollowWaypoints result says.

A point without a yaw faces the way it is reached from the point before (the robot's
position for the first), since Nav2's goal checkers check the final yaw as well.
"""

import math
import typing

from brain_execution.core.errors import ExecutionError
from brain_execution.core.geo import LocalPoint
from geometry_msgs.msg import PoseStamped

from .channel import NavGoal
from .error_codes import nav2_error
from .frames import GlobalFrame, Pose2D, quaternion_from_yaw

__all__ = ['pose_stamped', 'route_abort_code', 'route_feedback', 'route_poses',
           'route_succeeded']


def route_poses(start: Pose2D, points: typing.Sequence[LocalPoint]) -> typing.List[Pose2D]:
    """Return local points as local poses, each facing its way unless it has a yaw."""
    x, y, yaw = start.x_m, start.y_m, start.yaw_rad
    poses = []
    for point in points:
        if point.yaw_rad is not None:
            yaw = point.yaw_rad
        elif math.hypot(point.x_m - x, point.y_m - y) > 1e-3:
            yaw = math.atan2(point.y_m - y, point.x_m - x)
        x, y = point.x_m, point.y_m
        poses.append(Pose2D(x, y, yaw))
    return poses


def pose_stamped(frame: GlobalFrame, pose: Pose2D, stamp) -> PoseStamped:
    """Return a local-frame pose as a PoseStamped in the global frame."""
    g = frame.to_global(pose)
    msg = PoseStamped()
    msg.header.frame_id = frame.name
    msg.header.stamp = stamp
    msg.pose.position.x, msg.pose.position.y = g.x_m, g.y_m
    q = msg.pose.orientation
    q.w, q.x, q.y, q.z = quaternion_from_yaw(g.yaw_rad)
    return msg


def route_succeeded(goal: NavGoal, result) -> typing.Optional[ExecutionError]:
    """Return the error of a route Nav2 finished past missed waypoints (stop_on_failure off)."""
    missed = list(result.missed_waypoints)
    if not missed:
        return None
    first = missed[0]
    indices = ', '.join(str(m.index) for m in missed)
    return nav2_error('follow_waypoints', first.error_code, result.error_msg,
                      context=f'waypoint {first.index} of {goal.value} (missed waypoints: '
                              f'{indices}; Nav2 went on past them)')


def route_abort_code(goal: NavGoal, result) -> typing.Tuple[int, str]:
    """Return the Nav2 code of an aborted route, and the waypoint it refers to."""
    # Jazzy's waypoint follower leaves its own error_code 0 and keeps the navigation's code
    # on the missed waypoint.
    missed = list(result.missed_waypoints)
    if result.error_code or not missed:
        return int(result.error_code), ''
    return int(missed[-1].error_code), f'waypoint {missed[-1].index} of {goal.value}'


def route_feedback(goal: NavGoal, feedback) -> None:
    """Report the waypoint Nav2 is heading for."""
    goal.handle.feedback['current_waypoint'] = int(feedback.current_waypoint)
