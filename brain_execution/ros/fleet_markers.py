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
``/execution/markers``: the fleet, its active operations and its geofences, for RViz.

:class:`FleetMarkers` is fed by the coordinator: robot states (from the dispatcher's
``robot_state`` subscriptions), the goals it dispatches (with their parameters) and its step
changes. Twice a second it publishes one ``visualization_msgs/MarkerArray`` that replaces
the previous one (a DELETEALL marker first):

* ``robots``: each robot as a shape for its platform (drone: sphere, ground: cube,
  surface: arrow along its heading), red while its link is lost or an emergency stop is
  latched; ``labels``: its id and state (``drone1`` / ``go_to RUNNING``).
* ``targets`` and ``paths``: for each operation dispatched to a robot, its target
  points and the path from the robot through them (``go_to``'s target, ``follow_waypoints``'
  waypoints, ``scan_area``'s boundary, ``orbit``'s circle, home for ``return_home``,
  the climb of ``takeoff``), coloured by the step's state; an ended one stays for
  ``ENDED_TARGET_S`` or until the robot's next operation.
* ``geofences``: each robot's fence, learnt from the robot itself (``/<robot>/geofence``,
  transient local, published by its executor), so that the drawing is the fence the robot
  enforces, whoever configured it.

Every marker is in its robot's ``<robot>/odom`` frame (local ENU, home at the origin); the
robots' ``/tf_static`` place those frames in ``map``.
"""

import math
import threading
import time
import typing

from brain_execution.core.catalog import CATALOG
from brain_execution.core.dispatch import Dispatcher, DispatchRequest
from brain_execution.core.geo import GeoPoint, local_to_geographic, LocalPoint
from brain_execution.core.params import validate_params
from brain_execution.core.scheduler import StepState, StepStatus
from brain_execution.core.state import Platform
from brain_execution_interfaces.msg import RobotState
from geometry_msgs.msg import Point, PolygonStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from .qos import NO_EVENT_HANDLERS
from .standard_views import frame_prefix, LATCHED_QOS

__all__ = ['ENDED_TARGET_S', 'FleetMarkers', 'STATE_COLOURS', 'target_points']

ENDED_TARGET_S = 30.0
_RATE_HZ = 2.0

STATE_COLOURS: typing.Mapping[StepState, typing.Tuple[float, float, float]] = {
    StepState.PENDING: (0.6, 0.6, 0.6),
    StepState.RUNNING: (0.1, 0.5, 1.0),
    StepState.RETRYING: (1.0, 0.6, 0.0),
    StepState.SUCCEEDED: (0.1, 0.8, 0.2),
    StepState.FAILED: (0.9, 0.1, 0.1),
    StepState.CANCELED: (0.4, 0.4, 0.4),
    StepState.SKIPPED: (0.5, 0.5, 0.5),
    StepState.DEAD_LETTER: (0.8, 0.0, 0.8),
    StepState.COMPENSATED: (0.5, 0.3, 0.8),
    # Outcome unknown, the robot being asked: amber, between running and failed.
    StepState.RECONCILING: (1.0, 0.8, 0.0),
}
_PLATFORM_COLOURS = {Platform.DRONE: (0.2, 0.7, 1.0), Platform.GROUND: (0.9, 0.7, 0.1),
                     Platform.SURFACE: (0.1, 0.8, 0.7)}
_PLATFORM_SHAPES = {Platform.DRONE: Marker.SPHERE, Platform.GROUND: Marker.CUBE,
                    Platform.SURFACE: Marker.ARROW}
_ALARM = (1.0, 0.1, 0.1)
_CIRCLE_SIDES = 36


def _home_of(state: RobotState) -> typing.Optional[GeoPoint]:
    """Return the geographic origin of a robot's local frame, from one state message."""
    if not (math.isfinite(state.latitude_deg) and math.isfinite(state.longitude_deg)):
        return None
    p = state.pose.position
    return local_to_geographic(GeoPoint(state.latitude_deg, state.longitude_deg), -p.x, -p.y)


def target_points(operation: str, params: typing.Mapping[str, typing.Any],
                  state: typing.Optional[RobotState]
                  ) -> typing.Tuple[typing.List[LocalPoint], bool]:
    """
    Return an operation's target points in the robot's local frame, and whether they close.

    :param state: the robot's latest state (its position, and its home for geographic
        waypoints); None when not known yet.
    :return: ([], False) for an operation without a place (capture_image, dock by id, ...)
        or parameters that do not validate.
    """
    spec = CATALOG.get(operation)
    if spec is None:
        return [], False
    here = state.pose.position if state is not None else None
    if operation == 'return_home':
        return [LocalPoint(0.0, 0.0, 0.0)], False
    if operation == 'takeoff':
        if here is None:
            return [], False
        return [LocalPoint(here.x, here.y, float(params.get('altitude_m', 0.0)))], False
    try:
        values = validate_params(spec.params, params, operation=operation,
                                 home=_home_of(state) if state is not None else None,
                                 include_common=False)
    except Exception:  # noqa: B902 - a goal the robot will refuse has nothing to draw
        return [], False
    points: typing.List[LocalPoint] = []
    for param in spec.params:
        if param.kind == 'waypoint':
            points.append(values[param.name])
        elif param.kind == 'waypoints':
            points.extend(values[param.name])
    if operation == 'orbit' and points:
        center, radius = points[0], values['radius_m']
        return [LocalPoint(center.x_m + radius * math.cos(2 * math.pi * k / _CIRCLE_SIDES),
                           center.y_m + radius * math.sin(2 * math.pi * k / _CIRCLE_SIDES),
                           center.z_m) for k in range(_CIRCLE_SIDES)], True
    return points, operation == 'scan_area'


class _Target:
    __slots__ = ('operation', 'params', 'state', 'ended_mono')

    def __init__(self, operation: str, params: typing.Mapping[str, typing.Any]):
        self.operation = operation
        self.params = params
        self.state = StepState.RUNNING
        self.ended_mono: typing.Optional[float] = None


class _ObservedDispatcher(Dispatcher):
    """A dispatcher that shows every dispatched goal to the markers, then sends it."""

    def __init__(self, inner: Dispatcher, markers: 'FleetMarkers'):
        self._inner = inner
        self._markers = markers

    def dispatch(self, request: DispatchRequest, on_done) -> None:
        self._markers.dispatched(request)
        self._inner.dispatch(request, on_done)

    def cancel(self, robot_id: str, operation_id: str) -> None:
        self._inner.cancel(robot_id, operation_id)

    def query(self, robot_id: str, operation_id: str, on_done) -> None:
        self._inner.query(robot_id, operation_id, on_done)

    def emergency_stop(self, robot_id: str, *, reason: str, release: bool, on_done) -> None:
        self._inner.emergency_stop(robot_id, reason=reason, release=release, on_done=on_done)


def _colour(rgb: typing.Tuple[float, float, float], alpha: float = 1.0) -> ColorRGBA:
    return ColorRGBA(r=rgb[0], g=rgb[1], b=rgb[2], a=alpha)


def _point(p: LocalPoint) -> Point:
    return Point(x=float(p.x_m), y=float(p.y_m), z=float(p.z_m))


class FleetMarkers:
    """
    Publish the coordinator's ``markers`` topic (see the module docstring).

    Every method may be called from any thread and returns at once.

    :param node: the coordinator node; ``markers`` is relative to its namespace.
    :param robots: the fleet's robots and platforms.
    :param namespaces: each robot's namespace; default ``/<robot_id>``.
    """

    def __init__(self, node: Node, robots: typing.Mapping[str, Platform], *,
                 namespaces: typing.Optional[typing.Mapping[str, str]] = None):
        self._node = node
        self._robots = dict(robots)
        self._index = {robot_id: i for i, robot_id in enumerate(robots)}
        namespaces = namespaces or {}
        self._frames = {r: f'{frame_prefix(namespaces.get(r, "/" + r))}/odom' for r in robots}
        self._lock = threading.Lock()
        self._states: typing.Dict[str, RobotState] = {}
        self._fences: typing.Dict[str, PolygonStamped] = {}
        self._targets: typing.Dict[str, typing.Dict[str, _Target]] = {r: {} for r in robots}
        self._current: typing.Dict[str, str] = {}
        self._pub = node.create_publisher(MarkerArray, 'markers', 10)
        group = MutuallyExclusiveCallbackGroup()
        for robot_id in robots:
            node.create_subscription(
                PolygonStamped, f'{namespaces.get(robot_id, "/" + robot_id)}/geofence',
                lambda msg, r=robot_id: self._on_fence(r, msg), LATCHED_QOS,
                callback_group=group, event_callbacks=NO_EVENT_HANDLERS)
        node.create_timer(1.0 / _RATE_HZ, self.publish, callback_group=group)

    def observe(self, dispatcher: Dispatcher) -> Dispatcher:
        """Return dispatcher wrapped so that the goals it sends are drawn."""
        return _ObservedDispatcher(dispatcher, self)

    def robot_state(self, robot_id: str, msg: RobotState) -> None:
        """Take a robot's latest state (a dispatcher state listener)."""
        with self._lock:
            self._states[robot_id] = msg

    def dispatched(self, request: DispatchRequest) -> None:
        """Draw a goal sent to a robot from now on; its robot's ended targets go."""
        with self._lock:
            targets = self._targets.setdefault(request.robot_id, {})
            for operation in [o for o, t in targets.items() if t.ended_mono is not None]:
                del targets[operation]
            targets[request.operation] = _Target(request.operation, dict(request.params))
            self._current[request.robot_id] = request.operation

    def step_changed(self, plan_id: str, status: StepStatus) -> None:
        """Colour a drawn goal by its step's state (a coordinator listener event)."""
        with self._lock:
            target = self._targets.get(status.robot_id, {}).get(status.operation)
            if target is None:
                return
            target.state = status.state
            if status.ended_s is not None and target.ended_mono is None:
                target.ended_mono = time.monotonic()

    def _on_fence(self, robot_id: str, msg: PolygonStamped) -> None:
        with self._lock:
            self._fences[robot_id] = msg

    def markers(self) -> MarkerArray:
        """Build the array :meth:`publish` sends: the current robots, targets and fences."""
        now_mono = time.monotonic()
        stamp = self._node.get_clock().now().to_msg()
        array = MarkerArray()
        array.markers.append(Marker(action=Marker.DELETEALL))
        with self._lock:
            for robot_id, platform in self._robots.items():
                targets = self._targets.get(robot_id, {})
                for operation in [o for o, t in targets.items() if t.ended_mono is not None
                                  and now_mono - t.ended_mono > ENDED_TARGET_S]:
                    del targets[operation]
                self._robot_markers(array, robot_id, platform, stamp)
                for index, target in enumerate(targets.values()):
                    self._target_markers(array, robot_id, index, target, stamp)
                fence = self._fences.get(robot_id)
                if fence is not None and fence.polygon.points:
                    marker = self._marker(robot_id, 'geofences', 0, Marker.LINE_STRIP, stamp)
                    marker.frame_locked = True
                    marker.scale.x = 0.5
                    marker.color = _colour((1.0, 0.3, 0.1), 0.8)
                    marker.points = [Point(x=p.x, y=p.y, z=0.0) for p in fence.polygon.points]
                    marker.points.append(marker.points[0])
                    array.markers.append(marker)
        return array

    def publish(self) -> None:
        """Publish the markers (the node's timer calls it)."""
        self._pub.publish(self.markers())

    def _marker(self, robot_id: str, ns: str, index: int, kind: int, stamp) -> Marker:
        marker = Marker(ns=ns, id=index, type=kind, action=Marker.ADD)
        marker.header.frame_id = self._frames.get(robot_id, f'{robot_id}/odom')
        marker.header.stamp = stamp
        marker.pose.orientation.w = 1.0
        return marker

    def _robot_markers(self, array: MarkerArray, robot_id: str, platform: Platform,
                       stamp) -> None:
        index = self._index[robot_id]
        state = self._states.get(robot_id)
        if state is None:
            return
        shape = self._marker(robot_id, 'robots', index, _PLATFORM_SHAPES[platform], stamp)
        shape.pose = state.pose
        shape.scale.x, shape.scale.y, shape.scale.z = (
            (3.0, 1.0, 1.0) if platform == Platform.SURFACE else (1.5, 1.5, 1.0))
        alarm = state.emergency_stop_active or not state.link_up
        shape.color = _colour(_ALARM if alarm else _PLATFORM_COLOURS[platform])
        label = self._marker(robot_id, 'labels', index, Marker.TEXT_VIEW_FACING, stamp)
        label.pose.position.x = state.pose.position.x
        label.pose.position.y = state.pose.position.y
        label.pose.position.z = state.pose.position.z + 2.5
        label.scale.z = 1.2
        label.color = _colour((1.0, 1.0, 1.0))
        label.text = f'{robot_id}\n{self._robot_state_text(robot_id, state)}'
        array.markers.extend([shape, label])

    def _robot_state_text(self, robot_id: str, state: RobotState) -> str:
        if not state.link_up:
            return 'LINK LOST'
        if state.emergency_stop_active:
            return 'E-STOP'
        target = self._targets.get(robot_id, {}).get(self._current.get(robot_id, ''))
        if target is None:
            return 'idle'
        return f'{target.operation} {target.state.name}'

    def _target_markers(self, array: MarkerArray, robot_id: str, index: int, target: _Target,
                        stamp) -> None:
        state = self._states.get(robot_id)
        points, closed = target_points(target.operation, target.params, state)
        if not points:
            return
        key = self._index.get(robot_id, 0) * 100 + index
        colour = STATE_COLOURS.get(target.state, (1.0, 1.0, 1.0))
        spheres = self._marker(robot_id, 'targets', key, Marker.SPHERE_LIST, stamp)
        spheres.scale.x = spheres.scale.y = spheres.scale.z = 1.0
        spheres.color = _colour(colour)
        spheres.points = [_point(p) for p in points]
        path = self._marker(robot_id, 'paths', key, Marker.LINE_STRIP, stamp)
        path.scale.x = 0.3
        path.color = _colour(colour, 0.7)
        start = [state.pose.position] if state is not None and not closed else []
        path.points = [Point(x=p.x, y=p.y, z=p.z) for p in start] + spheres.points
        if closed:
            path.points.append(spheres.points[0])
        array.markers.extend([spheres, path])
