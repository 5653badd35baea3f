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
A :class:`~brain_execution.core.bridge.PlatformBridge` over Nav2's action servers.

* go_to and return_home send a NavigateToPose goal (return_home: to ``nav2.home_pose``);
  follow_waypoints a FollowWaypoints goal; dock and undock DockRobot and UndockRobot goals.
  Each goal's speed goes to the controller server's ``speed_limit`` topic first.
* hold, disarm and emergency_stop cancel every goal the bridge sent; Nav2's controller
  stops the robot when its goal is canceled. They are acknowledged once Nav2 accepted every
  cancel. A new goal of another action waits for the previous one to end (see
  :mod:`.dispatch`).
* Poses are in ``nav2.global_frame``; the local frame is that frame moved to
  ``nav2.home_pose`` (see :mod:`.frames`). A goal without a yaw faces its direction of
  travel, since Nav2's goal checkers check the final yaw.
* A goal's acceptance acknowledges its handle; Nav2's SUCCEEDED finishes it and an abort
  interrupts it with Nav2's code mapped (see :mod:`.error_codes`). Goals are refused at once
  while Nav2 is not active (PLATFORM_NOT_READY) or the link is down (COMMUNICATION_FAILURE).
* Nav2 has no camera, gripper or data link: those operations are unsupported.
"""

import math
import threading
import typing

from brain_execution.core.bridge import CommandHandle, PlatformBridge
from brain_execution.core.catalog import operations_for
from brain_execution.core.errors import (
    CommunicationError, ExecutionError, PlatformNotReadyError, UnsupportedOperationError)
from brain_execution.core.geo import GeoPoint, LocalPoint
from brain_execution.core.state import Platform, RobotSnapshot
from geometry_msgs.msg import PoseStamped
from nav2_msgs.action import DockRobot, FollowWaypoints, NavigateToPose, UndockRobot
from nav2_msgs.msg import SpeedLimit
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node

from . import messages
from .channel import ActionChannel, NavGoal
from .dispatch import GoalDispatcher
from .error_codes import nav2_error
from .frames import Pose2D
from .readiness import Readiness
from .settings import Nav2Settings
from .snapshots import SnapshotComposer
from .telemetry import qos_profile, Telemetry
from ..serial_calls import SerialCalls

__all__ = ['Nav2Bridge', 'UNSUPPORTED']

_NO_CAMERA = 'Nav2 has no camera interface; drive the camera through its own driver'
_NO_PAYLOAD = 'Nav2 has no gripper or payload interface'
#: What Nav2 cannot do, with the reason given to callers (UNSUPPORTED).
UNSUPPORTED: typing.Mapping[str, str] = {
    'capture_image': _NO_CAMERA,
    'record_video': _NO_CAMERA,
    'scan_area': 'scan_area captures images along its sweep, and ' + _NO_CAMERA,
    'pickup': _NO_PAYLOAD,
    'dropoff': _NO_PAYLOAD,
    'send_data': 'Nav2 has no data link of its own',
}


class Nav2Bridge(PlatformBridge):
    """
    A ground robot (or surface vessel) navigated by Nav2.

    :param platform: ground or surface.
    :param settings: the ``nav2.*`` parameters.
    :param home: geographic position of the local origin, for latitude and longitude.
    :param request_tick: asks the executor to advance the operations now.
    """

    name = 'nav2'

    def __init__(self, *, platform: Platform, settings: Nav2Settings, home: GeoPoint,
                 request_tick: typing.Callable[[], None] = lambda: None):
        super().__init__(platform)
        self._settings = settings
        self._frame = settings.frame
        self._request_tick = request_tick
        # Commands (tick and goal threads) and callbacks (the bridge's group) both compose.
        self._lock = threading.Lock()
        self._composer = SnapshotComposer(settings, home)
        self._snapshot = RobotSnapshot(platform=platform, link_up=False, mode='NO_POSE',
                                       battery_percent=math.nan, docked=settings.start_docked)
        self._link_problem = 'no odometry received yet'
        self._node: typing.Optional[Node] = None

    # --- life ----------------------------------------------------------------------------

    def setup(self, *, node: Node, callback_group: CallbackGroup) -> None:
        """
        Create the action clients, readiness poll, subscriptions and publisher.

        :raises ValueError: a Nav2 action would be one of the executor's own action names.
        """
        s = self._settings
        own = {node.resolve_topic_name(spec.name) for spec in operations_for(self.platform)}
        for parameter in ('navigate_to_pose_action', 'follow_waypoints_action',
                          'dock_robot_action', 'undock_robot_action'):
            name = s.resolve(getattr(s, parameter))
            if name in own:
                raise ValueError(
                    f'nav2.{parameter} is {name}, an action of this executor itself; run Nav2 '
                    f'in a namespace of its own and set nav2.namespace (now {s.namespace})')
        self._node = node
        self._serial = SerialCalls(node, callback_group)
        self._readiness = Readiness(node, callback_group, s, self._refresh)
        common = {'node': node, 'serial': self._serial, 'readiness': self._readiness,
                  'response_timeout_s': s.goal_response_timeout_s,
                  'request_tick': self._request_tick}
        self._navigate = ActionChannel(action_type=NavigateToPose, kind='navigate_to_pose',
                                       name=s.resolve(s.navigate_to_pose_action), **common)
        self._follow = ActionChannel(
            action_type=FollowWaypoints, kind='follow_waypoints',
            name=s.resolve(s.follow_waypoints_action), succeeded=messages.route_succeeded,
            abort_code=messages.route_abort_code, on_feedback=messages.route_feedback,
            **common)
        self._dock = ActionChannel(action_type=DockRobot, kind='dock_robot',
                                   name=s.resolve(s.dock_robot_action),
                                   succeeded=self._on_docked, **common)
        self._undock = ActionChannel(action_type=UndockRobot, kind='undock_robot',
                                     name=s.resolve(s.undock_robot_action),
                                     succeeded=self._on_undocked, **common)
        self._speed_limit = None
        if s.speed_limit_topic:
            self._speed_limit = node.create_publisher(
                SpeedLimit, s.resolve(s.speed_limit_topic), qos_profile('transient_local'))
        self._dispatch = GoalDispatcher(
            (self._navigate, self._follow, self._dock, self._undock),
            before_send=self._send_speed, now_ns=self._now_ns,
            handover_timeout_s=s.goal_response_timeout_s, request_tick=self._request_tick)
        self._telemetry = Telemetry(node, callback_group, s, self._refresh)

    def unsupported_operations(self) -> typing.Mapping[str, str]:
        """Return the camera, payload and data-link operations, which Nav2 lacks."""
        return UNSUPPORTED

    def update(self, now_s: float) -> None:
        """Check the link's age and the goals and cancels Nav2 has not answered."""
        self._dispatch.check_timeouts()
        self._refresh()

    def close(self) -> None:
        """Cancel what Nav2 still runs for the executor and send it, though nothing spins."""
        self._dispatch.close()
        # The executor has stopped: the cancel requests go out from this thread.
        self._serial.run_pending()

    # --- state ---------------------------------------------------------------------------

    def snapshot(self) -> RobotSnapshot:
        """Return the latest state; never blocks."""
        return self._snapshot

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def _refresh(self) -> None:
        reading = self._telemetry.reading
        ready, reason = self._readiness.verdict
        activity = self._dispatch.active_label()
        with self._lock:
            previous = self._snapshot
            self._snapshot, problem = self._composer.compose(
                previous, reading, ready=ready, activity=activity, now_ns=self._now_ns())
            self._link_problem = problem
        if previous.link_up and problem:
            self._node.get_logger().warning(f'link to Nav2 lost: {problem}')
        elif not previous.link_up and not problem:
            self._node.get_logger().info('link to Nav2 up')
        if previous.armed != ready:
            self._node.get_logger().info(
                'Nav2 is active' if ready else f'Nav2 is not active: {reason}')

    def _on_docked(self, goal: NavGoal, result) -> typing.Optional[ExecutionError]:
        if not result.success:
            # SUCCEEDED yet success false: as good as an abort.
            return nav2_error('dock_robot', result.error_code or DockRobot.Result.UNKNOWN,
                              result.error_msg)
        with self._lock:
            self._composer.docked_at(self._telemetry.reading.pose)
        self._refresh()
        return None

    def _on_undocked(self, goal: NavGoal, result) -> typing.Optional[ExecutionError]:
        if not result.success:
            return nav2_error('undock_robot', result.error_code or UndockRobot.Result.UNKNOWN,
                              result.error_msg)
        with self._lock:
            self._composer.undocked()
        self._refresh()
        return None

    # --- sending goals -------------------------------------------------------------------

    def _refusal(self, command: str, channel: ActionChannel) -> typing.Optional[CommandHandle]:
        if not self._snapshot.link_up:
            return CommandHandle.failed(CommunicationError(
                f'{command} not sent: {self._link_problem}'), command)
        ready, reason = self._readiness.verdict
        if not ready:
            return CommandHandle.failed(PlatformNotReadyError(
                f'{command} not sent: Nav2 is not active: {reason}'), command)
        if not channel.server_ready():
            return CommandHandle.failed(PlatformNotReadyError(
                f'{command} not sent: no {channel.name} action server'), command)
        return None

    def _send_speed(self, speed_mps: typing.Optional[float]) -> None:
        if speed_mps and self._speed_limit is not None:
            limit = SpeedLimit(percentage=False, speed_limit=float(speed_mps))
            limit.header.stamp = self._stamp()
            self._speed_limit.publish(limit)

    def _stamp(self):
        return self._node.get_clock().now().to_msg()

    def _poses(self, points: typing.Sequence[LocalPoint]) -> typing.List[PoseStamped]:
        s = self._snapshot
        return [messages.pose_stamped(self._frame, pose, self._stamp()) for pose in
                messages.route_poses(Pose2D(s.x_m, s.y_m, s.yaw_rad), points)]

    # --- PlatformBridge: motion ----------------------------------------------------------

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> CommandHandle:
        """Send a NavigateToPose goal; z_m is ignored."""
        refusal = self._refusal('go_to', self._navigate)
        if refusal is not None:
            return refusal
        (target,) = self._poses([LocalPoint(x_m=x_m, y_m=y_m, yaw_rad=yaw_rad)])
        goal = NavigateToPose.Goal(pose=target,
                                   behavior_tree=self._settings.behavior_tree)
        return self._dispatch.start(self._navigate, goal, 'go_to', speed_mps=speed_mps)

    def follow_waypoints(self, *, points: typing.Sequence[LocalPoint], speed_mps: float,
                         acceptance_radius_m: float) -> CommandHandle:
        """Send a FollowWaypoints goal; Nav2's goal checker decides arrival at each point."""
        refusal = self._refusal('follow_waypoints', self._follow)
        if refusal is not None:
            return refusal
        goal = FollowWaypoints.Goal(number_of_loops=0, goal_index=0, poses=self._poses(points))
        return self._dispatch.start(self._follow, goal, 'follow_waypoints',
                                    speed_mps=speed_mps, value=len(points))

    def return_home(self, *, speed_mps: float, land: bool) -> CommandHandle:
        """Send a NavigateToPose goal to nav2.home_pose (the local origin, with its yaw)."""
        refusal = self._refusal('return_home', self._navigate)
        if refusal is not None:
            return refusal
        home = Pose2D(0.0, 0.0, self._frame.to_local(self._frame.home).yaw_rad)
        goal = NavigateToPose.Goal(pose=messages.pose_stamped(self._frame, home, self._stamp()),
                                   behavior_tree=self._settings.behavior_tree)
        return self._dispatch.start(self._navigate, goal, 'return_home', speed_mps=speed_mps)

    def dock(self, *, dock_id: str) -> CommandHandle:
        """Send a DockRobot goal for a dock of Nav2's dock database."""
        refusal = self._refusal('dock', self._dock)
        if refusal is not None:
            return refusal
        s = self._settings
        goal = DockRobot.Goal(use_dock_id=True, dock_id=dock_id, dock_type=s.dock_type,
                              max_staging_time=float(s.max_staging_time_s),
                              navigate_to_staging_pose=s.navigate_to_staging_pose)
        return self._dispatch.start(self._dock, goal, 'dock')

    def undock(self, *, distance_m: float) -> CommandHandle:
        """
        Send an UndockRobot goal.

        Nav2 backs off to the dock's staging pose, set in its dock plugin: UndockRobot has no
        distance, so ``distance_m`` cannot be passed on.
        """
        refusal = self._refusal('undock', self._undock)
        if refusal is not None:
            return refusal
        s = self._settings
        goal = UndockRobot.Goal(dock_type=s.dock_type,
                                max_undocking_time=float(s.max_undocking_time_s))
        return self._dispatch.start(self._undock, goal, 'undock')

    def hold(self) -> CommandHandle:
        """Cancel every goal sent; acknowledged once Nav2 accepted each cancel."""
        return self._dispatch.stop('hold')

    def emergency_stop(self) -> CommandHandle:
        """Cancel every goal sent, at once; acknowledged once Nav2 accepted each cancel."""
        self._node.get_logger().warning('emergency stop: canceling every Nav2 goal')
        return self._dispatch.stop('emergency_stop')

    def disarm(self) -> CommandHandle:
        """Stop like hold: Nav2 has no motors to disarm."""
        return self._dispatch.stop('disarm')

    def arm(self) -> CommandHandle:
        """Acknowledge when Nav2 is active: it has no motors to arm."""
        ready, reason = self._readiness.verdict
        if ready:
            return CommandHandle.succeeded(None, 'arm')
        return CommandHandle.failed(PlatformNotReadyError(f'Nav2 is not active: {reason}'),
                                    'arm')

    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> CommandHandle:
        """Refuse: Nav2 robots do not fly."""
        return self._unsupported('takeoff', 'Nav2 robots do not fly')

    def land(self, *, descent_speed_mps: float) -> CommandHandle:
        """Refuse: Nav2 robots do not fly."""
        return self._unsupported('land', 'Nav2 robots do not fly')

    def emergency_land(self) -> CommandHandle:
        """Refuse: Nav2 robots do not fly."""
        return self._unsupported('emergency_land', 'Nav2 robots do not fly')

    # --- PlatformBridge: what Nav2 has no interface for ----------------------------------

    def _unsupported(self, command: str, reason: str = None) -> CommandHandle:
        return CommandHandle.failed(UnsupportedOperationError(
            f'{command}: {reason or UNSUPPORTED[command]}'), command)

    def capture_image(self, *, camera_id: str) -> CommandHandle:
        """Refuse: Nav2 has no camera interface."""
        return self._unsupported('capture_image')

    def start_recording(self, *, camera_id: str) -> CommandHandle:
        """Refuse: Nav2 has no camera interface."""
        return self._unsupported('record_video')

    def stop_recording(self, *, camera_id: str) -> CommandHandle:
        """Refuse: Nav2 has no camera interface."""
        return self._unsupported('record_video')

    def attach_payload(self, *, payload_id: str, expected_mass_kg: float) -> CommandHandle:
        """Refuse: Nav2 has no payload interface."""
        return self._unsupported('pickup')

    def release_payload(self) -> CommandHandle:
        """Refuse: Nav2 has no payload interface."""
        return self._unsupported('dropoff')

    def send_data(self, *, destination: str, content_type: str, data: bytes) -> CommandHandle:
        """Refuse: Nav2 has no data link."""
        return self._unsupported('send_data')
