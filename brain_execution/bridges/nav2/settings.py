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
The Nav2 bridge's parameters (``nav2.*``): declared read-only, validated, frozen.

Names of actions, services and topics are relative to ``nav2.namespace``, the namespace Nav2
runs in (``/`` for nav2_bringup without a namespace); the defaults are Nav2's. Nav2 cannot
share the executor's namespace: both serve a ``follow_waypoints`` action.
``config/ground_nav2.yaml`` documents every parameter.
"""

import dataclasses
import math
import typing

from brain_execution.core.bridge import ArrayParameter, ParameterSource

from .frames import GlobalFrame, Pose2D

__all__ = ['QOS_NAMES', 'READINESS_SOURCES', 'Nav2Settings', 'declare_settings']

#: Readiness sources: bt_navigator's lifecycle state, the lifecycle manager, or none.
READINESS_SOURCES = ('bt_navigator', 'lifecycle_manager', 'none')
#: QoS profile names a topic parameter may take.
QOS_NAMES = ('sensor_data', 'reliable', 'transient_local')


@dataclasses.dataclass(frozen=True)
class Nav2Settings:
    """Frozen view of the ``nav2.*`` parameters (see :func:`declare_settings`)."""

    frame: GlobalFrame
    namespace: str
    robot_base_frame: str
    navigate_to_pose_action: str
    follow_waypoints_action: str
    dock_robot_action: str
    undock_robot_action: str
    behavior_tree: str
    goal_response_timeout_s: float
    readiness: str
    lifecycle_state_service: str
    is_active_service: str
    readiness_period_s: float
    readiness_timeout_s: float
    odometry_topic: str
    odometry_qos: str
    localization_topic: str
    localization_qos: str
    pose_timeout_s: float
    battery_topic: str
    battery_qos: str
    battery_timeout_s: float
    speed_limit_topic: str
    dock_type: str
    navigate_to_staging_pose: bool
    max_staging_time_s: float
    max_undocking_time_s: float
    start_docked: bool
    dock_radius_m: float

    def resolve(self, name: str) -> str:
        """Return a relative Nav2 name under ``nav2.namespace``, e.g. ``/navigate_to_pose``."""
        return f'{self.namespace.rstrip("/")}/{name}'


def _namespace(value: str) -> str:
    if not value.startswith('/') or ' ' in value or (len(value) > 1 and value.endswith('/')):
        raise ValueError(f'nav2.namespace={value!r} must be an absolute namespace: / or '
                         '/name[/name...] (the namespace Nav2 was launched in)')
    return value


def _name(value: str, parameter: str, *, may_be_empty: bool = False) -> str:
    if not value and not may_be_empty:
        raise ValueError(f'nav2.{parameter} is empty; give a name (Nav2 default in '
                         'config/ground_nav2.yaml)')
    if value.startswith('/') or ' ' in value:
        raise ValueError(f'nav2.{parameter}={value!r} must be a relative name without '
                         'spaces; it resolves under nav2.namespace')
    return value


def _choice(value: str, parameter: str, choices: typing.Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f'nav2.{parameter}={value!r} unknown; expected one of {list(choices)}')
    return value


def _home(values: typing.Sequence[float]) -> Pose2D:
    values = list(values) or [0.0, 0.0, 0.0]
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ValueError(f'nav2.home_pose={values} must be three finite numbers: x_m, y_m, '
                         'yaw_rad in the global frame')
    return Pose2D(*values)


def declare_settings(p: ParameterSource) -> Nav2Settings:
    """
    Declare every ``nav2.*`` parameter and return the validated settings.

    :raises ValueError: a value is invalid; the message names the parameter.
    """
    namespace = p.declare('namespace', '/', 'Namespace Nav2 runs in; every nav2.* name is '
                          "relative to it. Not the executor's own: both have follow_waypoints.")
    frame_name = p.declare('global_frame', 'map', 'Nav2 global frame of every goal pose '
                           "(bt_navigator's global_frame).")
    home = p.declare('home_pose', ArrayParameter.DOUBLE, 'Home in the global frame: x_m, '
                     'y_m, yaw_rad. The local frame origin, and where return_home drives; '
                     'unset = [0, 0, 0].')
    heading = p.declare('global_frame_heading_rad', 0.0, "Heading of the global frame's x "
                        'axis from east, counter-clockwise, rad; 0 for an ENU-aligned map.',
                        (-math.pi, math.pi))
    values = dict(  # noqa: C408 - keyword form keeps each parameter's declaration readable
        robot_base_frame=p.declare('robot_base_frame', 'base_link', 'Robot base frame: '
                                   "the odometry's child_frame_id, in which its twist is."),
        navigate_to_pose_action=p.declare('navigate_to_pose_action', 'navigate_to_pose',
                                          'NavigateToPose action (go_to, return_home).'),
        follow_waypoints_action=p.declare('follow_waypoints_action', 'follow_waypoints',
                                          'FollowWaypoints action (follow_waypoints).'),
        dock_robot_action=p.declare('dock_robot_action', 'dock_robot',
                                    'DockRobot action (dock).'),
        undock_robot_action=p.declare('undock_robot_action', 'undock_robot',
                                      'UndockRobot action (undock).'),
        behavior_tree=p.declare('behavior_tree', '', 'Behaviour tree XML of NavigateToPose '
                                "goals; empty = bt_navigator's default."),
        goal_response_timeout_s=p.declare(
            'goal_response_timeout_s', 5.0, 'A goal Nav2 has not answered within this many '
            's fails (COMMUNICATION_FAILURE); a late acceptance is canceled.', (0.1, 60.0)),
        readiness=p.declare('readiness', 'bt_navigator', 'Where readiness comes from: '
                            'bt_navigator (its lifecycle state), lifecycle_manager (its '
                            'is_active service) or none.'),
        lifecycle_state_service=p.declare('lifecycle_state_service', 'bt_navigator/get_state',
                                          'lifecycle_msgs/GetState service of bt_navigator.'),
        is_active_service=p.declare('is_active_service',
                                    'lifecycle_manager_navigation/is_active',
                                    'std_srvs/Trigger service of the lifecycle manager.'),
        readiness_period_s=p.declare('readiness_period_s', 1.0, 'How often readiness is '
                                     'asked, s.', (0.05, 60.0)),
        readiness_timeout_s=p.declare('readiness_timeout_s', 3.0, 'Nav2 counts as not ready '
                                      'when readiness is unanswered this long, s.',
                                      (0.1, 600.0)),
        odometry_topic=p.declare('odometry_topic', 'odom', 'nav_msgs/Odometry of the robot '
                                 '(velocity, and motion between localization fixes).'),
        odometry_qos=p.declare('odometry_qos', 'sensor_data', 'QoS of odometry_topic: '
                               'sensor_data, reliable or transient_local.'),
        localization_topic=p.declare(
            'localization_topic', 'amcl_pose', 'geometry_msgs/PoseWithCovarianceStamped '
            'fixes in the global frame (AMCL); empty = odometry is in the global frame.'),
        localization_qos=p.declare('localization_qos', 'transient_local',
                                   'QoS of localization_topic (AMCL: transient_local).'),
        pose_timeout_s=p.declare('pose_timeout_s', 1.0, 'Odometry older than this many s '
                                 'means the link to the robot is down.', (0.05, 60.0)),
        battery_topic=p.declare('battery_topic', 'battery_state', 'sensor_msgs/BatteryState '
                                'of the robot; empty = no battery reading.'),
        battery_qos=p.declare('battery_qos', 'sensor_data', 'QoS of battery_topic.'),
        battery_timeout_s=p.declare('battery_timeout_s', 10.0, 'A battery reading older '
                                    'than this many s counts as unknown.', (0.1, 3600.0)),
        speed_limit_topic=p.declare(
            'speed_limit_topic', 'speed_limit', 'nav2_msgs/SpeedLimit topic of the '
            "controller server: each goal's speed is sent there; empty = not sent."),
        dock_type=p.declare('dock_type', '', 'Dock plugin type of dock and undock goals; '
                            'empty = the docking server decides.'),
        navigate_to_staging_pose=p.declare('navigate_to_staging_pose', True,
                                           "Whether dock goals navigate to the dock's "
                                           'staging pose first.'),
        max_staging_time_s=p.declare('max_staging_time_s', 1000.0, 'Seconds Nav2 may take '
                                     'to reach the staging pose of a dock.', (1.0, 86400.0)),
        max_undocking_time_s=p.declare('max_undocking_time_s', 30.0, 'Seconds Nav2 may take '
                                       'to undock.', (1.0, 86400.0)),
        start_docked=p.declare('start_docked', False, 'Whether the robot is on its dock '
                               'when the executor starts.'),
        dock_radius_m=p.declare('dock_radius_m', 0.5, 'A docked robot found further than '
                                'this from where it docked is no longer docked, m.',
                                (0.05, 100.0)),
    )
    for parameter in ('navigate_to_pose_action', 'follow_waypoints_action',
                      'dock_robot_action', 'undock_robot_action', 'lifecycle_state_service',
                      'is_active_service', 'odometry_topic'):
        _name(values[parameter], parameter)
    for parameter in ('localization_topic', 'battery_topic', 'speed_limit_topic'):
        _name(values[parameter], parameter, may_be_empty=True)
    for parameter in ('odometry_qos', 'localization_qos', 'battery_qos'):
        _choice(values[parameter], parameter, QOS_NAMES)
    _choice(values['readiness'], 'readiness', READINESS_SOURCES)
    if not frame_name:
        raise ValueError('nav2.global_frame is empty; Nav2 goals need a frame (e.g. map)')
    if not values['robot_base_frame']:
        raise ValueError('nav2.robot_base_frame is empty (e.g. base_link)')
    frame = GlobalFrame(frame_name, home=_home(home), x_axis_heading_rad=heading)
    return Nav2Settings(frame=frame, namespace=_namespace(namespace), **values)
