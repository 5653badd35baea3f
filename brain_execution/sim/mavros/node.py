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
The ``sim_mavros`` node: MAVROS's topics, services and QoS over a simulated autopilot.

See :mod:`brain_execution.sim.mavros` for the interface, the faults and the events.
"""

import json
import math
import sys
import threading
import typing

from geometry_msgs.msg import PoseStamped, TwistStamped
from mavros_msgs.msg import (
    Altitude, ExtendedState, GlobalPositionTarget, HomePosition, PositionTarget, State,
    StatusText)
from mavros_msgs.srv import (
    CommandBool, CommandLong, CommandTOL, MessageInterval, SetMode, StreamRate)
from rcl_interfaces.msg import (
    FloatingPointRange, ParameterDescriptor, ParameterType, SetParametersResult)
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy)
from sensor_msgs.msg import BatteryState, NavSatFix, NavSatStatus
from std_msgs.msg import Float64, String
import transforms3d

from .autopilot import ACCEPTED, Autopilot, Settings
from .faults import FAULTS, MavrosFaults
from .flavours import flavour as flavour_named, FLAVOURS
from .vehicle import MavrosDrone, MavrosRover
from ..vehicle import MotionLimits
from ...core.geo import GeoPoint, local_to_geographic

__all__ = ['SimMavrosNode', 'main']

# MAVROS: state, extended_state and home are latched for late subscribers.
_LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)
_EVENTS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
_STATUSTEXT = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# MAV_STATE
_STANDBY, _ACTIVE = 3, 4
# PositionTarget / GlobalPositionTarget type_mask and frames.
_IGNORE_POSITION, _IGNORE_VELOCITY, _IGNORE_YAW = 1 | 2 | 4, 8 | 16 | 32, 1024
_FRAME_BODY_NED, _FRAME_GLOBAL_INT = 8, 5
_MAV_RESULT_NO_ACK = 0
_HOME_PERIOD_S = 5.0
# A tick this many periods late means the process was not scheduled, not that time went by
# for the vehicle's clients (see Autopilot.skip_silence).
_STALL_TICKS = 5

# name -> (default or None for the flavour's, description, (low, high) or None)
_PARAMETERS = {
    'clock_rate': (1.0, 'Model seconds per node-clock second (demos speed the vehicle up).',
                   (0.1, 50.0)),
    'rate_hz': (20.0, 'Rate of the model and of pose / position topics, Hz.', (1.0, 100.0)),
    'heartbeat_rate_hz': (1.0, 'HEARTBEAT rate: how often state is published, Hz.',
                          (0.2, 20.0)),
    'home_latitude_deg': (47.397742, 'Home (and EKF origin) latitude, degrees.', (-90.0, 90.0)),
    'home_longitude_deg': (8.545594, 'Home longitude, degrees.', (-180.0, 180.0)),
    'home_altitude_amsl_m': (488.0, 'Home altitude above mean sea level, m.',
                             (-500.0, 9000.0)),
    'geoid_separation_m': (47.4, 'Ellipsoid height minus AMSL at home (EGM96 undulation), m; '
                           'NavSatFix and home carry ellipsoid heights, as MAVROS converts.',
                           (-120.0, 120.0)),
    'ack_delay_s': (0.05, 'Node seconds a COMMAND_ACK takes.', (0.0, 4.0)),
    'ack_timeout_s': (5.0, "MAVROS's wait for a COMMAND_ACK, node seconds.", (0.1, 30.0)),
    'heartbeat_timeout_s': (10.0, "MAVROS's conn/timeout: state.connected turns false this "
                            'long after the last heartbeat, node seconds.', (0.1, 60.0)),
    'offboard_loss_timeout_s': (1.0, "PX4's COM_OF_LOSS_T, model s.", (0.1, 10.0)),
    'offboard_min_rate_hz': (2.0, 'PX4: slowest setpoint stream that counts, Hz.',
                             (0.5, 50.0)),
    'offboard_warmup_s': (1.0, 'PX4: how long the stream must run before OFFBOARD or arming '
                          'in it, model s.', (0.0, 10.0)),
    'mode_delay_s': (0.2, 'Model seconds between SET_MODE and the autopilot taking it.',
                     (0.0, 5.0)),
    'ready_delay_s': (None, 'Arming is refused before this much model time after boot '
                      '(PX4 result 1, ArduPilot result 4 with STATUSTEXT).', (0.0, 120.0)),
    'ekf_delay_s': (None, 'ArduPilot: no position estimate (no pose, GUIDED and takeoff '
                    'refused) before this much model time after boot.', (0.0, 120.0)),
    'rc_mode_reset_s': (None, 'ArduCopter: RC input starts then and re-applies the initial '
                        'mode (a GUIDED request sent earlier is lost); negative = never.',
                        (-1.0, 60.0)),
    'auto_disarm_s': (None, 'Disarm this long after touchdown, model s.', (-1.0, 60.0)),
    'idle_disarm_s': (None, 'ArduCopter: disarm when armed and not taken off for this long, '
                      'model s; negative = never.', (-1.0, 60.0)),
    'rtl_altitude_m': (15.0, 'Copter return altitude above home, m.', (1.0, 500.0)),
    'acceptance_radius_m': (0.5, 'A setpoint is reached within this distance, m.',
                            (0.01, 20.0)),
    'velocity_timeout_s': (1.0, 'A velocity setpoint older than this stops the vehicle, '
                           'model s.', (0.1, 10.0)),
    'gps_failsafe_s': (1.0, 'Model seconds of GPS loss before the failsafe acts.',
                       (0.0, 60.0)),
    'gcs_failsafe_s': (-1.0, 'ArduPilot FS_GCS_ENABLE=1 with FS_GCS_TIMEOUT: a flying vehicle '
                       'returns (RTL) this long after the GCS heartbeats stop (fault.link_down; '
                       "MAVROS's count when its system_id is SYSID_MYGCS), model s; negative = "
                       'disabled (FS_GCS_ENABLE=0, the default).', (-1.0, 60.0)),
    'battery_percent': (100.0, 'Charge at start, %.', (0.0, 100.0)),
    'battery_low_percent': (20.0, 'A STATUSTEXT warns at this charge, %.', (0.0, 100.0)),
    'max_speed_mps': (None, 'Horizontal speed limit, m/s.', (0.1, 50.0)),
    'climb_mps': (None, 'Takeoff climb rate (copters), m/s.', (0.0, 20.0)),
    'descent_mps': (None, 'Landing descent rate (copters), m/s.', (0.0, 20.0)),
}


class SimMavrosNode(Node):
    """MAVROS's interface under ``<ns>/mavros/`` over a simulated PX4 or ArduPilot."""

    def __init__(self, **kwargs):
        super().__init__('sim_mavros', **kwargs)
        self._lock = threading.RLock()
        self.flavour = flavour_named(self.declare_parameter(
            'flavour', 'px4', ParameterDescriptor(
                read_only=True, description=f'Autopilot imitated: {", ".join(FLAVOURS)}.')
        ).value)
        p = self._declare()
        self._p = p
        self._faults = MavrosFaults()
        self._home = GeoPoint(p['home_latitude_deg'], p['home_longitude_deg'],
                              p['home_altitude_amsl_m'])
        self.autopilot = Autopilot(
            flavour=self.flavour, vehicle=self._vehicle(p), faults=self._faults,
            settings=Settings(
                home=self._home, offboard_loss_s=p['offboard_loss_timeout_s'],
                offboard_min_rate_hz=p['offboard_min_rate_hz'],
                offboard_warmup_s=p['offboard_warmup_s'], mode_delay_s=p['mode_delay_s'],
                rtl_altitude_m=p['rtl_altitude_m'],
                acceptance_radius_m=p['acceptance_radius_m'],
                velocity_timeout_s=p['velocity_timeout_s'],
                gps_failsafe_s=p['gps_failsafe_s'], gcs_failsafe_s=p['gcs_failsafe_s'],
                battery_low_percent=p['battery_low_percent'],
                ready_delay_s=p['ready_delay_s'], ekf_delay_s=p['ekf_delay_s'],
                rc_mode_reset_s=p['rc_mode_reset_s'], auto_disarm_s=p['auto_disarm_s'],
                idle_disarm_s=p['idle_disarm_s']),
            emit=self._event, statustext=self._statustext)
        self._clock_rate = p['clock_rate']
        self._node_t0 = self._node_now()
        self._link_down_s: typing.Optional[float] = None
        self._connected = True
        self._last_landed = None
        self._home_s = -math.inf
        self._heartbeat_s = -math.inf
        self._tick_s = -math.inf
        self.add_on_set_parameters_callback(self._on_parameters)

        self._pub_events = self.create_publisher(String, 'sim_mavros/events', _EVENTS)
        m = 'mavros/'
        self._pub_state = self.create_publisher(State, m + 'state', _LATCHED)
        self._pub_extended = self.create_publisher(ExtendedState, m + 'extended_state',
                                                   _LATCHED)
        self._pub_home = self.create_publisher(HomePosition, m + 'home_position/home', _LATCHED)
        self._pub_text = self.create_publisher(StatusText, m + 'statustext/recv', _STATUSTEXT)
        sensor = qos_profile_sensor_data
        self._pub_battery = self.create_publisher(BatteryState, m + 'battery', sensor)
        self._pub_pose = self.create_publisher(PoseStamped, m + 'local_position/pose', sensor)
        self._pub_global = self.create_publisher(NavSatFix, m + 'global_position/global',
                                                 sensor)
        self._pub_rel_alt = self.create_publisher(Float64, m + 'global_position/rel_alt',
                                                  sensor)
        self._pub_altitude = self.create_publisher(Altitude, m + 'altitude', sensor)
        self.create_subscription(PoseStamped, m + 'setpoint_position/local',
                                 self._on_pose_setpoint, sensor)
        self.create_subscription(PositionTarget, m + 'setpoint_raw/local',
                                 self._on_raw_local, sensor)
        self.create_subscription(GlobalPositionTarget, m + 'setpoint_raw/global',
                                 self._on_raw_global, sensor)
        self.create_subscription(TwistStamped, m + 'setpoint_velocity/cmd_vel',
                                 self._on_cmd_vel, sensor)
        self.create_service(SetMode, m + 'set_mode', self._set_mode)
        self.create_service(StreamRate, m + 'set_stream_rate', self._set_stream_rate)
        # MAVROS's command plugin answers one command at a time: one exclusive group.
        commands = MutuallyExclusiveCallbackGroup()
        self.create_service(CommandBool, m + 'cmd/arming', self._cmd_arming,
                            callback_group=commands)
        self.create_service(CommandTOL, m + 'cmd/takeoff', self._cmd_takeoff,
                            callback_group=commands)
        self.create_service(CommandTOL, m + 'cmd/land', self._cmd_land, callback_group=commands)
        self.create_service(CommandLong, m + 'cmd/command', self._cmd_long,
                            callback_group=commands)
        self.create_service(MessageInterval, m + 'set_message_interval',
                            self._set_message_interval, callback_group=commands)
        self.create_timer(1.0 / p['rate_hz'], self._tick)
        self._tick()
        self.get_logger().info(
            f'sim_mavros ({self.flavour.name}) ready at home {self._home}')

    # --- parameters ----------------------------------------------------------------------

    def _declare(self) -> typing.Dict[str, typing.Any]:
        values = {}
        for name, (default, description, limits) in _PARAMETERS.items():
            if default is None:
                default = float(getattr(self.flavour, name))
            descriptor = ParameterDescriptor(read_only=True, description=description,
                                             type=ParameterType.PARAMETER_DOUBLE)
            if limits is not None:
                descriptor.floating_point_range = [FloatingPointRange(
                    from_value=float(limits[0]), to_value=float(limits[1]))]
            values[name] = float(self.declare_parameter(name, float(default), descriptor).value)
        for name, fault in FAULTS.items():
            self.declare_parameter(f'fault.{name}', fault.default, ParameterDescriptor(
                description=f'Injected fault, switched at run time: {fault.description}'))
        return values

    def _vehicle(self, p) -> typing.Union[MavrosDrone, MavrosRover]:
        common = {'robot_id': self.get_namespace().strip('/') or 'sim_mavros',
                  'battery_percent': p['battery_percent']}
        speed = p['max_speed_mps']
        if self.flavour.is_copter:
            limits = MotionLimits(
                max_speed_mps=speed, cruise_speed_mps=speed, max_accel_mps2=4.0,
                max_climb_mps=max(p['climb_mps'], 0.1),
                max_descent_mps=max(p['descent_mps'], 0.1), max_yaw_rate_radps=1.5)
            return MavrosDrone(limits=limits, **common)
        limits = MotionLimits(max_speed_mps=speed, cruise_speed_mps=speed, max_accel_mps2=2.0,
                              max_yaw_rate_radps=1.0)
        return MavrosRover(limits=limits, station_drift_m=0.0, **common)

    def _on_parameters(self, parameters) -> SetParametersResult:
        updates = {}
        for parameter in parameters:
            if not parameter.name.startswith('fault.'):
                continue
            name = parameter.name[len('fault.'):]
            reason = MavrosFaults.check(name, parameter.value)
            if reason is None and name == 'pilot_takeover' and parameter.value and \
                    parameter.value not in self.flavour.modes:
                reason = (f'fault.pilot_takeover={parameter.value!r} is not a '
                          f'{self.flavour.name} mode: {sorted(self.flavour.modes)}')
            if reason is not None:
                return SetParametersResult(successful=False, reason=reason)
            updates[name] = parameter.value
        with self._lock:
            for name, value in updates.items():
                value = float(value) if isinstance(FAULTS[name].default, float) else value
                setattr(self._faults, name, value)
                self._event('fault', name=name, value=value)
                if name == 'pilot_takeover' and value:
                    self.autopilot.pilot_takeover(value)
                if name == 'link_down':
                    self._link_change(value)
        return SetParametersResult(successful=True)

    def _link_change(self, down: bool) -> None:
        self.autopilot.gcs_link(not down)
        if down:
            self._link_down_s = self._node_now()
            self._event('link', up=False)
        elif self._link_down_s is not None:
            self._link_down_s = None
            self._event('link', up=True)
            self._heartbeat_s = -math.inf  # the next tick sends a heartbeat

    # --- time, events, texts ---------------------------------------------------------------

    def _node_now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _model_now(self) -> float:
        return (self._node_now() - self._node_t0) * self._clock_rate

    def _event(self, event: str, **fields) -> None:
        record = dict(t=round(self.autopilot.now_s if hasattr(self, 'autopilot') else 0.0, 3),
                      event=event, **fields)
        self._pub_events.publish(String(data=json.dumps(record)))

    def _statustext(self, severity: int, text: str) -> None:
        self._event('statustext', severity=severity, text=text)
        if self._faults.link_down or self.flavour.is_px4:
            # PX4 sends STATUSTEXT only to GCS-type heartbeats, and MAVROS's is not one.
            return
        msg = StatusText(severity=severity, text=text)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._pub_text.publish(msg)

    @property
    def _link_up(self) -> bool:
        return not self._faults.link_down

    # --- the model's tick ------------------------------------------------------------------

    def _tick(self) -> None:
        with self._lock:
            now = self._node_now()
            late_s = now - self._tick_s - _STALL_TICKS / self._p['rate_hz']
            if self._tick_s > -math.inf and late_s > 0.0:
                self.autopilot.skip_silence(late_s * self._clock_rate)
                self._event('stalled', late_s=round(late_s, 3))
            self._tick_s = now
            self.autopilot.step(self._model_now())
            if self._link_up:
                self._publish_telemetry()
                if now - self._heartbeat_s >= 1.0 / self._p['heartbeat_rate_hz']:
                    self._heartbeat_s = now
                    self._connected = True
                    self._publish_state()
                    self._publish_extended()
                if now - self._home_s >= _HOME_PERIOD_S and self.autopilot.ekf_ready:
                    self._home_s = now
                    self._publish_home()
            elif self._connected and now - self._link_down_s >= self._p['heartbeat_timeout_s']:
                self._connected = False
                self._publish_state()
                self._event('connection', connected=False)

    def _stamp(self, msg, frame: str = '') -> None:
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = frame

    def _publish_state(self) -> None:
        a = self.autopilot
        msg = State(connected=self._connected, armed=a.armed, guided=a.guided,
                    manual_input=a.mode in self.flavour.pilot_modes, mode=a.mode,
                    system_status=_ACTIVE if a.armed else _STANDBY)
        self._stamp(msg)
        self._pub_state.publish(msg)

    def _publish_extended(self, force: bool = True) -> None:
        if not self.flavour.is_copter:
            return  # ArduRover sends no EXTENDED_SYS_STATE
        landed = self.autopilot.landed_state()
        if not force and landed == self._last_landed:
            return
        self._last_landed = landed
        msg = ExtendedState(vtol_state=ExtendedState.VTOL_STATE_MC if self.flavour.is_px4
                            else ExtendedState.VTOL_STATE_UNDEFINED, landed_state=int(landed))
        self._stamp(msg)
        self._pub_extended.publish(msg)

    def _publish_home(self) -> None:
        msg = HomePosition()
        self._stamp(msg, 'map')
        msg.geo.latitude, msg.geo.longitude = self._home.latitude_deg, self._home.longitude_deg
        msg.geo.altitude = self._home.altitude_m + self._p['geoid_separation_m']
        msg.orientation.w = 1.0
        self._pub_home.publish(msg)

    def _publish_telemetry(self) -> None:
        a = self.autopilot
        s = a.vehicle.snapshot()
        self._publish_extended(force=False)
        if a.streaming('pose'):
            pose = PoseStamped()
            self._stamp(pose, 'map')
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (
                s.x_m, s.y_m, s.z_m)
            q = pose.pose.orientation
            q.w, q.x, q.y, q.z = transforms3d.euler.euler2quat(0.0, 0.0, s.yaw_rad, 'sxyz')
            self._pub_pose.publish(pose)
        if a.streaming('global'):
            fix = NavSatFix()
            self._stamp(fix, 'base_link')
            point = local_to_geographic(self._home, s.x_m, s.y_m, s.z_m)
            fix.latitude, fix.longitude = point.latitude_deg, point.longitude_deg
            fix.altitude = self._home.altitude_m + self._p['geoid_separation_m'] + s.z_m
            fix.status.service = NavSatStatus.SERVICE_GPS
            fix.status.status = (NavSatStatus.STATUS_NO_FIX if self._faults.gps_lost
                                 else NavSatStatus.STATUS_FIX)
            fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
            self._pub_global.publish(fix)
            self._pub_rel_alt.publish(Float64(data=s.z_m))
            if self.flavour.is_px4:
                altitude = Altitude(monotonic=s.z_m, amsl=self._home.altitude_m + s.z_m,
                                    local=s.z_m, relative=s.z_m, terrain=math.nan,
                                    bottom_clearance=math.nan)
                self._stamp(altitude, 'map')
                self._pub_altitude.publish(altitude)
        if a.streaming('battery'):
            battery = BatteryState(
                voltage=14.0 + 2.8 * s.battery_percent / 100.0, current=math.nan,
                charge=math.nan, capacity=math.nan, design_capacity=math.nan,
                temperature=math.nan, percentage=s.battery_percent / 100.0, present=True,
                power_supply_status=BatteryState.POWER_SUPPLY_STATUS_DISCHARGING)
            self._stamp(battery)
            self._pub_battery.publish(battery)

    # --- setpoints -------------------------------------------------------------------------

    def _on_pose_setpoint(self, msg: PoseStamped) -> None:
        q = msg.pose.orientation
        yaw = transforms3d.euler.quat2euler((q.w, q.x, q.y, q.z), 'sxyz')[2] \
            if (q.w, q.x, q.y, q.z) != (0.0, 0.0, 0.0, 0.0) else None
        p = msg.pose.position
        self._setpoint('setpoint_position', p.x, p.y, p.z, yaw)

    def _on_raw_local(self, msg: PositionTarget) -> None:
        yaw = None if msg.type_mask & _IGNORE_YAW else float(msg.yaw)
        if not msg.type_mask & _IGNORE_POSITION:
            p = msg.position
            self._setpoint('setpoint_position', p.x, p.y, p.z, yaw)
        elif not msg.type_mask & _IGNORE_VELOCITY:
            v = msg.velocity
            vx, vy = v.x, v.y
            if msg.coordinate_frame == _FRAME_BODY_NED:
                heading = self.autopilot.vehicle.snapshot().yaw_rad
                vx, vy = (vx * math.cos(heading) - vy * math.sin(heading),
                          vx * math.sin(heading) + vy * math.cos(heading))
            self._setpoint('setpoint_velocity', vx, vy, v.z)

    def _on_raw_global(self, msg: GlobalPositionTarget) -> None:
        yaw = None if msg.type_mask & _IGNORE_YAW else float(msg.yaw)
        self._setpoint('setpoint_global', msg.latitude, msg.longitude, float(msg.altitude),
                       msg.coordinate_frame != _FRAME_GLOBAL_INT, yaw)

    def _on_cmd_vel(self, msg: TwistStamped) -> None:
        v = msg.twist.linear
        self._setpoint('setpoint_velocity', v.x, v.y, v.z)

    def _setpoint(self, method: str, *values) -> None:
        if not all(math.isfinite(v) for v in values if isinstance(v, float)):
            with self._lock:
                self._event('setpoint_rejected', reason='not finite', values=[
                    v if isinstance(v, float) and math.isfinite(v) else str(v)
                    for v in values])
            return
        with self._lock:
            if self._link_up:
                getattr(self.autopilot, method)(*values)

    # --- services --------------------------------------------------------------------------

    def _set_mode(self, request, response):
        with self._lock:
            if not request.custom_mode:
                response.mode_sent = False  # base modes alone are not simulated
            elif not self._link_up:
                response.mode_sent = request.custom_mode in self.flavour.modes
            else:
                response.mode_sent = self.autopilot.request_mode(request.custom_mode)
            self._event('set_mode', mode=request.custom_mode, mode_sent=response.mode_sent)
        return response

    def _set_stream_rate(self, request, response):
        with self._lock:
            if self._link_up:
                self.autopilot.set_stream(request.stream_id,
                                          request.on_off and request.message_rate > 0)
        return response

    def _command(self, name: str, apply: typing.Callable[[], int]) -> typing.Tuple[bool, int]:
        """Run a command as MAVROS does: wait for its COMMAND_ACK, or time out."""
        with self._lock:
            self._event('command_received', name=name)
            lost = not self._link_up
            unacked = self._faults.ack_timeout and not lost
            if unacked and self._faults.late_effect_s >= 0.0:
                self.autopilot.later(self._faults.late_effect_s,
                                     lambda: self._late(name, apply))
        if lost or unacked:
            threading.Event().wait(self._p['ack_timeout_s'])
            with self._lock:
                self._event('command', name=name, success=False, result=_MAV_RESULT_NO_ACK,
                            reason='link down' if lost else 'no ack')
            return False, _MAV_RESULT_NO_ACK
        threading.Event().wait(self._p['ack_delay_s'])  # the ACK's travel time
        with self._lock:
            if not self._link_up:
                return self._command(name, apply)
            result = apply()
            self._event('command', name=name, success=result == ACCEPTED, result=result)
        return result == ACCEPTED, result

    def _late(self, name: str, apply: typing.Callable[[], int]) -> None:
        result = apply()
        self._event('late_effect', name=name, result=result)

    def _cmd_arming(self, request, response):
        response.success, response.result = self._command(
            'arming', lambda: self.autopilot.arm(request.value))
        return response

    def _cmd_takeoff(self, request, response):
        response.success, response.result = self._command(
            'takeoff', lambda: self.autopilot.takeoff(
                float(request.latitude), float(request.longitude), float(request.altitude)))
        return response

    def _cmd_land(self, request, response):
        response.success, response.result = self._command('land', self.autopilot.land)
        return response

    def _cmd_long(self, request, response):
        params = [request.param1, request.param2, request.param3, request.param4,
                  request.param5, request.param6, request.param7]
        response.success, response.result = self._command(
            f'command {request.command}',
            lambda: self.autopilot.command_long(request.command, params))
        return response

    def _set_message_interval(self, request, response):
        success, _ = self._command(
            'set_message_interval', lambda: self.autopilot.command_long(
                511, [float(request.message_id), -1.0 if request.message_rate < 0 else 1.0]))
        response.success = success
        return response


def main(args=None) -> int:
    """Run sim_mavros until interrupted; exit status 2 on bad parameters."""
    rclpy.init(args=args)
    node = None
    try:
        node = SimMavrosNode()
        # Four threads: the command group may sit in a 5 s acknowledgement wait while the
        # model, setpoints, set_mode and the parameter services carry on.
        executor = MultiThreadedExecutor(num_threads=4)
        executor.add_node(node)
        executor.spin()
    except (ValueError, ParameterException) as error:
        print(f'sim_mavros: {error}', file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
