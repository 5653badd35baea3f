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
A :class:`~brain_execution.core.bridge.PlatformBridge` over a simulated vehicle.

The bridge adds what lies between an executor and a real autopilot: command refusals, a lost
link and slow acknowledgements, all switched at run time through
:class:`~brain_execution.sim.faults.SimFaults`. It never blocks and never reads a clock: the
ROS adapter calls :meth:`SimBridge.update` from a timer on the node clock, which moves the
vehicle and completes delayed commands, so the simulation follows ``use_sim_time``.
"""

import collections
import dataclasses
import typing

from .faults import SimFaults
from .vehicle import BatteryModel, default_limits, make_vehicle, MotionLimits, SimVehicle
from ..core.bridge import CommandHandle, PlatformBridge
from ..core.errors import (
    CommunicationError, ExecutionError, InvalidParametersError, PlatformRejectedError,
    PreemptedError, UnsupportedOperationError)
from ..core.geo import GeoPoint, local_to_geographic
from ..core.state import Platform, RobotSnapshot

__all__ = ['DEFAULT_HOME', 'SimBridge']

#: PX4 SITL's default home (Zurich), so positions look familiar next to PX4 logs.
DEFAULT_HOME = GeoPoint(latitude_deg=47.397742, longitude_deg=8.545594, altitude_m=0.0)

_ARMING_REJECTED = 101
_MODE_REJECTED = 102

# What each platform cannot do at all, answered before anything else (even with the link
# down), since it does not depend on the robot's state.
_UNSUPPORTED = {
    Platform.DRONE: frozenset({'dock', 'undock'}),
    Platform.GROUND: frozenset({'takeoff', 'land', 'emergency_land'}),
    Platform.SURFACE: frozenset({'takeoff', 'land', 'emergency_land'}),
}


class _Pending:
    """A command waiting for its acknowledgement delay to pass."""

    __slots__ = ('action', 'handle', 'name', 'remaining_s')

    def __init__(self, name: str, action: typing.Callable[[], typing.Any],
                 handle: CommandHandle, remaining_s: float):
        self.name, self.action, self.handle, self.remaining_s = name, action, handle, remaining_s


class SimBridge(PlatformBridge):
    """
    A simulated drone, ground robot or surface vessel behind the PlatformBridge seam.

    Every command returns a :class:`CommandHandle` at once: failed (unsupported, refused,
    link down, invalid), succeeded, or pending until ``faults.ack_delay_s`` of sim time has
    passed, when the command takes effect and the handle completes. ``emergency_stop`` and
    ``emergency_land`` act at once, are never refused by injected rejections and fail every
    pending command with a PreemptedError, so a slow go_to cannot resume motion after a stop.

    :param platform: the kind of vehicle.
    :param robot_id: robot name, used in camera URIs.
    :param home: geographic position of the local origin.
    :param battery_percent: initial charge, 0..100.
    :param max_speed_mps: and the other ``max_*``/``cruise_speed_mps`` arguments: override
        the platform's default :class:`~brain_execution.sim.vehicle.MotionLimits`.
    :param battery: battery model; the platform's default when None.
    :param docks: dock_id -> local (x, y), metres; ground and surface robots default to one
        dock ``'home'`` at the origin.
    :param start_docked: start on the dock at ``position_m``.
    :param position_m: initial local (x, y), metres.
    :param yaw_rad: initial heading (ENU).
    :param cameras: camera names; an empty camera_id means the first.
    :param faults: fault switches, shared with the vehicle; none when None.
    :param command_log_size: entries kept in :attr:`command_log`.
    :param vehicle_options: extra vehicle arguments (``station_drift_m`` for a vessel).
    """

    name = 'sim'

    def __init__(self, *, platform: Platform, robot_id: str,
                 home: GeoPoint = DEFAULT_HOME,
                 battery_percent: float = 100.0,
                 max_speed_mps: typing.Optional[float] = None,
                 cruise_speed_mps: typing.Optional[float] = None,
                 max_accel_mps2: typing.Optional[float] = None,
                 max_climb_mps: typing.Optional[float] = None,
                 max_descent_mps: typing.Optional[float] = None,
                 max_yaw_rate_radps: typing.Optional[float] = None,
                 max_payload_kg: typing.Optional[float] = None,
                 battery: typing.Optional[BatteryModel] = None,
                 docks: typing.Optional[typing.Mapping[str, typing.Tuple[float, float]]] = None,
                 start_docked: bool = False,
                 position_m: typing.Tuple[float, float] = (0.0, 0.0),
                 yaw_rad: float = 0.0,
                 cameras: typing.Sequence[str] = ('default',),
                 faults: typing.Optional[SimFaults] = None,
                 command_log_size: int = 1000,
                 vehicle_options: typing.Optional[typing.Mapping[str, typing.Any]] = None):
        platform = Platform(platform)
        super().__init__(platform)
        if command_log_size < 1:
            raise ValueError(f'command_log_size must be >= 1, got {command_log_size!r}')
        self.robot_id = robot_id
        self.home = home
        overrides = {
            'max_speed_mps': max_speed_mps, 'cruise_speed_mps': cruise_speed_mps,
            'max_accel_mps2': max_accel_mps2, 'max_climb_mps': max_climb_mps,
            'max_descent_mps': max_descent_mps, 'max_yaw_rate_radps': max_yaw_rate_radps,
            'max_payload_kg': max_payload_kg,
        }
        if docks is None:
            docks = {} if platform == Platform.DRONE else {'home': (0.0, 0.0)}
        self._vehicle = make_vehicle(
            platform, robot_id=robot_id, limits=self._limits(platform, overrides),
            battery=battery, battery_percent=battery_percent, position_m=position_m,
            yaw_rad=yaw_rad, docks=docks, start_docked=start_docked, cameras=cameras,
            faults=faults if faults is not None else SimFaults(),
            **dict(vehicle_options or {}))
        #: (sim time in s, command name) of every command received, oldest first.
        self.command_log = collections.deque(maxlen=command_log_size)
        #: Sim time of the last command received, None before the first.
        self.last_command_time_s = None
        #: (sim time in s, destination, content_type, data) of every send_data delivered.
        self.sent_data = collections.deque(maxlen=command_log_size)
        self._pending = []
        self._last_snapshot = self._fresh_snapshot()

    @staticmethod
    def _limits(platform: Platform,
                overrides: typing.Mapping[str, typing.Optional[float]]) -> MotionLimits:
        defaults = default_limits(platform)
        given = {k: float(v) for k, v in overrides.items() if v is not None}
        if 'max_speed_mps' in given and 'cruise_speed_mps' not in given:
            # A lower speed limit than the default cruise speed lowers the cruise speed too.
            given['cruise_speed_mps'] = min(defaults.cruise_speed_mps, given['max_speed_mps'])
        return dataclasses.replace(defaults, **given)

    # --- state --------------------------------------------------------------------------

    @property
    def vehicle(self) -> SimVehicle:
        """Return the simulated vehicle, for tests and the demo (executors use snapshots)."""
        return self._vehicle

    @property
    def faults(self) -> SimFaults:
        """Return the fault switches of this robot, mutable at any time."""
        return self._vehicle.faults

    @faults.setter
    def faults(self, faults: SimFaults) -> None:
        self._vehicle.faults = faults

    @property
    def now_s(self) -> typing.Optional[float]:
        """Return the sim time of the last update, None before the first."""
        return self._vehicle.now_s

    @property
    def pending_count(self) -> int:
        """Return the number of commands waiting for their acknowledgement delay."""
        return len(self._pending)

    def _fresh_snapshot(self) -> RobotSnapshot:
        snapshot = self._vehicle.snapshot()
        geo = local_to_geographic(self.home, snapshot.x_m, snapshot.y_m, snapshot.z_m)
        return dataclasses.replace(
            snapshot, latitude_deg=geo.latitude_deg, longitude_deg=geo.longitude_deg)

    def snapshot(self) -> RobotSnapshot:
        """Return the robot's state; with the link down, the last state heard, link_up False."""
        if self.faults.link_down:
            return dataclasses.replace(self._last_snapshot, link_up=False)
        self._last_snapshot = self._fresh_snapshot()
        return self._last_snapshot

    def update(self, now_s: float) -> None:
        """
        Advance the vehicle to now_s, then complete the commands whose delay has passed.

        :param now_s: time on the node clock (sim time under ``use_sim_time``), seconds.
        """
        before = self._vehicle.now_s
        self._vehicle.update(now_s)
        elapsed = now_s - before if before is not None and now_s > before else 0.0
        if self.faults.link_down:
            self._fail_pending(CommunicationError('link to the robot lost before the '
                                                  'command was acknowledged'))
            return
        due = []
        for pending in self._pending:
            pending.remaining_s -= elapsed
            if pending.remaining_s <= 1e-9:
                due.append(pending)
        self._pending = [p for p in self._pending if p.remaining_s > 1e-9]
        # In issue order: of two due motion commands the later one wins, as it would have.
        for pending in due:
            self._apply(pending.name, pending.action, pending.handle)
        self._last_snapshot = self._fresh_snapshot()

    def setup(self, *, node: typing.Any, callback_group: typing.Any) -> None:
        """Expose the faults as settable ``sim.fault.*`` parameters of the executor node."""
        from .ros_faults import declare_fault_parameters  # rclpy only when run under ROS
        declare_fault_parameters(node, self.faults)

    def close(self) -> None:
        """Fail the commands still waiting for an acknowledgement."""
        self._fail_pending(CommunicationError('bridge closed before the command was '
                                              'acknowledged'))

    # --- command plumbing ---------------------------------------------------------------

    def _time(self) -> float:
        # Commands sent before the first update are stamped 0, the start of the simulation.
        return self._vehicle.now_s if self._vehicle.now_s is not None else 0.0

    def _log(self, name: str) -> float:
        now = self._time()
        self.command_log.append((now, name))
        self.last_command_time_s = now
        return now

    def _fail_pending(self, error: ExecutionError) -> None:
        pending, self._pending = self._pending, []
        for item in pending:
            item.handle.set_error(error)

    def _refusal(self, name: str) -> typing.Optional[ExecutionError]:
        faults = self.faults
        if name == 'arm' and faults.reject_arming:
            return PlatformRejectedError('arming rejected by the autopilot (injected fault)',
                                         code=_ARMING_REJECTED)
        if faults.rejects_command(name):
            return PlatformRejectedError(f'{name} rejected by the autopilot (injected fault)')
        if faults.rejects_mode(name):
            return PlatformRejectedError(
                f'mode change for {name} rejected by the autopilot (injected fault)',
                code=_MODE_REJECTED if name == 'takeoff' else None)
        return None

    def _apply(self, name: str, action: typing.Callable[[], typing.Any],
               handle: CommandHandle) -> CommandHandle:
        refusal = self._refusal(name)
        if refusal is not None:
            handle.set_error(refusal)
            return handle
        try:
            value = action()
        except ExecutionError as e:
            handle.set_error(e)
        else:
            handle.set_result(value)
        return handle

    def _command(self, name: str, action: typing.Callable[[], typing.Any]) -> CommandHandle:
        """Issue a normal command: refused, applied now, or applied after ack_delay_s."""
        self._log(name)
        if name in _UNSUPPORTED[self.platform]:
            return CommandHandle.failed(UnsupportedOperationError(
                f'{name} is not possible for a {self.platform.value} robot'), name)
        if self.faults.link_down:
            return CommandHandle.failed(
                CommunicationError(f'{name} not sent: link to the robot is down'), name)
        handle = CommandHandle(name)
        if self.faults.ack_delay_s > 0.0:
            self._pending.append(_Pending(name, action, handle, self.faults.ack_delay_s))
            return handle
        return self._apply(name, action, handle)

    def _emergency(self, name: str, action: typing.Callable[[], None]) -> CommandHandle:
        """Issue an emergency command: never delayed, never refused but by a lost link."""
        self._log(name)
        if name in _UNSUPPORTED[self.platform]:
            return CommandHandle.failed(UnsupportedOperationError(
                f'{name} is not possible for a {self.platform.value} robot'), name)
        if self.faults.link_down:
            return CommandHandle.failed(
                CommunicationError(f'{name} not sent: link to the robot is down'), name)
        self._fail_pending(PreemptedError(f'superseded by {name}'))
        try:
            action()
        except ExecutionError as e:
            return CommandHandle.failed(e, name)
        return CommandHandle.succeeded(None, name)

    # --- PlatformBridge -----------------------------------------------------------------

    def arm(self) -> CommandHandle:
        """Arm the motors (enable, for ground and surface robots)."""
        return self._command('arm', self._vehicle.arm)

    def disarm(self) -> CommandHandle:
        """Disarm; a drone refuses while off the ground."""
        return self._command('disarm', self._vehicle.disarm)

    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> CommandHandle:
        """Climb to altitude_m (armed drones); acknowledged when the climb starts."""
        return self._command('takeoff', lambda: self._vehicle.takeoff(
            altitude_m=altitude_m, climb_speed_mps=climb_speed_mps))

    def land(self, *, descent_speed_mps: float) -> CommandHandle:
        """Descend and touch down (drones); touchdown disarms."""
        return self._command('land', lambda: self._vehicle.land(
            descent_speed_mps=descent_speed_mps))

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> CommandHandle:
        """Start moving to a point; speed 0 means the cruise speed, above the limit is clamped."""
        return self._command('go_to', lambda: self._vehicle.go_to(
            x_m=x_m, y_m=y_m, z_m=z_m, speed_mps=speed_mps, yaw_rad=yaw_rad))

    def hold(self) -> CommandHandle:
        """Brake and hold: hover, stand still, or keep station with a small drift."""
        return self._command('hold', self._vehicle.hold)

    def emergency_stop(self) -> CommandHandle:
        """Brake at the acceleration limit from the next update on; drones hover."""
        return self._emergency('emergency_stop', self._vehicle.emergency_stop)

    def emergency_land(self) -> CommandHandle:
        """Land now at the current position (drones)."""
        return self._emergency('emergency_land', self._vehicle.emergency_land)

    def capture_image(self, *, camera_id: str) -> CommandHandle:
        """Take one picture; the value is ``sim://<robot_id>/<camera>/<n>.jpg``."""
        return self._command('capture_image', lambda: self._vehicle.capture_image(
            camera_id=camera_id))

    def start_recording(self, *, camera_id: str) -> CommandHandle:
        """Start a video; the value is the URI the video will have."""
        return self._command('start_recording', lambda: self._vehicle.start_recording(
            camera_id=camera_id))

    def stop_recording(self, *, camera_id: str) -> CommandHandle:
        """Stop a video; the value is ``sim://<robot_id>/<camera>/video_<n>.mp4``."""
        return self._command('stop_recording', lambda: self._vehicle.stop_recording(
            camera_id=camera_id))

    def attach_payload(self, *, payload_id: str, expected_mass_kg: float) -> CommandHandle:
        """Attach a payload; the value is the measured mass (``faults.payload_mass_kg``)."""
        return self._command('attach_payload', lambda: self._vehicle.attach_payload(
            payload_id=payload_id, expected_mass_kg=expected_mass_kg))

    def release_payload(self) -> CommandHandle:
        """Release the payload; the value is its payload_id (code 1301 when none)."""
        return self._command('release_payload', self._vehicle.release_payload)

    def dock(self, *, dock_id: str) -> CommandHandle:
        """Drive onto a known dock; unknown dock ids fail with code 1501 (DOCK_NOT_FOUND)."""
        return self._command('dock', lambda: self._vehicle.dock(dock_id=dock_id))

    def undock(self, *, distance_m: float) -> CommandHandle:
        """Back distance_m off the dock; fails with code 1601 (NOT_DOCKED) when not docked."""
        return self._command('undock', lambda: self._vehicle.undock(distance_m=distance_m))

    def send_data(self, *, destination: str, content_type: str, data: bytes) -> CommandHandle:
        """Deliver bytes to :attr:`sent_data`; the value is the number of bytes sent."""
        def deliver() -> int:
            if not destination:
                raise InvalidParametersError('destination must not be empty')
            payload = bytes(data)
            self.sent_data.append((self._time(), destination, content_type, payload))
            return len(payload)
        return self._command('send_data', deliver)
