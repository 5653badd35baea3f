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
Deterministic kinematic models of a multirotor, a ground robot and a surface vessel.

A vehicle only moves when :meth:`SimVehicle.update` is called with a later time: it never
reads a clock and never sleeps, so the same calls give the same trajectory, in tests driven
by hand and under ``use_sim_time`` alike. Motion is integrated in fixed steps of at most
20 ms whatever the caller's rate, with a speed limit and a finite acceleration used for both
speeding up and braking (a point mass for the drone, a unicycle with a yaw-rate limit for
the ground robot and the vessel). There is no odometry noise; the only deliberate wander is
the vessel's bounded station-keeping drift, itself a deterministic function of time.

Commands are synchronous here: they change the target at once, return a value or raise an
:class:`~brain_execution.core.errors.ExecutionError`. Acknowledgement delays, rejections
and lost links belong to :class:`~brain_execution.sim.bridge.SimBridge`.
"""

import dataclasses
import enum
import math
import typing

from .faults import SimFaults
from ..core.errors import (
    ExecutionError, InvalidParametersError, PlatformRejectedError, UnsupportedOperationError)
from ..core.state import LandedState, Platform, RobotSnapshot

__all__ = [
    'BatteryModel',
    'DroneVehicle',
    'GroundVehicle',
    'MotionLimits',
    'SimMode',
    'SimVehicle',
    'SurfaceVehicle',
    'default_limits',
    'make_vehicle',
]

# Per-operation result codes (see brain_execution_interfaces/action/*.action).
_ARMING_REJECTED = 101
_PAYLOAD_TOO_HEAVY = 1202
_NO_PAYLOAD = 1301
_CAMERA_UNAVAILABLE = 1001
_VIDEO_CAMERA_UNAVAILABLE = 1101
_DOCK_NOT_FOUND = 1501
_NOT_DOCKED = 1601

# 20 ms keeps one step's travel at 5 m/s to 10 cm and a braking step at 8 m/s^2 to 0.16 m/s,
# so arrival and braking look the same at any caller rate.
_STEP_S = 0.02
# A jump larger than this (a restarted /clock, a first stamp far from zero) re-bases time
# instead of integrating hours of motion in one call.
_MAX_JUMP_S = 3600.0
# Braking is planned at 90 % of the acceleration limit, so the discrete steps, which lag the
# ideal profile by up to one step, still stop on the target instead of past it.
_BRAKE_MARGIN = 0.9
# Within this distance (and nearly stopped) a vehicle is put exactly on its target, which
# keeps a unicycle from circling a point it can only approach tangentially.
_DRONE_SNAP_M = 0.005
_PLANAR_SNAP_M = 0.02
# A robot this far from its dock is no longer on it (it drove or was pushed off).
_DOCK_RADIUS_M = 0.3
# Past this heading error a unicycle turns on the spot before driving.
_TURN_IN_PLACE_RAD = math.pi / 4.0
_EMERGENCY_DESCENT_MPS = 1.5
# PX4's battery failsafe lands at about the default Land descent speed.
_FAILSAFE_DESCENT_MPS = 0.7


class SimMode(str, enum.Enum):
    """Mode names a simulated robot reports in ``RobotSnapshot.mode``."""

    IDLE = 'IDLE'
    TAKEOFF = 'TAKEOFF'
    HOLD = 'HOLD'
    GOTO = 'GOTO'
    LAND = 'LAND'
    DOCK = 'DOCK'
    DOCKED = 'DOCKED'
    UNDOCK = 'UNDOCK'
    EMERGENCY_STOP = 'EMERGENCY_STOP'
    EMERGENCY_LAND = 'EMERGENCY_LAND'


@dataclasses.dataclass(frozen=True)
class MotionLimits:
    """
    Kinematic limits of a vehicle.

    :param max_speed_mps: horizontal (or 3D, for a drone) speed limit; faster requests are
        clamped, as autopilots clamp them.
    :param cruise_speed_mps: speed used when a go_to asks for 0.
    :param max_accel_mps2: acceleration and braking limit.
    :param max_climb_mps: vertical speed limit when climbing (drones).
    :param max_descent_mps: vertical speed limit when descending (drones).
    :param max_yaw_rate_radps: turn rate limit.
    :param max_payload_kg: heaviest payload the robot may carry.
    """

    max_speed_mps: float
    cruise_speed_mps: float
    max_accel_mps2: float
    max_climb_mps: float = 0.0
    max_descent_mps: float = 0.0
    max_yaw_rate_radps: float = 1.0
    max_payload_kg: float = 0.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'{field.name} must be finite and >= 0, got {value!r}')
        if self.max_speed_mps <= 0.0 or self.max_accel_mps2 <= 0.0:
            raise ValueError('max_speed_mps and max_accel_mps2 must be > 0')
        if not 0.0 < self.cruise_speed_mps <= self.max_speed_mps:
            raise ValueError(
                f'cruise_speed_mps must be in (0, max_speed_mps={self.max_speed_mps}], '
                f'got {self.cruise_speed_mps!r}')
        if self.max_yaw_rate_radps <= 0.0:
            raise ValueError('max_yaw_rate_radps must be > 0')


@dataclasses.dataclass(frozen=True)
class BatteryModel:
    """
    Battery drain and charge rates, in percent of capacity.

    Drain per second = idle + motion * speed (m/s) + hover (drones off the ground), times
    ``SimFaults.drain_multiplier``; a docked robot charges instead.

    :param idle_percent_per_s: drain of the electronics, always on.
    :param motion_percent_per_m: drain per metre travelled (percent per second per m/s).
    :param hover_percent_per_s: extra drain of a drone keeping itself in the air.
    :param charge_percent_per_s: charge rate while docked.
    """

    idle_percent_per_s: float = 0.002
    motion_percent_per_m: float = 0.01
    hover_percent_per_s: float = 0.0
    charge_percent_per_s: float = 0.5

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'{field.name} must be finite and >= 0, got {value!r}')


def _wrap(angle_rad: float) -> float:
    """Return the angle in [-pi, pi)."""
    return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi


def _toward(value: float, goal: float, max_change: float) -> float:
    """Return value moved toward goal by at most max_change."""
    return value + max(-max_change, min(max_change, goal - value))


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise InvalidParametersError(f'{name} must be finite, got {value!r}')
    return float(value)


def _positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0.0):
        raise InvalidParametersError(f'{name} must be finite and > 0, got {value!r}')
    return float(value)


class SimVehicle:
    """
    State and commands shared by every simulated platform; subclasses define motion.

    :param robot_id: name used in camera URIs.
    :param limits: kinematic limits; the platform's defaults when None.
    :param battery: battery model; the platform's defaults when None.
    :param battery_percent: initial charge, 0..100.
    :param position_m: initial (x, y) in the local ENU frame, metres.
    :param yaw_rad: initial heading (ENU, 0 = east).
    :param docks: dock_id -> (x, y) of the docks this robot knows (ground and surface).
    :param start_docked: start on the dock at ``position_m``.
    :param cameras: camera names; an empty camera_id means the first one.
    :param faults: shared fault switches; a fresh, fault-free set when None.
    """

    platform: Platform = None
    default_limits: MotionLimits = None
    default_battery: BatteryModel = BatteryModel()

    def __init__(self, *, robot_id: str,
                 limits: typing.Optional[MotionLimits] = None,
                 battery: typing.Optional[BatteryModel] = None,
                 battery_percent: float = 100.0,
                 position_m: typing.Tuple[float, float] = (0.0, 0.0),
                 yaw_rad: float = 0.0,
                 docks: typing.Optional[typing.Mapping[str, typing.Tuple[float, float]]] = None,
                 start_docked: bool = False,
                 cameras: typing.Sequence[str] = ('default',),
                 faults: typing.Optional[SimFaults] = None):
        if not robot_id:
            raise ValueError('robot_id must not be empty')
        if not 0.0 <= battery_percent <= 100.0:
            raise ValueError(f'battery_percent must be 0..100, got {battery_percent!r}')
        if not cameras:
            raise ValueError('cameras must name at least one camera')
        self.robot_id = robot_id
        self.limits = limits or self.default_limits
        self.battery_model = battery or self.default_battery
        self.faults = faults if faults is not None else SimFaults()
        self.docks = {str(k): (float(v[0]), float(v[1])) for k, v in (docks or {}).items()}
        self.cameras = tuple(cameras)

        self._now_s = None
        self._x, self._y, self._z = float(position_m[0]), float(position_m[1]), 0.0
        self._yaw = _wrap(float(yaw_rad))
        self._vx = self._vy = self._vz = self._yaw_rate = 0.0
        self._battery = float(battery_percent)
        self._depleted = self._battery <= 0.0
        self._armed = False
        self._mode = SimMode.IDLE
        self._landed = LandedState.ON_GROUND
        self._target = None
        self._target_speed = 0.0
        self._target_yaw = None
        self._hold_point = None
        self._docked_id = None
        self._payload_id = ''
        self._payload_mass = 0.0
        self._image_count = {}
        self._video_count = {}
        self._recording = set()
        if start_docked:
            self._docked_id = self._dock_at(self._x, self._y)
            self._x, self._y = self.docks[self._docked_id]
            self._mode = SimMode.DOCKED

    # --- time ---------------------------------------------------------------------------

    @property
    def now_s(self) -> typing.Optional[float]:
        """Return the time of the last update, or None before the first one."""
        return self._now_s

    def update(self, now_s: float) -> None:
        """
        Integrate motion and battery up to now_s (seconds on the caller's clock).

        The first call, a call with an earlier time (a restarted simulation) and a jump of
        more than an hour only set the time base; nothing moves across them.
        """
        now_s = float(now_s)
        if self._now_s is None or now_s < self._now_s or now_s - self._now_s > _MAX_JUMP_S:
            self._now_s = now_s
            return
        while now_s - self._now_s > 1e-9:
            dt = min(_STEP_S, now_s - self._now_s)
            self._step(dt)
            self._now_s += dt
        self._now_s = now_s

    def halt(self, now_s: float) -> None:
        """
        Stop dead and resume the time base at now_s, integrating nothing in between.

        For a drive whose command stream stopped (its controller froze): a base's command
        timeout stops the motors, so the vehicle did not coast through the gap. Targets are
        kept, as a controller that comes back resumes them.
        """
        self._vx = self._vy = self._vz = self._yaw_rate = 0.0
        self._stop_planar()
        self._now_s = float(now_s)

    def _step(self, dt: float) -> None:
        if self.faults.stuck:
            # A stuck vehicle keeps its targets, so it resumes them once it is free again.
            self._vx = self._vy = self._vz = self._yaw_rate = 0.0
            self._stop_planar()
        else:
            self._move(dt)
        if self._docked_id is not None:
            dock_x, dock_y = self.docks[self._docked_id]
            if math.hypot(self._x - dock_x, self._y - dock_y) > _DOCK_RADIUS_M:
                self._docked_id = None
        self._update_battery(dt)

    def _move(self, dt: float) -> None:
        raise NotImplementedError

    def _stop_planar(self) -> None:
        """Zero any internal speed state that the velocity fields do not hold."""

    # --- state --------------------------------------------------------------------------

    @property
    def docked_id(self) -> typing.Optional[str]:
        """Return the dock the robot is on, or None."""
        return self._docked_id

    @property
    def recording(self) -> typing.FrozenSet[str]:
        """Return the cameras currently recording."""
        return frozenset(self._recording)

    def snapshot(self) -> RobotSnapshot:
        """Return the current state; latitude and longitude are left unknown (NaN)."""
        battery = self._battery
        if self.faults.battery_percent is not None:
            battery = self.faults.battery_percent
        return RobotSnapshot(
            platform=self.platform,
            stamp_s=self._now_s if self._now_s is not None else 0.0,
            x_m=self._x, y_m=self._y, z_m=self._z, yaw_rad=self._yaw,
            vx_mps=self._vx, vy_mps=self._vy, vz_mps=self._vz,
            yaw_rate_radps=self._yaw_rate,
            battery_percent=battery,
            armed=self._armed,
            mode=self._mode.value,
            landed_state=self._landed,
            docked=self._docked_id is not None,
            payload_id=self._payload_id,
            payload_mass_kg=self._payload_mass,
        )

    def _speed(self) -> float:
        return math.sqrt(self._vx ** 2 + self._vy ** 2 + self._vz ** 2)

    # --- battery ------------------------------------------------------------------------

    def _update_battery(self, dt: float) -> None:
        model = self.battery_model
        if self.faults.battery_percent is not None:
            # Held at the override, and continuing from it once the override is cleared.
            self._battery = self.faults.battery_percent
        elif self._docked_id is not None:
            self._battery = min(100.0, self._battery + model.charge_percent_per_s * dt)
        else:
            drain = model.idle_percent_per_s + model.motion_percent_per_m * self._speed()
            if self._landed != LandedState.ON_GROUND:
                drain += model.hover_percent_per_s
            self._battery = max(0.0, self._battery - drain * self.faults.drain_multiplier * dt)
        if self._battery <= 0.0 and not self._depleted:
            self._depleted = True
            self._on_depleted()
        elif self._battery > 0.0:
            self._depleted = False

    def _on_depleted(self) -> None:
        """React once to an empty battery: stop (ground, surface) or land (drones)."""
        self._set_hold(SimMode.HOLD)

    def _check_energy(self, command: str) -> None:
        if self.snapshot().battery_percent <= 0.0:
            raise PlatformRejectedError(f'{command} refused: battery is empty')

    # --- commands common to all platforms ------------------------------------------------

    def arm(self) -> None:
        """Arm the motors (enable, for ground and surface robots)."""
        if self.snapshot().battery_percent <= 0.0:
            raise PlatformRejectedError('arming refused: battery is empty', code=_ARMING_REJECTED)
        self._armed = True

    def disarm(self) -> None:
        """Disarm; ground and surface robots brake to a stop."""
        self._armed = False
        if self._mode not in (SimMode.DOCKED, SimMode.IDLE):
            self._set_hold(SimMode.HOLD)

    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> None:
        """Climb to altitude_m (drones only)."""
        raise UnsupportedOperationError(
            f'takeoff is not possible for a {self.platform.value} robot')

    def land(self, *, descent_speed_mps: float) -> None:
        """Descend and touch down (drones only)."""
        raise UnsupportedOperationError(f'land is not possible for a {self.platform.value} robot')

    def emergency_land(self) -> None:
        """Land at once at the current position (drones only)."""
        raise UnsupportedOperationError(
            f'emergency_land is not possible for a {self.platform.value} robot')

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> None:
        """Start moving to a point; z_m is ignored by ground and surface robots."""
        raise NotImplementedError

    def hold(self) -> None:
        """Brake and keep the position reached."""
        if self._mode != SimMode.DOCKED:
            self._set_hold(SimMode.HOLD)

    def emergency_stop(self) -> None:
        """Brake at the acceleration limit now; a flying drone hovers, motors stay on."""
        self._set_hold(SimMode.EMERGENCY_STOP)

    def dock(self, *, dock_id: str) -> None:
        """Drive onto a known dock; ``snapshot().docked`` turns True on arrival."""
        raise UnsupportedOperationError(f'dock is not possible for a {self.platform.value} robot')

    def undock(self, *, distance_m: float) -> None:
        """Back distance_m off the dock; ``snapshot().docked`` turns False once off it."""
        raise UnsupportedOperationError(
            f'undock is not possible for a {self.platform.value} robot')

    def attach_payload(self, *, payload_id: str, expected_mass_kg: float) -> float:
        """Attach a payload; return the measured mass in kg (NaN if it cannot be weighed)."""
        if not payload_id:
            raise InvalidParametersError('payload_id must not be empty')
        if not (math.isfinite(expected_mass_kg) and expected_mass_kg >= 0.0):
            raise InvalidParametersError(
                f'expected_mass_kg must be finite and >= 0, got {expected_mass_kg!r}')
        if self._payload_id:
            raise PlatformRejectedError(
                f'cannot attach {payload_id!r}: already carrying {self._payload_id!r}')
        measured = expected_mass_kg
        if self.faults.payload_mass_kg is not None:
            measured = self.faults.payload_mass_kg
        # NaN (cannot weigh) compares False, so only the expected mass is checked then.
        heaviest = measured if measured > expected_mass_kg else expected_mass_kg
        if heaviest > self.limits.max_payload_kg:
            raise ExecutionError(
                f'payload {payload_id!r} of {heaviest} kg exceeds the limit of '
                f'{self.limits.max_payload_kg} kg', code=_PAYLOAD_TOO_HEAVY)
        self._payload_id, self._payload_mass = payload_id, measured
        return measured

    def release_payload(self) -> str:
        """Release the payload carried; return its id."""
        if not self._payload_id:
            raise ExecutionError('no payload attached', code=_NO_PAYLOAD)
        payload_id, self._payload_id, self._payload_mass = self._payload_id, '', 0.0
        return payload_id

    def _camera(self, camera_id: str, code: int) -> str:
        camera = camera_id or self.cameras[0]
        if camera not in self.cameras:
            raise ExecutionError(
                f'camera_id {camera_id!r} is unknown; known: {list(self.cameras)}', code=code)
        if self.faults.camera_unavailable:
            raise ExecutionError(f'camera {camera!r} is unavailable', code=code)
        return camera

    def capture_image(self, *, camera_id: str) -> str:
        """Take one picture; return ``sim://<robot_id>/<camera>/<n>.jpg`` (n from 1)."""
        camera = self._camera(camera_id, _CAMERA_UNAVAILABLE)
        self._image_count[camera] = self._image_count.get(camera, 0) + 1
        return f'sim://{self.robot_id}/{camera}/{self._image_count[camera]}.jpg'

    def start_recording(self, *, camera_id: str) -> str:
        """Start a video; return the URI it will have, ``sim://.../video_<n>.mp4``."""
        camera = self._camera(camera_id, _VIDEO_CAMERA_UNAVAILABLE)
        if camera in self._recording:
            raise PlatformRejectedError(f'camera {camera!r} is already recording')
        self._recording.add(camera)
        self._video_count[camera] = self._video_count.get(camera, 0) + 1
        return self._video_uri(camera)

    def stop_recording(self, *, camera_id: str) -> str:
        """Stop the video of a camera; return its URI."""
        camera = self._camera(camera_id, _VIDEO_CAMERA_UNAVAILABLE)
        if camera not in self._recording:
            raise PlatformRejectedError(f'camera {camera!r} is not recording')
        self._recording.discard(camera)
        return self._video_uri(camera)

    def _video_uri(self, camera: str) -> str:
        return f'sim://{self.robot_id}/{camera}/video_{self._video_count[camera]}.mp4'

    # --- helpers ------------------------------------------------------------------------

    def _dock_at(self, x_m: float, y_m: float) -> str:
        for dock_id, (dock_x, dock_y) in sorted(self.docks.items()):
            if math.hypot(x_m - dock_x, y_m - dock_y) <= _DOCK_RADIUS_M:
                return dock_id
        raise ValueError(f'start_docked needs a dock within {_DOCK_RADIUS_M} m of '
                         f'({x_m}, {y_m}); docks: {self.docks}')

    def _set_hold(self, mode: SimMode) -> None:
        self._mode = mode
        self._target = None
        self._hold_point = None

    def _resolve_speed(self, speed_mps: float) -> float:
        if not (math.isfinite(speed_mps) and speed_mps >= 0.0):
            raise InvalidParametersError(f'speed_mps must be finite and >= 0, got {speed_mps!r}')
        if speed_mps == 0.0:
            return self.limits.cruise_speed_mps
        return min(speed_mps, self.limits.max_speed_mps)

    def _turn(self, dt: float) -> None:
        """Turn toward the requested final yaw, if any, at the yaw-rate limit."""
        if self._target_yaw is None:
            self._yaw_rate = 0.0
            return
        error = _wrap(self._target_yaw - self._yaw)
        step = max(-self.limits.max_yaw_rate_radps * dt,
                   min(self.limits.max_yaw_rate_radps * dt, error))
        self._yaw = _wrap(self._yaw + step)
        self._yaw_rate = step / dt
        if abs(error - step) < 1e-9:
            self._yaw, self._target_yaw = self._target_yaw, None


class DroneVehicle(SimVehicle):
    """A multirotor: a 3D point mass with PX4-like takeoff, hover, land and auto-disarm."""

    platform = Platform.DRONE
    default_limits = MotionLimits(
        max_speed_mps=15.0, cruise_speed_mps=5.0, max_accel_mps2=8.0, max_climb_mps=5.0,
        max_descent_mps=3.0, max_yaw_rate_radps=1.5, max_payload_kg=2.0)
    default_battery = BatteryModel(
        idle_percent_per_s=0.005, motion_percent_per_m=0.01, hover_percent_per_s=0.05,
        charge_percent_per_s=0.5)

    def __init__(self, **kwargs):
        if kwargs.get('start_docked'):
            raise ValueError('a drone has no dock (Dock is for ground and surface robots)')
        super().__init__(**kwargs)

    def disarm(self) -> None:
        """Disarm; refused while the drone is off the ground."""
        if self._landed != LandedState.ON_GROUND:
            raise PlatformRejectedError(
                f'disarm refused: drone is {self._landed.name} at {self._z:.1f} m')
        self._armed = False
        self._mode = SimMode.IDLE

    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> None:
        """Climb vertically to altitude_m above home at climb_speed_mps (clamped)."""
        altitude_m = _positive('altitude_m', altitude_m)
        climb = min(_positive('climb_speed_mps', climb_speed_mps), self.limits.max_climb_mps)
        if not self._armed:
            raise PlatformRejectedError('takeoff refused: not armed')
        if self._landed in (LandedState.IN_AIR, LandedState.LANDING):
            raise PlatformRejectedError(f'takeoff refused: already airborne at {self._z:.1f} m')
        self._check_energy('takeoff')
        self._landed = LandedState.TAKING_OFF
        self._mode = SimMode.TAKEOFF
        self._target = (self._x, self._y, altitude_m)
        self._target_speed = climb
        self._hold_point = None

    def land(self, *, descent_speed_mps: float) -> None:
        """Descend at descent_speed_mps (clamped); touchdown disarms."""
        descent = min(_positive('descent_speed_mps', descent_speed_mps),
                      self.limits.max_descent_mps)
        self._start_landing(SimMode.LAND, descent)

    def emergency_land(self) -> None:
        """Land now at the current position at the emergency descent speed."""
        self._start_landing(SimMode.EMERGENCY_LAND,
                            min(_EMERGENCY_DESCENT_MPS, self.limits.max_descent_mps))

    def _start_landing(self, mode: SimMode, descent_mps: float) -> None:
        if self._landed == LandedState.ON_GROUND:
            return
        self._landed = LandedState.LANDING
        self._mode = mode
        self._target = None
        self._target_speed = descent_mps
        self._hold_point = None

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> None:
        """Fly to (x_m, y_m, z_m) in a straight line; the drone must be in the air."""
        target = (_finite('x_m', x_m), _finite('y_m', y_m), _finite('z_m', z_m))
        if z_m < 0.0:
            raise InvalidParametersError(f'z_m must be >= 0 (height above home), got {z_m!r}')
        speed = self._resolve_speed(speed_mps)
        if yaw_rad is not None:
            yaw_rad = _wrap(_finite('yaw_rad', yaw_rad))
        if self._landed == LandedState.ON_GROUND:
            raise PlatformRejectedError('go_to refused: drone is on the ground, take off first')
        self._check_energy('go_to')
        # A reposition during takeoff or landing takes over, as in PX4.
        self._landed = LandedState.IN_AIR
        self._mode = SimMode.GOTO
        self._target, self._target_speed, self._target_yaw = target, speed, yaw_rad
        self._hold_point = None

    def hold(self) -> None:
        """Brake and hover; a takeoff or landing in progress stops where it is."""
        if self._landed == LandedState.ON_GROUND:
            return
        self._landed = LandedState.IN_AIR
        self._set_hold(SimMode.HOLD)

    def emergency_stop(self) -> None:
        """Brake to a hover at the acceleration limit; a drone on the ground stays there."""
        if self._landed != LandedState.ON_GROUND:
            self._landed = LandedState.IN_AIR
        self._set_hold(SimMode.EMERGENCY_STOP)

    def _on_depleted(self) -> None:
        # PX4's battery failsafe: land where it is.
        if self._landed != LandedState.ON_GROUND and self._mode != SimMode.EMERGENCY_LAND:
            self._start_landing(SimMode.LAND, _FAILSAFE_DESCENT_MPS)

    def _accelerate(self, vx: float, vy: float, vz: float, dt: float) -> None:
        """Move the velocity toward (vx, vy, vz) by at most the acceleration limit."""
        dvx, dvy, dvz = vx - self._vx, vy - self._vy, vz - self._vz
        dv = math.sqrt(dvx * dvx + dvy * dvy + dvz * dvz)
        max_dv = self.limits.max_accel_mps2 * dt
        if dv > max_dv:
            scale = max_dv / dv
            dvx, dvy, dvz = dvx * scale, dvy * scale, dvz * scale
        self._vx += dvx
        self._vy += dvy
        self._vz += dvz

    def _integrate(self, dt: float) -> None:
        self._x += self._vx * dt
        self._y += self._vy * dt
        self._z += self._vz * dt

    def _approach(self, dt: float) -> bool:
        """Fly toward the target at the target speed; return True once on it."""
        tx, ty, tz = self._target
        dx, dy, dz = tx - self._x, ty - self._y, tz - self._z
        distance = math.sqrt(dx * dx + dy * dy + dz * dz)
        if distance <= _DRONE_SNAP_M and self._speed() <= 2.0 * self.limits.max_accel_mps2 * dt:
            self._x, self._y, self._z = tx, ty, tz
            self._vx = self._vy = self._vz = 0.0
            return True
        speed = min(self._target_speed,
                    math.sqrt(2.0 * _BRAKE_MARGIN * self.limits.max_accel_mps2 * distance),
                    distance / dt)
        scale = speed / distance if distance > 0.0 else 0.0
        self._accelerate(dx * scale, dy * scale, dz * scale, dt)
        self._integrate(dt)
        return False

    def _move(self, dt: float) -> None:
        self._turn(dt)
        if self._landed == LandedState.ON_GROUND:
            self._vx = self._vy = self._vz = 0.0
            return
        if self._mode in (SimMode.TAKEOFF, SimMode.GOTO):
            if self._approach(dt):
                if self._mode == SimMode.TAKEOFF:
                    self._landed = LandedState.IN_AIR
                self._mode = SimMode.HOLD
                self._hold_point, self._target = self._target, None
        elif self._mode in (SimMode.LAND, SimMode.EMERGENCY_LAND):
            self._accelerate(0.0, 0.0, -self._target_speed, dt)
            self._integrate(dt)
            if self._z <= 0.0:
                self._touchdown()
        elif self._hold_point is None:
            self._accelerate(0.0, 0.0, 0.0, dt)
            self._integrate(dt)
            if self._speed() == 0.0:
                self._hold_point = (self._x, self._y, self._z)
        # else: hovering on the hold point, nothing moves.

    def _touchdown(self) -> None:
        self._z = 0.0
        self._vx = self._vy = self._vz = 0.0
        self._landed = LandedState.ON_GROUND
        # PX4 disarms on landing detection (COM_DISARM_LAND); here at once.
        self._armed = False
        self._mode = SimMode.IDLE
        self._target = None


class GroundVehicle(SimVehicle):
    """A ground robot: a unicycle that turns toward its target, then drives; no z."""

    platform = Platform.GROUND
    default_limits = MotionLimits(
        max_speed_mps=2.0, cruise_speed_mps=1.0, max_accel_mps2=3.0, max_yaw_rate_radps=1.5,
        max_payload_kg=50.0)
    default_battery = BatteryModel(
        idle_percent_per_s=0.002, motion_percent_per_m=0.01, charge_percent_per_s=0.5)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Signed speed along the heading; negative when backing off a dock.
        self._forward = 0.0
        self._reverse = False
        self._dock_target = None

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> None:
        """Drive to (x_m, y_m); z_m is ignored; yaw_rad is taken on arrival."""
        target = (_finite('x_m', x_m), _finite('y_m', y_m))
        speed = self._resolve_speed(speed_mps)
        if yaw_rad is not None:
            yaw_rad = _wrap(_finite('yaw_rad', yaw_rad))
        self._check_energy('go_to')
        self._drive_to(SimMode.GOTO, target, speed, reverse=False)
        self._target_yaw = yaw_rad

    def dock(self, *, dock_id: str) -> None:
        """Drive onto a known dock at cruise speed; unknown ids fail with code 1501."""
        if dock_id not in self.docks:
            raise ExecutionError(
                f'dock_id {dock_id!r} is unknown; known: {sorted(self.docks)}',
                code=_DOCK_NOT_FOUND)
        if self._docked_id == dock_id:
            return
        self._check_energy('dock')
        self._drive_to(SimMode.DOCK, self.docks[dock_id], self.limits.cruise_speed_mps,
                       reverse=False)
        self._target_yaw = None
        self._dock_target = dock_id

    def undock(self, *, distance_m: float) -> None:
        """Back straight off the dock by distance_m; not docked fails with code 1601."""
        distance_m = _positive('distance_m', distance_m)
        if self._docked_id is None:
            raise ExecutionError('undock refused: not docked', code=_NOT_DOCKED)
        self._check_energy('undock')
        target = (self._x - distance_m * math.cos(self._yaw),
                  self._y - distance_m * math.sin(self._yaw))
        self._drive_to(SimMode.UNDOCK, target, min(self.limits.cruise_speed_mps, 0.5),
                       reverse=True)
        self._target_yaw = None

    def _drive_to(self, mode: SimMode, target: typing.Tuple[float, float], speed: float, *,
                  reverse: bool) -> None:
        self._mode = mode
        self._target, self._target_speed, self._reverse = target, speed, reverse
        self._hold_point = None

    def _stop_planar(self) -> None:
        self._forward = 0.0

    def _set_velocity(self) -> None:
        self._vx = self._forward * math.cos(self._yaw)
        self._vy = self._forward * math.sin(self._yaw)
        self._vz = 0.0

    def _drive(self, dt: float) -> bool:
        """Turn toward the target and drive; return True once on it."""
        tx, ty = self._target
        dx, dy = tx - self._x, ty - self._y
        distance = math.hypot(dx, dy)
        accel = self.limits.max_accel_mps2
        if distance <= _PLANAR_SNAP_M and abs(self._forward) <= 2.0 * accel * dt:
            self._x, self._y = tx, ty
            self._forward = self._yaw_rate = 0.0
            self._set_velocity()
            return True
        bearing = math.atan2(dy, dx) + (math.pi if self._reverse else 0.0)
        error = _wrap(bearing - self._yaw)
        max_turn = self.limits.max_yaw_rate_radps * dt
        turn = max(-max_turn, min(max_turn, error))
        self._yaw = _wrap(self._yaw + turn)
        self._yaw_rate = turn / dt
        error -= turn
        if abs(error) < _TURN_IN_PLACE_RAD:
            # Only the part of the distance along the heading can be driven this step.
            along = distance * math.cos(error)
            wanted = min(self._target_speed, math.sqrt(2.0 * _BRAKE_MARGIN * accel * along),
                         along / dt)
        else:
            wanted = 0.0
        if self._reverse:
            wanted = -wanted
        self._forward = _toward(self._forward, wanted, accel * dt)
        self._set_velocity()
        self._x += self._vx * dt
        self._y += self._vy * dt
        return False

    def _brake(self, dt: float) -> None:
        self._forward = _toward(self._forward, 0.0, self.limits.max_accel_mps2 * dt)
        self._set_velocity()
        self._x += self._vx * dt
        self._y += self._vy * dt

    def _move(self, dt: float) -> None:
        if self._mode in (SimMode.GOTO, SimMode.DOCK, SimMode.UNDOCK):
            if self._drive(dt):
                if self._mode == SimMode.DOCK:
                    self._docked_id = self._dock_target
                    self._mode = SimMode.DOCKED
                    self._target = None
                    return
                if self._mode == SimMode.UNDOCK:
                    self._docked_id = None
                self._mode = SimMode.HOLD
                self._target = None
                self._hold_point = (self._x, self._y, self._now_s + dt)
            return
        if self._forward != 0.0:
            self._yaw_rate = 0.0
            self._brake(dt)
            return
        self._turn(dt)
        self._set_velocity()
        if self._hold_point is None:
            self._hold_point = (self._x, self._y, self._now_s + dt)
        self._keep_station()

    def _keep_station(self) -> None:
        """Stay on the hold point; ground robots simply stand still."""


class SurfaceVehicle(GroundVehicle):
    """
    A surface vessel: a slower unicycle whose station keeping drifts a little.

    :param station_drift_m: radius of the deterministic drift around the hold point, metres.
    :param drift_period_s: period of that drift, seconds.
    """

    platform = Platform.SURFACE
    default_limits = MotionLimits(
        max_speed_mps=3.0, cruise_speed_mps=2.0, max_accel_mps2=2.0, max_yaw_rate_radps=0.5,
        max_payload_kg=100.0)
    default_battery = BatteryModel(
        idle_percent_per_s=0.002, motion_percent_per_m=0.008, charge_percent_per_s=0.5)

    def __init__(self, *, station_drift_m: float = 0.3, drift_period_s: float = 60.0,
                 **kwargs):
        if not (math.isfinite(station_drift_m) and station_drift_m >= 0.0):
            raise ValueError(f'station_drift_m must be finite and >= 0, got {station_drift_m!r}')
        if not (math.isfinite(drift_period_s) and drift_period_s > 0.0):
            raise ValueError(f'drift_period_s must be finite and > 0, got {drift_period_s!r}')
        super().__init__(**kwargs)
        self.station_drift_m = station_drift_m
        self._drift_omega = 2.0 * math.pi / drift_period_s

    def _keep_station(self) -> None:
        if self._mode == SimMode.DOCKED or self._docked_id is not None:
            return
        # A slow circle through the hold point, of diameter station_drift_m: the vessel never
        # strays further than that, and entering station keeping causes no jump.
        hold_x, hold_y, since_s = self._hold_point
        phase = self._drift_omega * (self._now_s - since_s)
        radius = 0.5 * self.station_drift_m
        self._x = hold_x + radius * (1.0 - math.cos(phase))
        self._y = hold_y + radius * math.sin(phase)
        self._vx = radius * self._drift_omega * math.sin(phase)
        self._vy = radius * self._drift_omega * math.cos(phase)


_VEHICLES = {
    Platform.DRONE: DroneVehicle,
    Platform.GROUND: GroundVehicle,
    Platform.SURFACE: SurfaceVehicle,
}


def default_limits(platform: Platform) -> MotionLimits:
    """Return the default kinematic limits of a platform."""
    return _VEHICLES[Platform(platform)].default_limits


def make_vehicle(platform: Platform, **kwargs) -> SimVehicle:
    """
    Return the vehicle model of a platform, built with the keyword arguments given.

    :param platform: the kind of vehicle.
    :param kwargs: arguments of :class:`SimVehicle` (and :class:`SurfaceVehicle`).
    :return: a :class:`DroneVehicle`, :class:`GroundVehicle` or :class:`SurfaceVehicle`.
    """
    return _VEHICLES[Platform(platform)](**kwargs)
