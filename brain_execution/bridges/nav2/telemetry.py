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
What a Nav2 robot reports about itself, from topics every Nav2 robot has (no tf2).

* Odometry (``nav2.odometry_topic``, nav_msgs/Odometry): velocity, and the motion between
  two localization fixes; its age is the link's health.
* Localization fixes (``nav2.localization_topic``, AMCL's ``amcl_pose``): the pose in the
  global frame, carried forward by odometry (see :mod:`.pose_tracker`). Without one, the
  odometry must be in the global frame (robot_localization publishing in ``map``, say).
* Battery (``nav2.battery_topic``, sensor_msgs/BatteryState, as opennav_docking reads it).

Best-effort subscriptions (``sensor_data``) match reliable publishers too; AMCL publishes
reliable and transient-local, which is what ``transient_local`` subscribes with.
"""

import dataclasses
import math
import threading
import typing

from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy)
from rclpy.time import Time
from sensor_msgs.msg import BatteryState

from .frames import Pose2D, yaw_from_quaternion
from .pose_tracker import PoseTracker
from .settings import Nav2Settings

__all__ = ['Reading', 'Telemetry', 'qos_profile']

_QOS = {
    'sensor_data': qos_profile_sensor_data,
    'reliable': QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.VOLATILE),
    'transient_local': QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                  durability=DurabilityPolicy.TRANSIENT_LOCAL),
}


def qos_profile(name: str) -> QoSProfile:
    """Return the QoS profile of a ``nav2.*_qos`` name."""
    return _QOS[name]


@dataclasses.dataclass(frozen=True)
class Reading:
    """
    The latest of everything, in the global frame; times on the node clock (ns).

    :param pose: None until a pose is known (odometry, and a fix when fixes are used).
    :param problem: why there is no usable pose; empty when there is one.
    """

    pose: typing.Optional[Pose2D] = None
    velocity: typing.Tuple[float, float, float] = (0.0, 0.0, 0.0)
    odometry_ns: typing.Optional[int] = None
    battery_percent: float = math.nan
    battery_ns: typing.Optional[int] = None
    problem: str = 'no odometry received yet'


def _stamp_s(header) -> float:
    return Time.from_msg(header.stamp).nanoseconds * 1e-9


def _pose(pose) -> Pose2D:
    q = pose.orientation
    return Pose2D(pose.position.x, pose.position.y, yaw_from_quaternion(q.w, q.x, q.y, q.z))


class Telemetry:
    """
    Subscriptions to the robot's odometry, localization and battery; read from any thread.

    :param on_update: called after every new reading (from the bridge's callback group).
    """

    def __init__(self, node: Node, callback_group: CallbackGroup, settings: Nav2Settings,
                 on_update: typing.Callable[[], None]):
        self._node = node
        self._settings = settings
        self._on_update = on_update
        self._frame = settings.frame.name
        self._odometry_topic = settings.resolve(settings.odometry_topic)
        self._fix_topic = settings.resolve(settings.localization_topic)
        self._tracker = PoseTracker(uses_fixes=bool(settings.localization_topic))
        self._lock = threading.Lock()
        self._reading = Reading()
        self._odometry_problem = ''
        self._warned: typing.Set[str] = set()
        node.create_subscription(Odometry, self._odometry_topic, self._on_odometry,
                                 qos_profile(settings.odometry_qos),
                                 callback_group=callback_group)
        if settings.localization_topic:
            node.create_subscription(
                PoseWithCovarianceStamped, self._fix_topic, self._on_fix,
                qos_profile(settings.localization_qos), callback_group=callback_group)
        if settings.battery_topic:
            node.create_subscription(BatteryState, settings.resolve(settings.battery_topic),
                                     self._on_battery,
                                     qos_profile(settings.battery_qos),
                                     callback_group=callback_group)

    @property
    def reading(self) -> Reading:
        """Return the latest of everything the robot reported (immutable)."""
        return self._reading

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._node.get_logger().warning(message)

    def _on_odometry(self, msg: Odometry) -> None:
        if msg.child_frame_id and msg.child_frame_id != self._settings.robot_base_frame:
            self._warn_once('child', f'{self._odometry_topic}: child_frame_id '
                                     f'{msg.child_frame_id!r} is not nav2.robot_base_frame '
                                     f'{self._settings.robot_base_frame!r}; its twist is '
                                     'taken as the robot base frame anyway')
        problem = ''
        if not self._tracker.uses_fixes and msg.header.frame_id != self._frame:
            problem = (f'{self._odometry_topic} is in frame '
                       f'{msg.header.frame_id!r}, not the global frame {self._frame!r}; set '
                       'nav2.localization_topic (e.g. amcl_pose)')
            self._warn_once('odom', problem)
        twist = msg.twist.twist
        with self._lock:
            self._odometry_problem = problem
            if not problem:
                self._tracker.add_odometry(_stamp_s(msg.header), _pose(msg.pose.pose),
                                           twist.linear.x, twist.linear.y, twist.angular.z)
            self._update(odometry_ns=self._now_ns())
        self._on_update()

    def _on_fix(self, msg: PoseWithCovarianceStamped) -> None:
        if msg.header.frame_id != self._frame:
            self._warn_once('fix', f'{self._fix_topic} is in frame '
                                   f'{msg.header.frame_id!r}, not the global frame '
                                   f'{self._frame!r}; its fixes are ignored')
            return
        with self._lock:
            self._tracker.add_fix(_stamp_s(msg.header), _pose(msg.pose.pose))
            self._update()
        self._on_update()

    def _on_battery(self, msg: BatteryState) -> None:
        percent = msg.percentage * 100.0 if math.isfinite(msg.percentage) else math.nan
        with self._lock:
            self._update(battery_percent=percent, battery_ns=self._now_ns())
        self._on_update()

    def _update(self, **changes) -> None:
        pose = self._tracker.pose()
        reading = dataclasses.replace(self._reading, pose=pose,
                                      velocity=self._tracker.velocity(), **changes)
        if self._odometry_problem:
            problem = self._odometry_problem
        elif reading.odometry_ns is None:
            problem = f'no odometry from {self._odometry_topic} yet'
        elif pose is None:
            problem = (f'no fix from {self._fix_topic} yet (is the '
                       'localizer running, and given an initial pose?)')
        else:
            problem = ''
        self._reading = dataclasses.replace(reading, problem=problem)
