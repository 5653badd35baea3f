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
"""

import abc
import typing

from .errors import ExecutionError
from .state import Platform, RobotSnapshot

__all__ = ['CommandHandle', 'PlatformBridge']


class CommandHandle:
    """A command sent to a platform whose acknowledgement may still be pending."""

    __slots__ = ('_done', '_error', '_value', 'description')

    def __init__(self, description: str = ''):
        self.description = description
        self._done = False
        self._error = None
        self._value = None

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

    def set_result(self, value: typing.Any = None) -> None:
        """Mark the command acknowledged; later calls are ignored (first answer wins)."""
        if not self._done:
            self._done, self._value = True, value

    def set_error(self, error: ExecutionError) -> None:
        """Mark the command refused or lost; later calls are ignored (first answer wins)."""
        if not self._done:
            self._done, self._error = True, error

    def done(self) -> bool:
        return self._done

    @property
    def error(self) -> typing.Optional[ExecutionError]:
        return self._error

    @property
    def value(self) -> typing.Any:
        return self._value


class PlatformBridge(abc.ABC):
    """
    One robot's platform: a simulator, MAVROS, Nav2 or a marine autopilot.

    Positions are in the local ENU frame with home at the origin (metres); z is height above
    home and is ignored by ground and surface platforms. Every command returns a
    :class:`CommandHandle` without blocking. A platform that cannot do something returns a
    handle failed with :class:`~brain_execution.core.errors.UnsupportedOperationError`.
    """

    #: Name used in RobotState.bridge, e.g. ``'sim'`` or ``'mavros'``.
    name: str = ''

    def __init__(self, platform: Platform):
        self.platform = platform

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
        """Stop and hold the current position: brake, hover or station-keep."""

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

    def update(self, now_s: float) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Advance to time now_s (simulators integrate motion here); real bridges ignore it."""

    def close(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Release the bridge's resources; called once when the executor shuts down."""
