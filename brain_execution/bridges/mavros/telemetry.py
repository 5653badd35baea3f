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
MAVROS's topics, subscribed with the QoS MAVROS publishes them with, into one FcuState.

* ``state``, ``extended_state``, ``home_position/home``: RELIABLE + TRANSIENT_LOCAL, depth 10
  (a late subscriber still gets the last one);
* ``local_position/pose``, ``local_position/velocity_local``, ``global_position/global``,
  ``battery``: sensor-data QoS (BEST_EFFORT): a RELIABLE subscriber would never match;
* ``statustext/recv``: RELIABLE, depth 10 (the autopilot's reasons for refusals).

Every callback replaces the whole :class:`~.fcu_state.FcuState`, stamped with the node clock
at receipt: staleness is judged on the receiver's clock, since the autopilot's stamps are
synchronised by MAVROS and may jump.
"""

import dataclasses
import math
import threading
import typing

from geometry_msgs.msg import PoseStamped, TwistStamped
from mavros_msgs.msg import ExtendedState, HomePosition, State, StatusText as StatusTextMsg
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import BatteryState, NavSatFix
import transforms3d

from .fcu_state import FcuState, Home, Pose, StatusText, with_text
from .settings import MavrosSettings

__all__ = ['LATCHED_QOS', 'SENSOR_QOS', 'STATUS_QOS', 'Telemetry', 'yaw_of']

#: MAVROS's state-like topics: reliable, transient local, depth 10.
LATCHED_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: MAVROS's sensor topics and setpoint subscriptions: best effort.
SENSOR_QOS = qos_profile_sensor_data
STATUS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.VOLATILE)


def yaw_of(q) -> float:
    """Return the heading (ENU, rad) of a geometry_msgs/Quaternion."""
    return transforms3d.euler.quat2euler((q.w, q.x, q.y, q.z), 'sxyz')[2]


class Telemetry:
    """
    The subscriptions, and the FcuState they keep current.

    :param on_change: called after every state, extended state or home message (not after
        every pose), e.g. to advance the bridge at once on a mode change.
    """

    def __init__(self, node: Node, callback_group: CallbackGroup, settings: MavrosSettings,
                 on_change: typing.Callable[[], None]):
        self._node = node
        self._on_change = on_change
        self._lock = threading.Lock()
        self.state = FcuState()
        r = settings.resolve
        subscriptions = (
            (State, 'state', LATCHED_QOS, self._on_state),
            (ExtendedState, 'extended_state', LATCHED_QOS, self._on_extended),
            (HomePosition, 'home_position/home', LATCHED_QOS, self._on_home),
            (PoseStamped, 'local_position/pose', SENSOR_QOS, self._on_pose),
            (TwistStamped, 'local_position/velocity_local', SENSOR_QOS, self._on_velocity),
            (NavSatFix, 'global_position/global', SENSOR_QOS, self._on_global),
            (BatteryState, 'battery', SENSOR_QOS, self._on_battery),
            (StatusTextMsg, 'statustext/recv', STATUS_QOS, self._on_text),
        )
        self._subscriptions = [
            node.create_subscription(kind, r(name), callback, qos,
                                     callback_group=callback_group)
            for kind, name, qos, callback in subscriptions]

    def _now(self) -> float:
        return self._node.get_clock().now().nanoseconds * 1e-9

    def _replace(self, **fields) -> None:
        with self._lock:
            self.state = dataclasses.replace(self.state, **fields)

    def _on_state(self, msg: State) -> None:
        self._replace(connected=bool(msg.connected), armed=bool(msg.armed), mode=msg.mode,
                      state_s=self._now())
        self._on_change()

    def _on_extended(self, msg: ExtendedState) -> None:
        self._replace(landed_state=int(msg.landed_state), extended_s=self._now())
        self._on_change()

    def _on_home(self, msg: HomePosition) -> None:
        p = msg.position
        home = Home(Pose(p.x, p.y, p.z, yaw_of(msg.orientation)), msg.geo.latitude,
                    msg.geo.longitude, msg.geo.altitude)
        self._replace(home=home)
        self._on_change()

    def _on_pose(self, msg: PoseStamped) -> None:
        p = msg.pose.position
        self._replace(pose=Pose(p.x, p.y, p.z, yaw_of(msg.pose.orientation)),
                      pose_s=self._now())

    def _on_velocity(self, msg: TwistStamped) -> None:
        v, w = msg.twist.linear, msg.twist.angular
        self._replace(velocity=(v.x, v.y, v.z, w.z))

    def _on_global(self, msg: NavSatFix) -> None:
        self._replace(latitude_deg=msg.latitude, longitude_deg=msg.longitude,
                      altitude_ellipsoid_m=msg.altitude, fix_status=int(msg.status.status),
                      global_s=self._now())

    def _on_battery(self, msg: BatteryState) -> None:
        # BatteryState.percentage is 0..1, NaN when unknown.
        percent = msg.percentage * 100.0 if math.isfinite(msg.percentage) else math.nan
        self._replace(battery_percent=percent, battery_s=self._now())

    def _on_text(self, msg: StatusTextMsg) -> None:
        text = StatusText(self._now(), int(msg.severity), msg.text)
        with self._lock:
            self.state = with_text(self.state, text)
