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
The seam between operations and a platform: what every bridge provides.

Operations never wait inside a bridge. A command is issued and returns a
:class:`CommandHandle` at once; the operation looks at the handle (and at
:meth:`PlatformBridge.snapshot`) on its next tick. This lets the ROS adapter drive every
operation from timers, so no executor thread is held while a robot moves, and lets a bridge
whose autopilot acknowledges slowly (MAVROS waits up to 5 s for COMMAND_ACK) fit the same
shape as the simulator, which answers at once.

A bridge's life, as the robot executor drives it:

1. Its factory (found by name in the ``brain_execution.bridges`` entry-point group, see
   :mod:`brain_execution.bridges.registry`) is called with a :class:`BridgeContext`; the
   bridge reads its own parameters there, under ``<bridge name>.*``.
2. :meth:`PlatformBridge.setup` hands it the executor's node and a callback group of its own
   (as py_trees_ros ``setup(node=...)`` does); it creates its subscriptions, clients and
   timers there, including periodic work of its own such as a setpoint stream.
3. Commands, :meth:`~PlatformBridge.snapshot` and :meth:`~PlatformBridge.update` are called by
   the runtime until :meth:`~PlatformBridge.close`.

Threading contract:

* The runtime serialises every command and every :meth:`~PlatformBridge.update` call (it holds
  its lock), but they come from any executor thread: the tick, or an action goal's thread.
* A bridge's own callbacks (subscriptions, service responses, timers in its callback group)
  run on other executor threads at the same time. They complete the commands' handles
  (:class:`CommandHandle` is safe to complete from any thread).
* :meth:`~PlatformBridge.snapshot` is called from any thread, with or without the runtime's
  lock (the state publisher reads it too). It must not block: return the latest immutable
  :class:`~brain_execution.core.state.RobotSnapshot`, replaced whole by the callbacks.
* No command blocks, ever: a service call is sent asynchronously and its answer completes the
  handle. Emergency commands must not queue behind other commands of the bridge.
"""

import abc
import dataclasses
import enum
import threading
import typing

from .envelope import SafetyEnvelope
from .errors import ExecutionError
from .geo import GeoPoint, LocalPoint
from .state import Platform, RobotSnapshot

__all__ = ['ArrayParameter', 'BridgeContext', 'BridgeUnavailableError', 'CommandHandle',
           'ParameterSource', 'PlatformBridge']


class BridgeUnavailableError(ValueError):
    """Raised when a bridge cannot be built: unknown name, missing package, bad settings."""


class ArrayParameter(enum.Enum):
    """Default of an array parameter, declared by element type; unset, it reads as ``[]``."""

    BOOL = 'bool[]'
    INTEGER = 'integer[]'
    DOUBLE = 'double[]'
    STRING = 'string[]'


class ParameterSource(typing.Protocol):
    """Where a bridge declares and reads its own read-only parameters."""

    def declare(self, name: str, default: typing.Any, description: str,
                limits: typing.Optional[typing.Tuple[float, float]] = None) -> typing.Any:
        """
        Declare ``<bridge>.<name>`` and return its value.

        :param default: the default value, whose type is the parameter's; an
            :class:`ArrayParameter` declares an array parameter, read as ``[]`` when unset.
        :param limits: inclusive range of a numeric parameter.
        """


@dataclasses.dataclass(frozen=True)
class BridgeContext:
    """
    What a bridge factory gets: the robot it drives and where its parameters are.

    :param robot_id: the robot's name (also its namespace without the slash, by default).
    :param platform: the kind of vehicle the executor was configured as.
    :param home: geographic origin of the local ENU frame.
    :param envelope: the robot's safety envelope (speed limits, payload mass, ...).
    :param parameters: declares the bridge's own parameters, ``<bridge>.<name>``.
    :param request_tick: asks the executor to advance the operations soon, e.g. when an
        acknowledgement completed a handle between two ticks; callable from any thread.
    """

    robot_id: str
    platform: Platform
    home: GeoPoint
    envelope: SafetyEnvelope
    parameters: ParameterSource
    request_tick: typing.Callable[[], None] = lambda: None


class CommandHandle:
    """
    A command sent to a platform: its acknowledgement, and later how the platform carried it out.

    A handle is *done* once the platform acknowledged or refused the command
    (:meth:`set_result`, :meth:`set_error`). A bridge whose platform reports on the behaviour
    it started may then also :meth:`finish` it (arrived, docked, landed: the navigation stack
    or autopilot says so) or :meth:`interrupt` it (the behaviour was abandoned: navigation
    aborted, a pilot took over, the autopilot left the commanded mode). Programs watch the
    handles they issued, so an interruption ends the operation with the bridge's error on the
    next tick. A bridge that supersedes its own command (a new setpoint, the next waypoint's
    goal) leaves the old handle alone: superseding is not an interruption.
    """

    __slots__ = ('_callbacks', '_done', '_error', '_finished', '_interruption', '_lock',
                 '_value', 'description', 'feedback')

    def __init__(self, description: str = ''):
        self.description = description
        self._done = False
        self._error = None
        self._value = None
        self._finished = False
        self._interruption: typing.Optional[ExecutionError] = None
        self._callbacks = []
        #: What the platform reports while it carries the command out, by the name of the
        #: operation's feedback field (e.g. ``current_waypoint``); written by the bridge.
        self.feedback: typing.Dict[str, typing.Any] = {}
        # Bridges complete handles from their own callback threads while the runtime reads
        # them from the tick: the answer is written before ``_done`` under one lock.
        self._lock = threading.Lock()

    @classmethod
    def succeeded(cls, value: typing.Any = None, description: str = '') -> 'CommandHandle':
        """Return a handle that is already acknowledged, carrying an optional value."""
        handle = cls(description)
        handle.set_result(value)
        return handle

    @classmethod
    def failed(cls, error: ExecutionError, description: str = '') -> 'CommandHandle':
        """Return a handle that is already refused with the given error."""
        handle = cls(description)
        handle.set_error(error)
        return handle

    def set_result(self, value: typing.Any = None) -> bool:
        """
        Mark the command acknowledged; later answers are ignored (first answer wins).

        :return: whether this call completed the handle.
        """
        return self._complete(value, None)

    def set_error(self, error: ExecutionError) -> bool:
        """
        Mark the command refused or lost; later answers are ignored (first answer wins).

        :return: whether this call completed the handle.
        """
        return self._complete(None, error)

    def finish(self, value: typing.Any = None) -> bool:
        """
        Report that the platform completed the behaviour; acknowledges it first if need be.

        :param value: the handle's value when this also acknowledges it.
        :return: whether this call settled the handle (not already finished or interrupted).
        """
        self._complete(value, None)
        with self._lock:
            if self._error is not None or self._finished or self._interruption is not None:
                return False
            self._finished = True
            return True

    def interrupt(self, error: ExecutionError) -> bool:
        """
        Report that the platform abandoned the behaviour; refuses the command if still pending.

        :return: whether this call settled the handle (not already finished or interrupted).
        """
        if self._complete(None, error):
            return True
        with self._lock:
            if self._error is not None or self._finished or self._interruption is not None:
                return False
            self._interruption = error
            return True

    def _complete(self, value: typing.Any, error: typing.Optional[ExecutionError]) -> bool:
        with self._lock:
            if self._done:
                return False
            self._value, self._error = value, error
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)
        return True

    def add_done_callback(self, callback: typing.Callable[['CommandHandle'], None]) -> None:
        """Call ``callback(handle)`` once the handle is done (at once if it is)."""
        with self._lock:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def done(self) -> bool:
        """Return whether the command was acknowledged or refused."""
        return self._done

    @property
    def error(self) -> typing.Optional[ExecutionError]:
        """Return why the command was refused, or None."""
        return self._error

    @property
    def value(self) -> typing.Any:
        """Return the acknowledgement's value."""
        return self._value

    @property
    def finished(self) -> bool:
        """Return whether the platform reported the behaviour complete."""
        return self._finished

    @property
    def interruption(self) -> typing.Optional[ExecutionError]:
        """Return why the platform abandoned the behaviour after acknowledging it, or None."""
        return self._interruption


class PlatformBridge(abc.ABC):
    """
    One robot's platform: a simulator, MAVROS, Nav2 or a marine autopilot.

    Positions are in the local ENU frame with home at the origin (metres); z is height above
    home and is ignored by ground and surface platforms. Every command returns a
    :class:`CommandHandle` without blocking. A platform that cannot do something returns a
    handle failed with :class:`~brain_execution.core.errors.UnsupportedOperationError`, and
    lists the operations it cannot do at all in :meth:`unsupported_operations`.

    Composite motions (orbit, waypoints, scans, return home) are driven by the programs from
    :meth:`go_to`, unless the platform does them natively: :meth:`follow_waypoints` and
    :meth:`return_home` return None to leave them to the programs.
    """

    #: Name used in RobotState.bridge, e.g. ``'sim'`` or ``'mavros'``.
    name: str = ''

    def __init__(self, platform: Platform):
        self.platform = platform

    def setup(self, *, node: typing.Any, callback_group: typing.Any) -> None:  # noqa: B027
        """
        Create the bridge's ROS entities; called once, before the first command.

        :param node: the robot executor's ``rclpy.node.Node``; names are relative to its
            namespace, and its clock is the one every wait follows (sim time included).
        :param callback_group: the bridge's own group for every subscription, client and
            timer it creates, so its callbacks never wait behind an operation's.
        """

    @abc.abstractmethod
    def snapshot(self) -> RobotSnapshot:
        """Return the latest known state of the robot."""

    @abc.abstractmethod
    def arm(self) -> CommandHandle:
        """Arm the motors (drones); ground and surface platforms may treat it as enable."""

    @abc.abstractmethod
    def disarm(self) -> CommandHandle:
        """Disarm the motors; platforms refuse while airborne."""

    @abc.abstractmethod
    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> CommandHandle:
        """Climb to altitude_m above home (armed drones); acknowledged when the climb starts."""

    @abc.abstractmethod
    def land(self, *, descent_speed_mps: float) -> CommandHandle:
        """Descend and touch down at the current position; acknowledged when descent starts."""

    @abc.abstractmethod
    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> CommandHandle:
        """Start moving to a point; acknowledged when the platform took the setpoint."""

    @abc.abstractmethod
    def hold(self) -> CommandHandle:
        """
        Stop and hold the current position: brake, hover or station-keep.

        A vehicle under a pilot's control is acknowledged without acting: the executor holds
        after a cancel, a timeout or a failure, and must never fight the pilot.
        """

    @abc.abstractmethod
    def emergency_stop(self) -> CommandHandle:
        """Stop all motion now, bypassing any queue; a flying drone hovers, motors stay on."""

    @abc.abstractmethod
    def emergency_land(self) -> CommandHandle:
        """Land now at the current position, bypassing any queue (drones)."""

    @abc.abstractmethod
    def capture_image(self, *, camera_id: str) -> CommandHandle:
        """Take one picture; the handle's value is the image's URI."""

    @abc.abstractmethod
    def start_recording(self, *, camera_id: str) -> CommandHandle:
        """Start recording video on a camera."""

    @abc.abstractmethod
    def stop_recording(self, *, camera_id: str) -> CommandHandle:
        """Stop recording; the handle's value is the video's URI."""

    @abc.abstractmethod
    def attach_payload(self, *, payload_id: str, expected_mass_kg: float) -> CommandHandle:
        """Grip or attach a payload; the handle's value is the measured mass in kg (or NaN)."""

    @abc.abstractmethod
    def release_payload(self) -> CommandHandle:
        """Release the payload carried; the handle's value is its payload_id."""

    @abc.abstractmethod
    def dock(self, *, dock_id: str) -> CommandHandle:
        """Start docking; done when the snapshot reports docked."""

    @abc.abstractmethod
    def undock(self, *, distance_m: float) -> CommandHandle:
        """Start leaving the dock; done when the snapshot no longer reports docked."""

    @abc.abstractmethod
    def send_data(self, *, destination: str, content_type: str, data: bytes) -> CommandHandle:
        """Send bytes over the robot's data link; the handle's value is the bytes sent."""

    def unsupported_operations(self) -> typing.Mapping[str, str]:
        """
        Return the operations this bridge cannot do at all, each with the reason.

        The runtime refuses them at intake with UNSUPPORTED and that reason, so a catalog
        operation the platform kind has but this bridge lacks (a camera on MAVROS, say) is
        answered honestly. Read once, when the runtime is built.
        """
        return {}

    def follow_waypoints(self, *, points: typing.Sequence[LocalPoint], speed_mps: float,
                         acceptance_radius_m: float) -> typing.Optional[CommandHandle]:
        """
        Follow points natively (a navigation stack's waypoint follower), or return None.

        The handle is acknowledged when the platform took the route, its ``feedback`` carries
        ``current_waypoint``, and it is finished with the number of waypoints completed as
        its value (or interrupted with the platform's error).
        """
        return None

    def return_home(self, *, speed_mps: float, land: bool) -> typing.Optional[CommandHandle]:
        """
        Return home natively (an autopilot's RTL), or return None.

        The handle is finished once the vehicle is home (landed and disarmed when ``land``).
        """
        return None

    def update(self, now_s: float) -> None:  # noqa: B027 - optional hook, empty on purpose
        """
        Advance to time now_s on the node clock; called on every tick, under the runtime lock.

        Simulators integrate motion here; real bridges may check their data for staleness.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """
        Release the bridge's resources; called once when the executor shuts down.

        Called after the running operations were ended and the vehicle commanded to hold, so
        that the hold can still go out; pending handles should be failed here.
        """
