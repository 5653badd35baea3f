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
The autopilot behind sim_mavros: modes, arming, commands, setpoints and failsafes.

No ROS here: time comes in through :meth:`Autopilot.step` (model seconds), commands return
the MAV_RESULT the autopilot would put in its COMMAND_ACK, and what the vehicle physically
does goes to the ``emit`` callback as events. The MAVROS side (acknowledgement timing, the
link, QoS) belongs to :mod:`.node`.
"""

import collections
import dataclasses
import math
import typing

from .faults import MavrosFaults
from .flavours import Flavour
from .vehicle import MavrosDrone, MavrosRover
from ...core.geo import geographic_to_local, GeoPoint
from ...core.state import LandedState

__all__ = ['Autopilot', 'Settings', 'ACCEPTED', 'TEMPORARILY_REJECTED', 'DENIED',
           'UNSUPPORTED', 'FAILED']

# MAV_RESULT
ACCEPTED, TEMPORARILY_REJECTED, DENIED, UNSUPPORTED, FAILED = 0, 1, 2, 3, 4
# MAV_CMD numbers served by cmd/command (CommandLong).
_NAV_LOITER_UNLIM, _NAV_RETURN_TO_LAUNCH, _NAV_LAND, _NAV_TAKEOFF = 17, 20, 21, 22
_DO_REPOSITION, _COMPONENT_ARM_DISARM, _SET_MESSAGE_INTERVAL = 192, 400, 511
# COMPONENT_ARM_DISARM param2 that forces a disarm in flight.
_FORCE_MAGIC = 21196.0
# MAVLink message ids whose streams gate MAVROS topics (ArduPilot sends none unasked).
STREAMS = {'pose': (30, 31, 32), 'global': (33, 24), 'battery': (1, 147)}
# MAV_SEVERITY
_CRITICAL, _WARNING, _INFO = 2, 4, 6
# PX4's MIS_TAKEOFF_ALT: a takeoff altitude below home + this climbs to this instead.
_PX4_MIN_TAKEOFF_M = 2.5
_TOUCHING_M = 0.05


@dataclasses.dataclass(frozen=True)
class Settings:
    """Tuning of the simulated autopilot (see the node's parameters for each meaning)."""

    home: GeoPoint
    offboard_loss_s: float = 1.0
    offboard_min_rate_hz: float = 2.0
    offboard_warmup_s: float = 1.0
    mode_delay_s: float = 0.2
    rtl_altitude_m: float = 15.0
    acceptance_radius_m: float = 0.5
    velocity_timeout_s: float = 1.0
    gps_failsafe_s: float = 1.0
    gcs_failsafe_s: float = -1.0
    battery_low_percent: float = 20.0
    ready_delay_s: float = 1.5
    ekf_delay_s: float = 3.0
    rc_mode_reset_s: float = -1.0
    auto_disarm_s: float = 2.0
    idle_disarm_s: float = -1.0


class Autopilot:
    """
    One simulated autopilot and its vehicle.

    :param flavour: the autopilot imitated.
    :param vehicle: a :class:`.vehicle.MavrosDrone` or :class:`.vehicle.MavrosRover`.
    :param settings: timings and limits.
    :param faults: the shared fault switches.
    :param emit: ``emit(event, **fields)`` for what the vehicle did.
    :param statustext: ``statustext(severity, text)`` for what the autopilot says.
    """

    def __init__(self, *, flavour: Flavour, vehicle: typing.Union[MavrosDrone, MavrosRover],
                 settings: Settings, faults: MavrosFaults,
                 emit: typing.Callable[..., None],
                 statustext: typing.Callable[[int, str], None]):
        self.flavour = flavour
        self.vehicle = vehicle
        self.settings = settings
        self.faults = faults
        self._emit = emit
        self._statustext = statustext
        self.now_s = 0.0
        self._boot_s = None
        self.mode = flavour.initial_mode
        # PX4 goes back to the mode the user chose once an automatic one (a land command, a
        # failsafe) has finished with a disarm.
        self._user_mode = self.mode
        self._pending_mode: typing.Optional[typing.Tuple[float, str]] = None
        self._rc_reset_done = flavour.rc_mode_reset_s < 0.0
        self._setpoints: typing.Deque[float] = collections.deque(maxlen=1024)
        self._setpoint = None
        self._reached = False
        self._velocity_s = None
        self._rtl_phase = None
        self._takeoff_goal = None
        self._touchdown_s = None
        self._armed_s = None
        self._flew = False
        self._gps_lost_s = None
        self._ekf_failsafe = False
        self._gcs_lost_s: typing.Optional[float] = None
        self._gcs_failsafe = False
        self._battery_warned = False
        self._later: typing.List[typing.Tuple[float, typing.Callable[[], None]]] = []
        self.streams: typing.Set[int] = set()
        self._offboard_signal = False
        self._was = self._physical()

    # --- state -----------------------------------------------------------------------------

    @property
    def armed(self) -> bool:
        return self.vehicle.snapshot().armed

    @property
    def uptime_s(self) -> float:
        return 0.0 if self._boot_s is None else self.now_s - self._boot_s

    @property
    def position_ok(self) -> bool:
        """Whether the position estimate is good (no GPS loss, no glitch the EKF rejects)."""
        return not (self.faults.gps_lost or self.faults.gps_glitch)

    @property
    def ekf_ready(self) -> bool:
        return self.uptime_s >= self.settings.ekf_delay_s and self.position_ok

    @property
    def guided(self) -> bool:
        """MAV_MODE_FLAG_GUIDED_ENABLED: the vehicle follows setpoints or an auto mode."""
        return self.mode not in self.flavour.pilot_modes

    def landed_state(self) -> LandedState:
        return self.vehicle.snapshot().landed_state

    def streaming(self, topic: str) -> bool:
        """Return whether the autopilot sends what feeds a MAVROS topic (stream rates)."""
        if not self.flavour.needs_stream_rates:
            return True
        if topic == 'pose' and self.uptime_s < self.settings.ekf_delay_s:
            return False  # no position estimate yet
        return 0 in self.streams or bool(self.streams & set(STREAMS[topic]))

    def offboard_stream_ok(self) -> bool:
        """PX4's offboard signal: setpoints faster than the minimum rate for the warm-up."""
        s = self.settings
        recent = [t for t in self._setpoints if t >= self.now_s - s.offboard_warmup_s]
        if not recent or self.now_s - recent[-1] > s.offboard_loss_s:
            return False
        if recent[0] > self.now_s - s.offboard_warmup_s + 1.0 / s.offboard_min_rate_hz:
            return False  # the stream has not run for the warm-up yet
        gaps = [b - a for a, b in zip(recent, recent[1:])]
        return len(recent) >= 2 and max(gaps, default=math.inf) <= 1.0 / s.offboard_min_rate_hz

    # --- time ------------------------------------------------------------------------------

    def step(self, now_s: float) -> None:
        """Advance the vehicle and the autopilot's timers to now_s (model seconds)."""
        if self._boot_s is None:
            self._boot_s = now_s
        self.now_s = now_s
        self.vehicle.faults.drain_multiplier = 1.0
        self.vehicle.update(now_s)
        self._drain()
        due = [entry for entry in self._later if entry[0] <= now_s]
        self._later = [entry for entry in self._later if entry[0] > now_s]
        for _, action in due:
            action()
        if self._pending_mode is not None and self._pending_mode[0] <= now_s:
            mode, self._pending_mode = self._pending_mode[1], None
            self._enter(mode, by='request')
        self._rc_reset()
        self._signal_watch()
        self._offboard_watch()
        self._velocity_watch()
        self._gps_watch()
        self._gcs_watch()
        self._rtl_step()
        self._takeoff_step()
        self._physical_events()
        self._disarm_watch()

    def skip_silence(self, stalled_s: float) -> None:
        """
        Do not count stalled_s model seconds, in which this process did not run, as silence.

        A real autopilot keeps receiving the client's stream while its simulator is not
        scheduled (a starved host): the setpoints sent meanwhile wait in the socket and are
        read right after the next step. Without this, that step would see the stream as
        stopped and fail safe on a stall of the simulator's own.
        """
        if stalled_s <= 0.0:
            return
        self._setpoints = collections.deque((t + stalled_s for t in self._setpoints),
                                            maxlen=self._setpoints.maxlen)
        if self._velocity_s is not None:
            self._velocity_s += stalled_s

    def later(self, delay_s: float, action: typing.Callable[[], None]) -> None:
        """Run action at the first step delay_s model seconds from now."""
        self._later.append((self.now_s + delay_s, action))

    def _drain(self) -> None:
        extra = self.faults.battery_drain_pct_per_s
        if extra > 0.0 and self._was['t'] is not None:
            dt = self.now_s - self._was['t']
            battery = self.vehicle._battery
            self.vehicle._battery = max(0.0, battery - extra * dt)
        battery = self.vehicle.snapshot().battery_percent
        if battery <= self.settings.battery_low_percent and not self._battery_warned:
            self._battery_warned = True
            self._statustext(_CRITICAL, f'Battery low: {battery:.0f}% remaining')
            self._emit('battery_low', percent=round(battery, 1))

    def _rc_reset(self) -> None:
        if not self._rc_reset_done and self.uptime_s >= self.flavour.rc_mode_reset_s:
            # ArduCopter's RC input arrives and its mode switch re-applies its position.
            self._rc_reset_done = True
            if self.mode != self.flavour.initial_mode and not self.armed:
                self._enter(self.flavour.initial_mode, by='rc')

    # --- modes -----------------------------------------------------------------------------

    def request_mode(self, mode: str) -> bool:
        """SET_MODE from MAVROS: return mode_sent; the mode itself changes a little later."""
        if mode not in self.flavour.modes:
            return False
        if self.faults.ignore_mode_change:
            self._emit('mode_ignored', mode=mode)
            return True
        self._pending_mode = (self.now_s + self.settings.mode_delay_s, mode)
        return True

    def pilot_takeover(self, mode: str) -> None:
        """Switch the mode as a pilot (RC) does: at once, whatever the autopilot was doing."""
        if mode not in self.flavour.modes:
            raise ValueError(f'{mode!r} is not a {self.flavour.name} mode; '
                             f'known: {sorted(self.flavour.modes)}')
        self._pending_mode = None
        self._enter(mode, by='pilot', force=True)

    def _enter(self, mode: str, *, by: str, force: bool = False) -> bool:
        f = self.flavour
        refusal = None if force else self._mode_refusal(mode)
        if refusal:
            self._emit('mode_refused', mode=mode, reason=refusal, by=by)
            if not f.is_px4:
                self._statustext(_WARNING, f'Flight mode change failed: {refusal}')
            return False
        previous, self.mode = self.mode, mode
        if by in ('request', 'pilot', 'rc'):
            self._user_mode = mode
        self._rtl_phase = None
        self._takeoff_goal = None
        if mode != previous:
            self._emit('mode', mode=mode, previous=previous, by=by)
        self._apply_mode()
        return True

    def _mode_refusal(self, mode: str) -> typing.Optional[str]:
        f = self.flavour
        if f.is_px4 and mode == 'OFFBOARD' and self.armed and not self.offboard_stream_ok():
            return 'no offboard signal'
        if mode in (f.guided_mode, f.rtl_mode, 'AUTO', 'AUTO.MISSION') and not f.is_px4 \
                and not self.ekf_ready:
            return 'requires position'
        if f.is_px4 and mode.startswith('AUTO.') and not self.position_ok:
            return 'no valid global position'
        return None

    def _apply_mode(self) -> None:
        """Make the vehicle do what the mode it just entered does."""
        f, v = self.flavour, self.vehicle
        landed = self.landed_state()
        if self.mode == f.land_mode:
            if landed != LandedState.ON_GROUND:
                v.land(descent_speed_mps=f.descent_mps)
        elif self.mode == f.rtl_mode:
            # The return starts from here: a goto still under way (an OFFBOARD target) is
            # dropped, or the vehicle would fly on to it before turning back.
            v.hold()
            self._rtl_phase = 'climb' if f.is_copter else 'return'
        elif self.mode == f.takeoff_mode:
            self._start_takeoff(self._takeoff_height(math.nan), None)
        elif self.mode == f.guided_mode:
            if landed != LandedState.ON_GROUND or not f.is_copter:
                v.hold()
        else:
            v.hold()

    # --- arming ----------------------------------------------------------------------------

    def arm(self, value: bool, force: bool = False) -> int:
        """COMPONENT_ARM_DISARM: return its MAV_RESULT."""
        f = self.flavour
        if not value:
            return self._disarm(force)
        if self.armed:
            return ACCEPTED
        reason = self._arm_refusal()
        if reason is not None:
            self._emit('arm_refused', reason=reason, result=f.arm_refused_result)
            if not f.is_px4:
                self._statustext(_CRITICAL, f'Arm: {reason}')
            return f.arm_refused_result
        self.vehicle.arm()
        self._armed_s = self.now_s
        self._touchdown_s = None
        self._flew = False
        self._emit('armed', mode=self.mode)
        return ACCEPTED

    def _arm_refusal(self) -> typing.Optional[str]:
        f = self.flavour
        if self.faults.arming_denied:
            return self.faults.arming_denied
        if self.uptime_s < self.settings.ready_delay_s:
            if f.is_px4:
                return 'heading estimate not stable'
            index = int(self.uptime_s) % len(f.prearm_texts)
            return f.prearm_texts[index][len('Arm: '):]
        if self.faults.gps_lost:
            return 'GPS 1: Bad fix' if not f.is_px4 else 'no valid global position'
        if self.faults.gps_glitch:
            return 'GPS 1: glitching' if not f.is_px4 else 'no valid global position'
        if self.vehicle.snapshot().battery_percent <= 0.0:
            return 'Battery 1 below minimum'
        if f.is_px4 and self.mode == 'OFFBOARD' and not self.offboard_stream_ok():
            return 'no offboard signal'
        return None

    def _disarm(self, force: bool) -> int:
        if not self.armed:
            return ACCEPTED
        airborne = self.flavour.is_copter and self.landed_state() != LandedState.ON_GROUND
        if airborne and not force:
            self._emit('disarm_refused', reason='in air')
            return self.flavour.arm_refused_result
        self._do_disarm('request')
        return ACCEPTED

    def _do_disarm(self, reason: str) -> None:
        v = self.vehicle
        if isinstance(v, MavrosDrone):
            v.force_disarm()
        else:
            v.disarm()
        self._armed_s = self._touchdown_s = None
        # A finished return or takeoff must not outlive the flight: the next one would
        # otherwise ignore its setpoints.
        self._rtl_phase = self._takeoff_goal = None
        self._emit('disarmed', reason=reason)
        if self.flavour.is_px4 and self.mode != self._user_mode:
            previous, self.mode = self.mode, self._user_mode
            self._emit('mode', mode=self.mode, previous=previous, by='autopilot')

    def _disarm_watch(self) -> None:
        f, s = self.flavour, self.settings
        if not self.armed or not f.is_copter:
            return
        snapshot = self.vehicle.snapshot()
        on_ground = snapshot.landed_state == LandedState.ON_GROUND
        if on_ground and self._touchdown_s is not None and s.auto_disarm_s >= 0.0 and \
                self.now_s - self._touchdown_s >= s.auto_disarm_s:
            self._do_disarm('landed')
        elif on_ground and not self._flew and s.idle_disarm_s >= 0.0 and \
                self._armed_s is not None and self.now_s - self._armed_s >= s.idle_disarm_s:
            self._do_disarm('not taken off')

    # --- takeoff and landing ---------------------------------------------------------------

    def takeoff(self, latitude: float, longitude: float, altitude: float) -> int:
        """NAV_TAKEOFF: return its MAV_RESULT."""
        f = self.flavour
        if not f.is_copter:
            return UNSUPPORTED
        landed = self.landed_state()
        if not self.armed or landed in (LandedState.IN_AIR, LandedState.LANDING):
            return FAILED
        if f.is_px4:
            if math.isfinite(latitude) and math.isfinite(longitude):
                if latitude == 0.0 and longitude == 0.0:
                    # What PX4 does: accepted, and no climb.
                    self._emit('takeoff_ignored', reason='lat/lon 0')
                    return ACCEPTED
                goal = (latitude, longitude)
            else:
                goal = None
            if not self.position_ok:
                return FAILED
            self._enter(f.takeoff_mode, by='command', force=True)
            self._start_takeoff(self._takeoff_height(altitude), goal)
            return ACCEPTED
        if self.mode != f.guided_mode or not self.ekf_ready or not altitude > 0.0:
            return FAILED
        self._start_takeoff(float(altitude), None)
        return ACCEPTED

    def _takeoff_height(self, altitude_amsl: float) -> float:
        if not math.isfinite(altitude_amsl):
            return _PX4_MIN_TAKEOFF_M
        return max(_PX4_MIN_TAKEOFF_M, altitude_amsl - self.settings.home.altitude_m)

    def _start_takeoff(self, height_m: float, goal) -> None:
        if not self.armed or self.landed_state() in (LandedState.IN_AIR, LandedState.LANDING):
            return
        self.vehicle.takeoff(altitude_m=height_m, climb_speed_mps=self.flavour.climb_mps)
        self._takeoff_goal = (height_m, goal)

    def _takeoff_step(self) -> None:
        if self._takeoff_goal is None or self.landed_state() != LandedState.IN_AIR:
            return
        height, goal = self._takeoff_goal
        self._takeoff_goal = None
        if goal is not None:
            local = self._local(goal[0], goal[1])
            self.vehicle.go_to(x_m=local.x_m, y_m=local.y_m, z_m=height, speed_mps=0.0)
        if self.mode == self.flavour.takeoff_mode:
            self._enter(self.flavour.hold_mode, by='autopilot', force=True)

    def land(self) -> int:
        """NAV_LAND (here): return its MAV_RESULT."""
        f = self.flavour
        if f.land_mode is None:
            return UNSUPPORTED
        self._enter(f.land_mode, by='command', force=True)
        return ACCEPTED

    def command_long(self, command: int, params: typing.Sequence[float]) -> int:
        """COMMAND_LONG: return its MAV_RESULT; params are param1..param7."""
        p = list(params) + [0.0] * (7 - len(params))
        if command == _COMPONENT_ARM_DISARM:
            return self.arm(p[0] == 1.0, force=p[1] == _FORCE_MAGIC)
        if command == _NAV_TAKEOFF:
            return self.takeoff(p[4], p[5], p[6])
        if command == _NAV_LAND:
            return self.land()
        if command == _NAV_RETURN_TO_LAUNCH:
            return ACCEPTED if self._enter(self.flavour.rtl_mode, by='command') else FAILED
        if command == _NAV_LOITER_UNLIM:
            return ACCEPTED if self._enter(self.flavour.hold_mode, by='command') else FAILED
        if command == _SET_MESSAGE_INTERVAL:
            self.set_stream(int(p[0]), p[1] >= 0.0)
            return ACCEPTED
        if command == _DO_REPOSITION:
            if self.landed_state() == LandedState.ON_GROUND and self.flavour.is_copter:
                return FAILED
            local = self._local(p[4], p[5])
            z = p[6] - self.settings.home.altitude_m if self.flavour.is_copter else 0.0
            self.vehicle.go_to(x_m=local.x_m, y_m=local.y_m, z_m=max(z, 0.5), speed_mps=0.0)
            return ACCEPTED
        return UNSUPPORTED

    def set_stream(self, stream: int, on: bool) -> None:
        """REQUEST_DATA_STREAM / SET_MESSAGE_INTERVAL: start or stop one stream or all."""
        if stream in (0, 6, 10):  # STREAM_ALL, STREAM_POSITION, STREAM_EXTRA1
            ids = {0} if stream == 0 else set(STREAMS['pose'] + STREAMS['global'])
        elif stream == 2:  # STREAM_EXTENDED_STATUS
            ids = set(STREAMS['battery'])
        else:
            ids = {stream}
        if on:
            self.streams |= ids
        else:
            self.streams -= ids
        self._emit('streams', ids=sorted(self.streams))

    # --- setpoints -------------------------------------------------------------------------

    def setpoint_position(self, x: float, y: float, z: float, yaw: typing.Optional[float]):
        """Take a local ENU position setpoint (m, from the EKF origin = home)."""
        self._setpoints.append(self.now_s)
        self._follow(('position', x, y, z, yaw))

    def setpoint_velocity(self, vx: float, vy: float, vz: float) -> None:
        """Take a local ENU velocity setpoint (m/s)."""
        self._setpoints.append(self.now_s)
        self._follow(('velocity', vx, vy, vz))

    def setpoint_global(self, latitude: float, longitude: float, altitude: float,
                        relative: bool, yaw: typing.Optional[float]) -> None:
        """Take a WGS-84 setpoint; altitude AMSL, or above home when relative."""
        local = self._local(latitude, longitude)
        z = altitude if relative else altitude - self.settings.home.altitude_m
        self.setpoint_position(local.x_m, local.y_m, z, yaw)

    def _local(self, latitude: float, longitude: float):
        home = self.settings.home
        return geographic_to_local(GeoPoint(home.latitude_deg, home.longitude_deg),
                                   GeoPoint(latitude, longitude))

    def _follow(self, setpoint) -> None:
        f, v = self.flavour, self.vehicle
        if self.mode != f.guided_mode or not self.armed or self._rtl_phase:
            return
        landed = self.landed_state()
        if setpoint[0] == 'velocity':
            self._velocity_s = self.now_s
            if landed != LandedState.ON_GROUND or not f.is_copter:
                v.set_velocity(*setpoint[1:])
            return
        _, x, y, z, yaw = setpoint
        if not f.is_copter:
            z = 0.0
        elif landed == LandedState.ON_GROUND:
            # PX4 takes off in OFFBOARD towards a setpoint above it; ArduCopter needs the
            # takeoff command first and ignores position targets on the ground.
            if f.is_px4 and z > 0.5:
                v.takeoff(altitude_m=z, climb_speed_mps=f.climb_mps)
            return
        target = (round(x, 2), round(y, 2), round(z, 2))
        if self._setpoint != target:
            self._setpoint, self._reached = target, False
        snapshot = v.snapshot()
        if v.velocity_mode or snapshot.mode != 'HOLD' or not self._reached:
            v.go_to(x_m=x, y_m=y, z_m=max(0.0, z), speed_mps=0.0, yaw_rad=yaw)

    def _velocity_watch(self) -> None:
        if self._velocity_s is not None and self.vehicle.velocity_mode and \
                self.now_s - self._velocity_s > self.settings.velocity_timeout_s:
            # ArduPilot stops a vehicle whose velocity commands stopped; PX4 would fail safe.
            self._velocity_s = None
            self.vehicle.hold()
            self._emit('velocity_timeout')

    def _signal_watch(self) -> None:
        # What PX4's commander sees of the setpoint stream, reported whenever it changes, so
        # that a client's stream can be judged from the vehicle's side (ran long enough
        # before OFFBOARD, never stopped while flying in it).
        if not self.flavour.is_px4:
            return
        ok = self.offboard_stream_ok()
        if ok != self._offboard_signal:
            self._offboard_signal = ok
            self._emit('offboard_signal', ok=ok, mode=self.mode, armed=self.armed)

    def _offboard_watch(self) -> None:
        if not self.flavour.is_px4 or self.mode != 'OFFBOARD' or not self.armed:
            return
        last = self._setpoints[-1] if self._setpoints else -math.inf
        if self.now_s - last > self.settings.offboard_loss_s:
            self._emit('failsafe', reason='offboard signal lost', action=self.flavour.rtl_mode)
            self._enter(self.flavour.rtl_mode, by='failsafe', force=True)

    def _gps_watch(self) -> None:
        """
        Fail safe on a bad position estimate, once per loss (ArduPilot's EKF failsafe).

        After ``gps_failsafe_s`` of GPS loss or of a glitch the EKF rejects, a flying vehicle
        in a mode that needs a position (:attr:`Flavour.position_modes`) lands (copters) or
        holds (rovers): ArduCopter's FS_EKF_ACTION 1, "EKF variance". An ArduCopter already
        in LAND goes on landing without GPS, in LAND; modes without position (STABILIZE,
        ALT_HOLD) carry on.
        """
        f = self.flavour
        if self.position_ok:
            self._gps_lost_s = None
            self._ekf_failsafe = False
            return
        reason = 'gps lost' if self.faults.gps_lost else 'gps glitch'
        if self._gps_lost_s is None:
            self._gps_lost_s = self.now_s
            if f.is_px4:
                text = 'Position estimate lost'
            else:
                text = 'GPS Glitch or Compass error' if self.faults.gps_lost else 'GPS Glitch'
            self._statustext(_CRITICAL, text)
        airborne = self.armed and (not f.is_copter or
                                   self.landed_state() != LandedState.ON_GROUND)
        if self._ekf_failsafe or not airborne or \
                self.now_s - self._gps_lost_s < self.settings.gps_failsafe_s:
            return
        action = f.land_mode or f.hold_mode
        landing = self.mode == f.land_mode and f.land_mode is not None
        if not landing and self.mode not in f.position_modes:
            return
        self._ekf_failsafe = True
        if not f.is_px4:
            self._statustext(_CRITICAL, 'EKF variance')
        self._emit('failsafe', reason=reason, action=action)
        if not landing:
            self._enter(action, by='failsafe', force=True)

    def gcs_link(self, up: bool) -> None:
        """Record that the GCS heartbeats (MAVROS's) stopped reaching the autopilot, or resumed."""
        if up:
            self._gcs_lost_s, self._gcs_failsafe = None, False
        elif self._gcs_lost_s is None:
            self._gcs_lost_s = self.now_s

    def _gcs_watch(self) -> None:
        """
        Return home as ArduPilot's GCS failsafe does (FS_GCS_ENABLE 1), once per link loss.

        RTL ``gcs_failsafe_s`` after the GCS went silent, only while armed and flying; a
        vehicle already returning or landing carries on. The mode stays when the link comes
        back (the pilot or the GCS changes it).
        """
        f, s = self.flavour, self.settings
        if f.is_px4 or s.gcs_failsafe_s < 0.0 or self._gcs_lost_s is None or \
                self._gcs_failsafe or self.now_s - self._gcs_lost_s < s.gcs_failsafe_s:
            return
        if not self.armed or (f.is_copter and self.landed_state() == LandedState.ON_GROUND):
            return
        self._gcs_failsafe = True
        if self.mode in (f.rtl_mode, f.land_mode):
            return
        action = f.rtl_mode if self.ekf_ready else (f.land_mode or f.hold_mode)
        self._statustext(_CRITICAL, 'GCS Failsafe')
        self._emit('failsafe', reason='gcs lost', action=action)
        self._enter(action, by='failsafe', force=True)

    def _rtl_step(self) -> None:
        phase = self._rtl_phase
        if phase is None or not self.armed:
            return
        v, s = self.vehicle, self.settings
        snap = v.snapshot()
        if phase == 'climb':
            if snap.landed_state == LandedState.ON_GROUND:
                self._rtl_phase = None
                return
            if snap.z_m < s.rtl_altitude_m - s.acceptance_radius_m:
                if snap.mode != 'GOTO':
                    v.go_to(x_m=snap.x_m, y_m=snap.y_m, z_m=s.rtl_altitude_m, speed_mps=0.0)
                return
            phase = self._rtl_phase = 'return'
        if phase == 'return':
            z = max(snap.z_m, s.rtl_altitude_m) if self.flavour.is_copter else 0.0
            if math.hypot(snap.x_m, snap.y_m) > s.acceptance_radius_m:
                if snap.mode != 'GOTO':
                    v.go_to(x_m=0.0, y_m=0.0, z_m=z, speed_mps=0.0)
                return
            self._emit('reached', target=[0.0, 0.0, round(z, 2)], what='home')
            if self.flavour.is_copter:
                v.land(descent_speed_mps=self.flavour.descent_mps)
                self._rtl_phase = 'land'
            else:
                v.hold()
                self._rtl_phase = 'done'

    # --- what the vehicle did ------------------------------------------------------------------

    def _physical(self) -> typing.Dict[str, typing.Any]:
        s = self.vehicle.snapshot()
        return {'t': self.vehicle.now_s, 'armed': s.armed, 'landed': s.landed_state,
                'x': s.x_m, 'y': s.y_m, 'z': s.z_m}

    def _physical_events(self) -> None:
        now, was = self._physical(), self._was
        if was['landed'] == LandedState.ON_GROUND and now['landed'] != LandedState.ON_GROUND:
            self._flew = True
            self._emit('took_off', z=round(now['z'], 2))
        if was['landed'] != LandedState.ON_GROUND and now['landed'] == LandedState.ON_GROUND:
            self._touchdown_s = self.now_s
            self._emit('landed', x=round(now['x'], 2), y=round(now['y'], 2))
        if self._setpoint is not None and not self._reached:
            x, y, z = self._setpoint
            if not self.flavour.is_copter:
                z = now['z']
            if math.dist((x, y, z), (now['x'], now['y'], now['z'])) <= \
                    self.settings.acceptance_radius_m:
                self._reached = True
                self._emit('reached', target=list(self._setpoint), what='setpoint')
        self._was = now
