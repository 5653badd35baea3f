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
``sim_mavros`` as a real process, driven the way a MAVROS client drives MAVROS.

Each test starts ``sim_mavros --ros-args -r __ns:=/<name> -p flavour:=...`` and talks to it
with plain rclpy publishers, subscriptions and service clients at MAVROS's QoS. Every wait
is on a condition (a message, an event, a response) with a timeout.
"""

import json
import math
import threading
import time
import typing
import uuid

from brain_execution.ros.processes import node_command, NodeProcess
from geometry_msgs.msg import PoseStamped
from mavros_msgs.msg import ExtendedState, State, StatusText
from mavros_msgs.srv import CommandBool, CommandTOL, SetMode, StreamRate
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import BatteryState, NavSatFix
from std_msgs.msg import Float64, String

_LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)
_EVENTS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
_HOME_AMSL_M = 488.0
_NAN = float('nan')


class Vehicle:
    """The test's view of one sim_mavros process: what it published, and calls into it."""

    def __init__(self, node, namespace: str, log_path: str):
        self.node = node
        self.namespace = namespace
        self.log_path = log_path
        self._changed = threading.Condition()
        self.states: typing.List[State] = []
        self.extended: typing.List[ExtendedState] = []
        self.poses: typing.List[typing.Tuple[float, PoseStamped]] = []
        self.fixes: typing.List[NavSatFix] = []
        self.rel_alt: typing.List[float] = []
        self.battery: typing.List[BatteryState] = []
        self.texts: typing.List[str] = []
        self.events: typing.List[dict] = []
        m = f'{namespace}/mavros/'
        sensor = qos_profile_sensor_data
        self._subscriptions = [
            node.create_subscription(State, m + 'state', self._keep(self.states), _LATCHED),
            node.create_subscription(ExtendedState, m + 'extended_state',
                                     self._keep(self.extended), _LATCHED),
            node.create_subscription(PoseStamped, m + 'local_position/pose',
                                     self._keep(self.poses, stamped=True), sensor),
            node.create_subscription(NavSatFix, m + 'global_position/global',
                                     self._keep(self.fixes), sensor),
            node.create_subscription(Float64, m + 'global_position/rel_alt',
                                     self._keep(self.rel_alt, lambda msg: msg.data), sensor),
            node.create_subscription(BatteryState, m + 'battery', self._keep(self.battery),
                                     sensor),
            node.create_subscription(StatusText, m + 'statustext/recv',
                                     self._keep(self.texts, lambda msg: msg.text), 10),
            node.create_subscription(String, f'{namespace}/sim_mavros/events',
                                     self._keep(self.events, lambda msg: json.loads(msg.data)),
                                     _EVENTS),
        ]
        self._clients = {}
        self._setpoints = node.create_publisher(PoseStamped, m + 'setpoint_position/local',
                                                sensor)
        self._stream_target = None
        self._stream_thread = None
        self._closed = threading.Event()
        self.last_setpoint_s = None
        self._parameters = AsyncParameterClient(node, f'{namespace}/sim_mavros')

    def _keep(self, into: list, convert=None, stamped: bool = False):
        def callback(msg):
            value = convert(msg) if convert else msg
            with self._changed:
                into.append((time.monotonic(), value) if stamped else value)
                self._changed.notify_all()
        return callback

    # --- waiting ---------------------------------------------------------------------------

    def wait_for(self, condition: typing.Callable[[], typing.Any], what: str,
                 timeout_s: float = 15.0):
        """Return condition()'s first true value; fail the test after timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0.0:
                    pytest.fail(f'{self.namespace}: no {what} within {timeout_s} s; last '
                                f'state {self.states[-1:]}, events {self.events[-8:]}\n'
                                f'{self.log()}')
                self._changed.wait(min(remaining, 0.5))

    def event(self, kind: str, since: int = 0, **fields) -> typing.Optional[dict]:
        for entry in self.events[since:]:
            if entry['event'] == kind and all(entry.get(k) == v for k, v in fields.items()):
                return entry
        return None

    def wait_event(self, kind: str, since: int = 0, timeout_s: float = 15.0, **fields):
        return self.wait_for(lambda: self.event(kind, since, **fields),
                             f'{kind} event {fields}', timeout_s)

    def mark(self) -> int:
        with self._changed:
            return len(self.events)

    def state(self) -> State:
        return self.states[-1] if self.states else None

    def wait_state(self, what: str, timeout_s: float = 15.0, **fields) -> State:
        def matches():
            s = self.state()
            return s if s is not None and all(getattr(s, k) == v for k, v in fields.items()) \
                else None
        return self.wait_for(matches, f'{what} ({fields})', timeout_s)

    def wait_connected(self) -> None:
        self.wait_state('a connected heartbeat', timeout_s=30.0, connected=True)

    # --- calls -----------------------------------------------------------------------------

    def call(self, srv_type, name: str, timeout_s: float = 15.0, **fields):
        """Call a service under mavros/ and return its response."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self.node.create_client(
                srv_type, f'{self.namespace}/mavros/{name}')
        if not client.wait_for_service(timeout_sec=15.0):
            pytest.fail(f'no service {name}\n{self.log()}')
        done = threading.Event()
        future = client.call_async(srv_type.Request(**fields))
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout_s):
            pytest.fail(f'{name}: no response within {timeout_s} s')
        return future.result()

    def set_mode(self, mode: str) -> bool:
        return self.call(SetMode, 'set_mode', custom_mode=mode).mode_sent

    def arm(self, value: bool = True):
        return self.call(CommandBool, 'cmd/arming', value=value)

    def arm_when_ready(self, timeout_s: float = 20.0):
        """Arm, retrying while the autopilot says it is not ready yet (result 1 or 4)."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = self.arm()
            if response.success:
                return response
            assert response.result in (1, 4), response
            if time.monotonic() > deadline:
                pytest.fail(f'arming refused for {timeout_s} s: {self.events[-5:]}')
            heartbeats = len(self.states)
            self.wait_for(lambda: len(self.states) > heartbeats, 'the next heartbeat')

    def set_faults(self, **faults):
        """Set fault.* parameters; return the SetParametersResult list."""
        if not self._parameters.wait_for_services(15.0):
            pytest.fail('no parameter services')
        done = threading.Event()
        future = self._parameters.set_parameters(
            [Parameter(f'fault.{k}', value=v) for k, v in faults.items()])
        future.add_done_callback(lambda _: done.set())
        if not done.wait(15.0):
            pytest.fail('set_parameters: no answer')
        return future.result().results

    def request_streams(self) -> None:
        self.call(StreamRate, 'set_stream_rate', stream_id=StreamRate.Request.STREAM_ALL,
                  message_rate=10, on_off=True)

    def stream(self, x: typing.Optional[float], y: float = 0.0, z: float = 0.0,
               rate_hz: float = 20.0) -> None:
        """
        Stream position setpoints at rate_hz (None stops the stream).

        From a thread of its own, as a flight stack's offboard loop is: a timer on the test's
        executor waited behind the pose callbacks when CI starved the process, and the gaps
        made PX4 fail safe before the drone had taken off.
        """
        self._stream_target = None if x is None else (x, y, z)
        if self._stream_thread is None:
            self._stream_thread = threading.Thread(
                target=self._stream_loop, args=(1.0 / rate_hz,), daemon=True)
            self._stream_thread.start()

    def close(self) -> None:
        """Stop the setpoint stream's thread."""
        self._closed.set()
        if self._stream_thread is not None:
            self._stream_thread.join(timeout=5.0)

    def _stream_loop(self, period_s: float) -> None:
        while not self._closed.wait(period_s):
            target = self._stream_target
            if target is not None:
                self._send_setpoint(target)

    def _send_setpoint(self, target) -> None:
        msg = PoseStamped()
        msg.header.frame_id = 'map'
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = target
        msg.pose.orientation.w = 1.0
        self._setpoints.publish(msg)
        self.last_setpoint_s = time.monotonic()

    def log(self) -> str:
        with open(self.log_path, 'rb') as log:
            return log.read().decode(errors='replace')[-3000:]


@pytest.fixture(scope='module')
def ros():
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f'test_sim_mavros_{uuid.uuid4().hex[:6]}', context=context)
    executor = MultiThreadedExecutor(num_threads=3, context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield node
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        thread.join(timeout=10.0)


@pytest.fixture
def start(ros, tmp_path):
    """Return a function starting a sim_mavros process; stopped after the test."""
    processes, vehicles = [], []

    def start_vehicle(flavour: str, **parameters) -> Vehicle:
        namespace = f'/{flavour}_{uuid.uuid4().hex[:6]}'
        log_path = str(tmp_path / f'{namespace.strip("/")}.log')
        processes.append(NodeProcess(
            node_command('sim_mavros', namespace=namespace,
                         parameters={'flavour': flavour, **parameters}),
            log_path=log_path))
        vehicle = Vehicle(ros, namespace, log_path)
        vehicles.append(vehicle)
        vehicle.wait_connected()
        return vehicle

    try:
        yield start_vehicle
    finally:
        for vehicle in vehicles:
            vehicle.close()
        for process in processes:
            assert process.stop() == 0


# --- PX4 ---------------------------------------------------------------------------------

def test_px4_offboard_needs_a_prior_stream_and_fails_safe_when_it_stops(start):
    drone = start('px4', ready_delay_s=0.0, heartbeat_rate_hz=5.0)
    assert drone.state().mode == 'AUTO.LOITER'
    # Real PX4 takes OFFBOARD while disarmed with no stream at all; arming in it is refused.
    assert drone.set_mode('OFFBOARD')
    drone.wait_state('OFFBOARD while disarmed', mode='OFFBOARD')
    refused = drone.arm()
    assert (refused.success, refused.result) == (False, 1)
    assert drone.event('arm_refused', reason='no offboard signal')

    drone.stream(0.0, 0.0, 5.0)
    drone.arm_when_ready()
    drone.wait_state('armed', armed=True)
    drone.wait_event('took_off')
    drone.wait_event('reached', timeout_s=20.0, what='setpoint')

    mark = drone.mark()
    drone.stream(None)
    stopped_s = drone.last_setpoint_s
    drone.wait_state('the failsafe', mode='AUTO.RTL')
    failsafe = drone.wait_event('failsafe', mark, reason='offboard signal lost')
    assert failsafe['action'] == 'AUTO.RTL'
    # COM_OF_LOSS_T is 1 s: not at once. The test's clock starts when it published the last
    # setpoint and the simulator's at its receipt, so allow the scheduling jitter between them.
    assert time.monotonic() - stopped_s >= 0.9


def test_px4_offboard_loss_mid_flight_returns_from_where_it_is(start):
    """RTL drops the OFFBOARD target under way: the drone turns back instead of flying on."""
    drone = start('px4', ready_delay_s=0.0, heartbeat_rate_hz=5.0, rtl_altitude_m=6.0)
    assert drone.set_mode('OFFBOARD')
    drone.wait_state('OFFBOARD while disarmed', mode='OFFBOARD')
    drone.stream(0.0, 0.0, 5.0)
    drone.arm_when_ready()
    drone.wait_event('reached', timeout_s=20.0, what='setpoint')
    drone.stream(40.0, 0.0, 5.0)
    drone.wait_for(lambda: drone.poses and drone.poses[-1][1].pose.position.x > 3.0,
                   'the drone heading out', timeout_s=20.0)
    mark = drone.mark()
    drone.stream(None)
    drone.wait_event('failsafe', mark, reason='offboard signal lost')
    drone.wait_event('reached', mark, timeout_s=40.0, what='home')
    # At 5 m/s it covers about 5 m before the 1 s loss timeout and brakes in about 3 m more;
    # flying on to the target would take it to 40 m.
    farthest = max(pose.pose.position.x for _, pose in drone.poses)
    assert farthest < 20.0, farthest
    assert not drone.event('reached', mark, what='setpoint'), drone.events[mark:]


def test_px4_refuses_switching_to_offboard_in_flight_without_a_stream(start):
    drone = start('px4', ready_delay_s=0.0, heartbeat_rate_hz=5.0)
    drone.arm_when_ready()
    assert drone.call(CommandTOL, 'cmd/takeoff', latitude=_NAN, longitude=_NAN,
                      altitude=_HOME_AMSL_M + 3.0).success
    drone.wait_event('mode', timeout_s=20.0, mode='AUTO.LOITER', previous='AUTO.TAKEOFF')
    mark = drone.mark()
    assert drone.set_mode('OFFBOARD')  # sent, but refused by the autopilot
    drone.wait_event('mode_refused', mark, mode='OFFBOARD')
    assert drone.state().mode == 'AUTO.LOITER'


def test_px4_first_arm_is_refused_takeoff_is_amsl_and_it_disarms_after_landing(start):
    drone = start('px4', ready_delay_s=4.0, auto_disarm_s=0.5, heartbeat_rate_hz=5.0)
    first = drone.arm()
    assert (first.success, first.result) == (False, 1)
    drone.arm_when_ready()
    # lat/lon 0 is a real position: PX4 says yes and does not climb.
    ignored = drone.call(CommandTOL, 'cmd/takeoff', latitude=0.0, longitude=0.0,
                         altitude=_HOME_AMSL_M + 5.0)
    assert ignored.success
    drone.wait_event('takeoff_ignored')
    taken = drone.call(CommandTOL, 'cmd/takeoff', latitude=_NAN, longitude=_NAN,
                       altitude=_HOME_AMSL_M + 5.0)
    assert (taken.success, taken.result) == (True, 0)
    drone.wait_event('mode', mode='AUTO.TAKEOFF')
    drone.wait_event('mode', timeout_s=20.0, mode='AUTO.LOITER', previous='AUTO.TAKEOFF')
    assert drone.rel_alt[-1] == pytest.approx(5.0, abs=0.3)
    assert drone.fixes[-1].altitude == pytest.approx(_HOME_AMSL_M + 47.4 + 5.0, abs=0.3)
    assert drone.call(CommandTOL, 'cmd/land').success
    drone.wait_state('AUTO.LAND', mode='AUTO.LAND')
    drone.wait_event('landed', timeout_s=20.0)
    drone.wait_event('disarmed', reason='landed')
    drone.wait_state('disarmed', armed=False)
    assert drone.extended[-1].landed_state == ExtendedState.LANDED_STATE_ON_GROUND


# --- ArduPilot ---------------------------------------------------------------------------

def test_arducopter_guided_arm_takeoff_land(start):
    copter = start('arducopter', ready_delay_s=6.0, ekf_delay_s=10.0, rc_mode_reset_s=-1.0,
                   heartbeat_rate_hz=5.0)
    early = copter.arm()
    assert (early.success, early.result) == (False, 4)
    copter.wait_for(lambda: [t for t in copter.texts if t.startswith('Arm: ')],
                    'an "Arm: ..." STATUSTEXT')
    # No position estimate yet: GUIDED is refused (the request is still "sent").
    assert copter.set_mode('GUIDED')
    copter.wait_event('mode_refused', mode='GUIDED', reason='requires position')
    # Pose only once the EKF has a position and stream rates are asked for.
    heartbeats = len(copter.states)
    copter.wait_for(lambda: len(copter.states) >= heartbeats + 5, 'five more heartbeats')
    assert not copter.poses and not copter.fixes
    copter.request_streams()
    copter.wait_for(lambda: copter.poses, 'a local position', timeout_s=20.0)
    assert copter.set_mode('GUIDED')
    copter.wait_state('GUIDED', mode='GUIDED')
    copter.arm_when_ready()
    takeoff = copter.call(CommandTOL, 'cmd/takeoff', altitude=5.0, latitude=_NAN,
                          longitude=_NAN)
    assert (takeoff.success, takeoff.result) == (True, 0)
    copter.wait_for(lambda: copter.rel_alt and copter.rel_alt[-1] > 4.7, 'rel_alt 5 m',
                    timeout_s=20.0)
    copter.wait_for(lambda: copter.extended and copter.extended[-1].landed_state ==
                    ExtendedState.LANDED_STATE_IN_AIR, 'landed_state IN_AIR')
    assert copter.set_mode('LAND')
    copter.wait_state('LAND', mode='LAND')
    copter.wait_event('landed', timeout_s=30.0)
    copter.wait_state('auto-disarm', armed=False)


def test_arducopter_takeoff_outside_guided_fails_with_result_4(start):
    copter = start('arducopter', ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=-1.0)
    copter.arm_when_ready()
    refused = copter.call(CommandTOL, 'cmd/takeoff', altitude=5.0)
    assert (refused.success, refused.result) == (False, 4)


def test_rover_guided_leg_hold_and_no_land(start):
    boat = start('ardurover', ready_delay_s=0.0, ekf_delay_s=0.0, clock_rate=3.0)
    assert not boat.set_mode('LAND')  # not a rover mode: MAVROS cannot send it
    boat.request_streams()
    boat.wait_for(lambda: boat.poses, 'a local position')
    assert boat.set_mode('GUIDED')
    boat.wait_state('GUIDED', mode='GUIDED')
    boat.arm_when_ready()
    boat.stream(30.0, 10.0, 0.0, rate_hz=5.0)
    reached = boat.wait_event('reached', timeout_s=30.0, what='setpoint')
    assert reached['target'][:2] == [30.0, 10.0]
    boat.wait_for(lambda: math.hypot(boat.poses[-1][1].pose.position.x - 30.0,
                                     boat.poses[-1][1].pose.position.y - 10.0) < 1.0,
                  'a pose within 1 m of the target')
    assert boat.call(CommandTOL, 'cmd/land').result == 3  # MAV_RESULT_UNSUPPORTED
    assert boat.set_mode('HOLD')
    boat.wait_state('HOLD', mode='HOLD')


# --- faults ------------------------------------------------------------------------------

def test_fault_arming_denied_gives_the_reason(start):
    copter = start('arducopter', ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=-1.0)
    assert copter.set_faults(arming_denied='Compass not calibrated')[0].successful
    refused = copter.arm()
    assert (refused.success, refused.result) == (False, 4)
    copter.wait_for(lambda: 'Arm: Compass not calibrated' in copter.texts, 'the reason')
    assert copter.set_faults(arming_denied='')[0].successful
    assert copter.arm().success


def test_fault_mode_change_ignored(start):
    drone = start('px4', ready_delay_s=0.0, heartbeat_rate_hz=5.0)
    drone.set_faults(ignore_mode_change=True)
    assert drone.set_mode('POSCTL')
    drone.wait_event('mode_ignored', mode='POSCTL')
    heartbeats = len(drone.states)
    drone.wait_for(lambda: len(drone.states) >= heartbeats + 5, 'five more heartbeats')
    assert {s.mode for s in drone.states[heartbeats:]} == {'AUTO.LOITER'}


def test_fault_ack_timeout_answers_result_0_serialises_and_still_arms_later(start):
    drone = start('px4', ready_delay_s=0.0, ack_timeout_s=2.0, heartbeat_rate_hz=5.0)
    drone.set_faults(ack_timeout=True, late_effect_s=3.0)
    answers = {}

    def call(name, srv_type, service, **fields):
        started = time.monotonic()
        response = drone.call(srv_type, service, timeout_s=15.0, **fields)
        answers[name] = (response, started, time.monotonic())

    callers = [threading.Thread(target=call, args=('arm', CommandBool, 'cmd/arming'),
                                kwargs={'value': True}),
               threading.Thread(target=call, args=('land', CommandTOL, 'cmd/land'))]
    callers[0].start()
    drone.wait_event('command_received', name='arming')
    callers[1].start()
    for caller in callers:
        caller.join(timeout=20.0)
    arm, arm_start, arm_end = answers['arm']
    land, land_start, land_end = answers['land']
    assert (arm.success, arm.result) == (False, 0)
    assert (land.success, land.result) == (False, 0)
    assert arm_end - arm_start >= 2.0
    # One command at a time: the land call waited behind the arming call.
    assert land_end >= arm_end + 1.9
    drone.wait_state('the late arming', armed=True)
    assert drone.wait_event('late_effect', name='arming')['result'] == 0


def test_fault_link_down_stops_telemetry_and_connected_goes_false(start):
    drone = start('px4', ready_delay_s=0.0, heartbeat_timeout_s=1.5, ack_timeout_s=1.0)
    drone.wait_for(lambda: drone.poses, 'a pose')
    drone.set_faults(link_down=True)
    cut_s = time.monotonic()
    lost = drone.wait_state('connected false', timeout_s=10.0, connected=False)
    assert lost.mode == 'AUTO.LOITER'
    assert time.monotonic() - cut_s >= 1.4
    # Poses stopped at the cut (a few in flight at most).
    late = [t for t, _ in drone.poses if t > cut_s + 0.5]
    assert not late
    response = drone.arm()
    assert (response.success, response.result) == (False, 0)
    drone.set_faults(link_down=False)
    drone.wait_state('reconnected', connected=True)
    drone.wait_for(lambda: [t for t, _ in drone.poses if t > cut_s + 0.5], 'poses again')


def test_fault_battery_drain(start):
    copter = start('arducopter', ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=-1.0)
    copter.request_streams()
    copter.wait_for(lambda: copter.battery, 'a battery message')
    assert copter.battery[-1].percentage > 0.9
    copter.set_faults(battery_drain_pct_per_s=40.0)
    copter.wait_for(lambda: copter.battery[-1].percentage < 0.3, 'a drained battery')
    copter.wait_for(lambda: [t for t in copter.texts if t.startswith('Battery low')],
                    'a low-battery STATUSTEXT')


def test_fault_gps_lost_lands_a_flying_px4(start):
    drone = start('px4', ready_delay_s=0.0, gps_failsafe_s=0.5, heartbeat_rate_hz=5.0)
    drone.arm_when_ready()
    assert drone.call(CommandTOL, 'cmd/takeoff', latitude=_NAN, longitude=_NAN,
                      altitude=_HOME_AMSL_M + 3.0).success
    drone.wait_event('mode', timeout_s=20.0, mode='AUTO.LOITER', previous='AUTO.TAKEOFF')
    drone.set_faults(gps_lost=True)
    drone.wait_for(lambda: drone.fixes[-1].status.status == -1, 'NavSatFix NO_FIX')
    drone.wait_state('the failsafe landing', mode='AUTO.LAND')
    assert drone.wait_event('failsafe', reason='gps lost')['action'] == 'AUTO.LAND'
    drone.wait_state('disarmed after the landing', timeout_s=20.0, armed=False)
    refused = drone.arm()
    assert (refused.success, refused.result) == (False, 1)
    drone.wait_event('arm_refused', reason='no valid global position')


def test_fault_pilot_takeover_holds_and_is_not_undone(start):
    drone = start('px4', ready_delay_s=0.0, heartbeat_rate_hz=5.0)
    drone.stream(0.0, 0.0, 4.0)
    assert drone.set_mode('OFFBOARD')
    drone.wait_state('OFFBOARD', mode='OFFBOARD')
    drone.arm_when_ready()
    drone.wait_event('reached', timeout_s=20.0, what='setpoint')
    bad = drone.set_faults(pilot_takeover='GUIDED')[0]
    assert not bad.successful and 'not a px4 mode' in bad.reason
    mark = drone.mark()
    assert drone.set_faults(pilot_takeover='POSCTL')[0].successful
    drone.wait_state('POSCTL', mode='POSCTL', manual_input=True)
    assert drone.wait_event('mode', mark, mode='POSCTL')['by'] == 'pilot'
    drone.stream(10.0, 0.0, 4.0)  # setpoints keep coming, but the pilot flies
    heartbeats = len(drone.states)
    drone.wait_for(lambda: len(drone.states) >= heartbeats + 5, 'five more heartbeats')
    assert {s.mode for s in drone.states[heartbeats:]} == {'POSCTL'}
    assert abs(drone.poses[-1][1].pose.position.x) < 0.5
