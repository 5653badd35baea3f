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
A robot's state in standard message types, for RViz, Foxglove, mapviz and rosbag tools.

The executor hands every ``RobotState`` it publishes to :meth:`StandardViews.publish`, which
publishes, in the robot's namespace:

* ``fix`` (``sensor_msgs/NavSatFix``, frame ``<ns>/base_link``): latitude and longitude.
  Altitude is NaN: the executor knows the height above home (``odom``'s z), not above the
  WGS-84 ellipsoid.
* ``odom`` (``nav_msgs/Odometry``): pose in ``<ns>/odom``, the executor's local ENU frame
  with home at the origin (REP-105), twist in ``<ns>/base_link``.
* ``path`` (``nav_msgs/Path``, frame ``<ns>/odom``): the robot's trail, a pose every
  ``views.trail_spacing_m`` metres, the last ``views.trail_length`` of them; sent when it
  grew (at most twice a second) and every 2 s.
* ``geofence`` (``geometry_msgs/PolygonStamped``, frame ``<ns>/odom``, transient local):
  the envelope's fence; the coordinator draws it in ``/execution/markers``.
* ``/tf`` (``<ns>/odom`` -> ``<ns>/base_link``) and ``/tf_static`` (``map`` ->
  ``<ns>/odom``, home's offset from ``views.map_origin``), so that one fixed ``map`` frame
  shows the whole fleet. ``views.publish_tf: false`` leaves TF to the platform stack.
* ``/diagnostics`` (``diagnostic_msgs/DiagnosticArray``, ``views.diagnostics_rate_hz``):
  ``brain_execution/<robot_id>/battery`` (WARN below the envelope's return-home level,
  ERROR below 10 %, STALE when unknown), ``.../link`` (ERROR while the platform link is
  lost), ``.../emergency_stop`` (WARN while latched), ``.../bridge`` (bridge, mode, armed).

``<ns>`` is the node's namespace without its leading slash (``drone1``,
``site_a/drone1``). Nothing here waits or keeps more than the bounded trail.
"""

import collections
import math
import typing

from brain_execution.core.geo import geographic_to_local, GeoPoint
from brain_execution_interfaces.msg import RobotState
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point32, PolygonStamped, PoseStamped, TransformStamped
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import NavSatFix, NavSatStatus
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from .config import ExecutorConfig, NodeParameters

__all__ = ['BATTERY_ERROR_PERCENT', 'StandardViews', 'frame_prefix', 'LATCHED_QOS',
           'TF_QOS']

BATTERY_ERROR_PERCENT = 10.0

LATCHED_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
# What tf2_ros' TransformBroadcaster uses.
TF_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                    reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE)
_VIEW_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)
_PATH_PERIOD_S = 0.5
_PATH_REPEAT_S = 1.5


def frame_prefix(namespace: str) -> str:
    """Return the frame prefix of a namespace: ``/site_a/drone1`` -> ``site_a/drone1``."""
    return namespace.strip('/')


def _stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def _level(status: DiagnosticStatus, level, message: str) -> DiagnosticStatus:
    status.level, status.message = level, message
    return status


class StandardViews:
    """
    Publish one robot's state in standard types (see the module docstring).

    ROS Parameters (read-only, declared on the executor node):

    * views.map_frame (str): the fleet's fixed frame, parent of ``<ns>/odom``.
    * views.map_origin.latitude_deg, views.map_origin.longitude_deg (float): origin of the
      map frame, WGS-84 degrees; default = this robot's home (map and odom coincide).
    * views.publish_tf (bool): publish ``/tf`` and ``/tf_static``.
    * views.trail_length (int): poses kept in ``path``.
    * views.trail_spacing_m (float): distance between two poses of the trail, m.
    * views.diagnostics_rate_hz (float): rate of ``/diagnostics``, Hz.

    :param node: the robot executor node.
    :param config: its configuration (robot id, home, envelope).
    """

    def __init__(self, node: Node, config: ExecutorConfig, *,
                 extra_statuses: typing.Callable[[], typing.List[DiagnosticStatus]] = None):
        # Statuses the node adds to each /diagnostics round (e.g. its operation record).
        self._extra_statuses = extra_statuses or (lambda: [])
        p = NodeParameters(node, 'views')
        self._map_frame = p.declare('map_frame', 'map', "The fleet's fixed frame, parent of "
                                    '<namespace>/odom.')
        origin = GeoPoint(
            p.declare('map_origin.latitude_deg', config.home.latitude_deg,
                      'Origin of the map frame, WGS-84 latitude in degrees; default = home.',
                      (-90.0, 90.0)),
            p.declare('map_origin.longitude_deg', config.home.longitude_deg,
                      'Origin of the map frame, WGS-84 longitude in degrees; default = home.',
                      (-180.0, 180.0)))
        self._publish_tf = p.declare('publish_tf', True, 'Publish /tf (odom -> base_link) '
                                     'and /tf_static (map -> odom).')
        trail_length = p.declare('trail_length', 500, 'Poses kept in the path trail.',
                                 (2, 100000))
        self._trail_spacing_m = p.declare('trail_spacing_m', 1.0, 'Distance between two poses '
                                          'of the path trail, m.', (0.01, 1000.0))
        self._diagnostics_period_s = 1.0 / p.declare(
            'diagnostics_rate_hz', 1.0, 'Rate of the robot statuses on /diagnostics, Hz.',
            (0.1, 50.0))
        prefix = frame_prefix(node.get_namespace())
        self._odom_frame = f'{prefix}/odom' if prefix else 'odom'
        self._base_frame = f'{prefix}/base_link' if prefix else 'base_link'
        self._robot_id = config.robot_id
        self._return_home_percent = config.envelope.return_home_battery_percent
        self._trail: typing.Deque[PoseStamped] = collections.deque(maxlen=trail_length)
        self._next_path_s = 0.0
        self._trail_changed = False
        self._next_diagnostics_s = 0.0

        self._fix_pub = node.create_publisher(NavSatFix, 'fix', _VIEW_QOS)
        self._odom_pub = node.create_publisher(Odometry, 'odom', _VIEW_QOS)
        self._path_pub = node.create_publisher(Path, 'path', _VIEW_QOS)
        self._fence_pub = node.create_publisher(PolygonStamped, 'geofence', LATCHED_QOS)
        self._diag_pub = node.create_publisher(DiagnosticArray, '/diagnostics', _VIEW_QOS)
        self._tf_pub = node.create_publisher(TFMessage, '/tf', TF_QOS) \
            if self._publish_tf else None

        now = node.get_clock().now().to_msg()
        fence = PolygonStamped()
        fence.header.stamp, fence.header.frame_id = now, self._odom_frame
        fence.polygon.points = [Point32(x=float(x), y=float(y), z=0.0)
                                for x, y in config.envelope.geofence]
        self._fence_pub.publish(fence)
        if self._publish_tf:
            offset = geographic_to_local(origin, config.home)
            static = TransformStamped()
            static.header.stamp, static.header.frame_id = now, self._map_frame
            static.child_frame_id = self._odom_frame
            static.transform.translation.x = offset.x_m
            static.transform.translation.y = offset.y_m
            static.transform.rotation.w = 1.0
            self._static_pub = node.create_publisher(TFMessage, '/tf_static', LATCHED_QOS)
            self._static_pub.publish(TFMessage(transforms=[static]))

    def publish(self, state: RobotState) -> None:
        """Publish the views of one robot_state message (called by the state timer)."""
        self._fix_pub.publish(self._fix(state))
        odom = self._odometry(state)
        self._odom_pub.publish(odom)
        if self._tf_pub is not None:
            transform = TransformStamped()
            transform.header = odom.header
            transform.child_frame_id = self._base_frame
            p, q = state.pose.position, state.pose.orientation
            transform.transform.translation.x = p.x
            transform.transform.translation.y = p.y
            transform.transform.translation.z = p.z
            transform.transform.rotation = q
            self._tf_pub.publish(TFMessage(transforms=[transform]))
        now_s = _stamp_s(state.header.stamp)
        self._extend_trail(odom)
        # When it grew, at most every _PATH_PERIOD_S; at least every _PATH_REPEAT_S for
        # displays started later.
        if now_s >= self._next_path_s + (0.0 if self._trail_changed else _PATH_REPEAT_S):
            self._next_path_s = now_s + _PATH_PERIOD_S
            self._trail_changed = False
            path = Path()
            path.header.stamp, path.header.frame_id = state.header.stamp, self._odom_frame
            path.poses = list(self._trail)
            self._path_pub.publish(path)
        if now_s >= self._next_diagnostics_s:
            self._next_diagnostics_s = now_s + self._diagnostics_period_s
            self._diag_pub.publish(DiagnosticArray(header=Header(stamp=state.header.stamp),
                                                   status=self.statuses(state)
                                                   + self._extra_statuses()))

    def _fix(self, state: RobotState) -> NavSatFix:
        fix = NavSatFix()
        fix.header.stamp, fix.header.frame_id = state.header.stamp, self._base_frame
        known = math.isfinite(state.latitude_deg) and math.isfinite(state.longitude_deg)
        fix.status.status = NavSatStatus.STATUS_FIX if known and state.link_up else \
            NavSatStatus.STATUS_NO_FIX
        fix.status.service = NavSatStatus.SERVICE_GPS
        fix.latitude, fix.longitude = state.latitude_deg, state.longitude_deg
        fix.altitude = math.nan
        fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
        return fix

    def _odometry(self, state: RobotState) -> Odometry:
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id = state.header.stamp, self._odom_frame
        odom.child_frame_id = self._base_frame
        odom.pose.pose = state.pose
        # RobotState's velocity is in the local (odom) frame; Odometry's twist is in the
        # child frame, so it is turned by the robot's yaw.
        q = state.pose.orientation
        yaw = math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))
        v = state.velocity.linear
        cos_yaw, sin_yaw = math.cos(yaw), math.sin(yaw)
        odom.twist.twist.linear.x = cos_yaw * v.x + sin_yaw * v.y
        odom.twist.twist.linear.y = -sin_yaw * v.x + cos_yaw * v.y
        odom.twist.twist.linear.z = v.z
        odom.twist.twist.angular = state.velocity.angular
        return odom

    def _extend_trail(self, odom: Odometry) -> None:
        position = odom.pose.pose.position
        if self._trail:
            last = self._trail[-1].pose.position
            if math.dist((last.x, last.y, last.z),
                         (position.x, position.y, position.z)) < self._trail_spacing_m:
                return
        self._trail.append(PoseStamped(header=odom.header, pose=odom.pose.pose))
        self._trail_changed = True

    def statuses(self, state: RobotState) -> typing.List[DiagnosticStatus]:
        """Return the battery, link, emergency-stop and bridge statuses of one state."""
        def status(kind: str, values: typing.Dict[str, typing.Any]) -> DiagnosticStatus:
            return DiagnosticStatus(
                name=f'brain_execution/{self._robot_id}/{kind}', hardware_id=self._robot_id,
                values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])

        battery = status('battery', {'percent': '%.1f' % state.battery_percent,
                                     'return_home_percent': self._return_home_percent})
        if not math.isfinite(state.battery_percent):
            _level(battery, DiagnosticStatus.STALE, 'battery level unknown')
        elif state.battery_percent < BATTERY_ERROR_PERCENT:
            _level(battery, DiagnosticStatus.ERROR, f'battery at {state.battery_percent:.0f} %')
        elif state.battery_percent < self._return_home_percent:
            _level(battery, DiagnosticStatus.WARN,
                   f'battery at {state.battery_percent:.0f} %, below the return-home level')
        else:
            _level(battery, DiagnosticStatus.OK, f'battery at {state.battery_percent:.0f} %')
        link = status('link', {'link_up': state.link_up})
        if state.link_up:
            _level(link, DiagnosticStatus.OK, 'platform link up')
        else:
            _level(link, DiagnosticStatus.ERROR, 'platform link lost')
        estop = status('emergency_stop', {'latched': state.emergency_stop_active})
        if state.emergency_stop_active:
            _level(estop, DiagnosticStatus.WARN,
                   'emergency stop latched: motion refused until released')
        else:
            _level(estop, DiagnosticStatus.OK, 'not latched')
        bridge = status('bridge', {'bridge': state.bridge, 'mode': state.mode,
                                   'armed': state.armed, 'docked': state.docked,
                                   'active_operations': len(state.active_operations)})
        _level(bridge, DiagnosticStatus.OK, f'{state.bridge} bridge, mode {state.mode or "-"}')
        return [battery, link, estop, bridge]
