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
What the MAVROS end-to-end tests share: a vehicle pair, its reset, and flights to fault.

A *vehicle* is a sim_mavros process and a robot executor (bridge: mavros) flying it, with
the sim's ``sim_mavros/events`` collected (:class:`~.conftest.SimEvents`): what the vehicle
physically did is counted from those, never from the executor. Every wait is on a condition
with a timeout.
"""

import math
import threading
import time
import typing

from brain_execution.core.geo import GeoPoint, local_to_geographic
from brain_execution_interfaces.msg import ErrorCode, RobotState
from geometry_msgs.msg import PoseStamped
import pytest
from rclpy.qos import qos_profile_sensor_data

from .conftest import SimEvents, unique_robot_id

__all__ = ['FAR_TARGET', 'FAULTS_OFF', 'FLIGHT_TIMEOUT_S', 'HOME', 'SimPoses', 'far_go_to',
           'geo', 'heading_out', 'index_of', 'lands_at_home', 'link_back_in', 'modes', 'ok',
           'on_ground', 'start_vehicle', 'takeoff']

HOME = GeoPoint(47.397742, 8.545594)
FAULTS_OFF = {'fault.arming_denied': '', 'fault.link_down': False,
              'fault.ignore_mode_change': False, 'fault.ack_timeout': False,
              'fault.late_effect_s': 6.0, 'fault.gps_lost': False, 'fault.gps_glitch': False}
FLIGHT_TIMEOUT_S = 60.0
# The flavours' default timings are short versions of the real ones; PX4's first arming
# after boot is refused for ready_delay_s ("heading estimate not stable"), so the executor's
# arming of the first test meets a real TEMPORARILY_REJECTED unless the sim has settled.
_SETTLED_S = 20.0
#: Where far_go_to sends the drone: far enough for a fault to land mid-flight.
FAR_TARGET = {'x_m': 60.0, 'y_m': 0.0, 'altitude_m': 5.0}


def start_vehicle(start_sim, start_executor, ros, *, prefix: str, flavour: str,
                  platform: str, params_file: str, operations: typing.Sequence[str],
                  parameters: typing.Mapping[str, typing.Any] = None,
                  sim_parameters: typing.Mapping[str, typing.Any] = None) -> dict:
    """Start a sim_mavros and an executor flying it; return them once the link is up."""
    robot_id = unique_robot_id(prefix)
    sim = start_sim(f'/{robot_id}', {'flavour': flavour, **(sim_parameters or {})})
    executor = start_executor(platform, robot_id=robot_id, params_file=params_file,
                              parameters=parameters)
    ros.wait_for_servers(executor, operations)
    events = SimEvents(ros.node, f'/{robot_id}', topic='sim_mavros/events')
    # Link up and a battery level known: ArduPilot sends no battery until the bridge has
    # asked for stream rates, and a takeoff before it is refused (battery level unknown).
    ready = ros.wait_for_state(
        robot_id, lambda s: s.link_up and math.isfinite(s.battery_percent), 30.0)
    assert ready is not None, \
        f'{robot_id}: link or battery never up: sim {sim.running()}\n{executor.log()}'
    return {'id': robot_id, 'sim': sim, 'executor': executor, 'events': events}


def on_ground(vehicle: dict, ros) -> dict:
    """Bring the vehicle to the ground, disarmed, faults off; return it."""
    ros.set_parameters(vehicle['sim'].node_name, FAULTS_OFF)
    state = ros.wait_for_state(vehicle['id'], lambda s: s.link_up, 20.0)
    assert state is not None, f'{vehicle["id"]}: link not up'
    if state.armed:
        # Left flying (or released to the autopilot) by a test that failed: land it.
        ros.run(vehicle['id'], 'emergency_land', {'reason': 'test cleanup'},
                timeout_s=FLIGHT_TIMEOUT_S)
    idle = ros.wait_for_state(vehicle['id'], lambda s: s.link_up and not s.armed and (
        s.landed_state in (RobotState.LANDED_ON_GROUND, RobotState.LANDED_UNKNOWN))
        and not s.active_operations, 30.0)
    assert idle is not None, f'{vehicle["id"]} not back on the ground and idle'
    return vehicle


def ok(result, what=''):
    """Assert that an operation succeeded; return its result."""
    assert result is not None, f'{what}: no result'
    assert result.error_code == ErrorCode.NONE, (
        f'{what}: error_code {result.error_code}: {result.error_msg}')
    return result


def takeoff(ros, vehicle: dict, altitude_m: float = 4.0):
    """Take off to altitude_m, retrying while the autopilot is not settled after boot."""
    deadline = time.monotonic() + _SETTLED_S
    while True:
        result = ros.run(vehicle['id'], 'takeoff', {'altitude_m': altitude_m,
                                                    'climb_speed_mps': 1.5},
                         timeout_s=FLIGHT_TIMEOUT_S)
        if result.error_code != ErrorCode.COMMAND_TEMPORARILY_REJECTED or \
                time.monotonic() > deadline:
            return ok(result, 'takeoff')
        # PX4 right after boot: "heading estimate not stable" (retryable, as on the real one).
        assert result.retryable, result.error_msg
        ros.wait_for_state(vehicle['id'], lambda s: not s.active_operations, 10.0)


def heading_out(ros, vehicle: dict, run):
    """Wait until the go_to ``run`` runs and has taken the drone 3 m east of where it was."""
    assert run.accepted.wait(10.0) and run.goal_handle.accepted, 'go_to not accepted'
    start = ros.wait_for_state(vehicle['id'], lambda s: bool(s.active_operations), 10.0)
    assert start is not None, 'the go_to never became active'
    x0 = start.pose.position.x
    return ros.wait_for_state(vehicle['id'], lambda s: s.pose.position.x > x0 + 3.0, 20.0)


def far_go_to(ros, vehicle: dict):
    """Send a go_to to :data:`FAR_TARGET`; return it once the drone is on its way."""
    go_to = ros.send(vehicle['id'], 'go_to', {'target': FAR_TARGET, 'speed_mps': 5.0})
    assert heading_out(ros, vehicle, go_to) is not None, 'the drone never headed out'
    return go_to


def link_back_in(ros, vehicle: dict, mode: str) -> int:
    """Clear fault.link_down; return the events mark from before, once the robot is up in mode."""
    back = vehicle['events'].mark()
    ros.set_parameters(vehicle['sim'].node_name, {'fault.link_down': False})
    up = ros.wait_for_state(vehicle['id'], lambda s: s.link_up and s.mode == mode, 20.0)
    assert up is not None and up.armed, f'the robot never reported the link back, in {mode}'
    return back


def lands_at_home(events: SimEvents, mark: int) -> None:
    """Wait until the vehicle got home, landed (once, within 1.5 m of it) and disarmed."""
    events.wait_for(mark, 'reached', what='home', timeout_s=FLIGHT_TIMEOUT_S)
    events.wait_for(mark, 'disarmed', timeout_s=FLIGHT_TIMEOUT_S)
    (landed,) = events.since(mark, 'landed')
    assert math.hypot(landed['x'], landed['y']) < 1.5, landed


def geo(x_m: float, y_m: float) -> typing.Tuple[float, float]:
    """Return the latitude and longitude of a local point (m from home)."""
    point = local_to_geographic(HOME, x_m, y_m)
    return point.latitude_deg, point.longitude_deg


def modes(events: SimEvents, mark: int, by: str = None) -> typing.List[str]:
    """Return the modes the vehicle entered since mark (only those ``by`` someone)."""
    return [e['mode'] for e in events.since(mark, 'mode') if by is None or e['by'] == by]


def index_of(events: SimEvents, mark: int, event: str, **fields) -> int:
    """Return the mark just before the first matching event after ``mark``."""
    for offset, found in enumerate(events.since(mark)):
        if found['event'] == event and all(found.get(k) == v for k, v in fields.items()):
            return mark + offset
    raise AssertionError(f'no {event} {fields} since {mark}: {events.since(mark)}')


class SimPoses:
    """
    Where the sim says the vehicle is: its own ``<robot>/mavros/local_position/pose``.

    Each pose is kept as ``(t, x, y, z)``: t the sim's stamp (s), x/y/z local ENU metres from
    home. Nothing comes while ``fault.link_down`` is set (the sim publishes nothing then).
    """

    def __init__(self, node, robot_id: str):
        self._poses: typing.List[typing.Tuple[float, float, float, float]] = []
        self._changed = threading.Condition()
        self._subscription = node.create_subscription(
            PoseStamped, f'/{robot_id}/mavros/local_position/pose', self._on_pose,
            qos_profile_sensor_data)

    def _on_pose(self, msg: PoseStamped) -> None:
        p, stamp = msg.pose.position, msg.header.stamp
        with self._changed:
            self._poses.append((stamp.sec + stamp.nanosec * 1e-9, p.x, p.y, p.z))
            self._changed.notify_all()

    def mark(self) -> int:
        """Return a position: the poses after it are those to come."""
        with self._changed:
            return len(self._poses)

    def since(self, mark: int) -> typing.List[typing.Tuple[float, float, float, float]]:
        """Return the poses after mark."""
        with self._changed:
            return self._poses[mark:]

    def last(self) -> typing.Tuple[float, float, float, float]:
        """Return the latest pose; fail the test if none came."""
        with self._changed:
            if not self._poses:
                pytest.fail('no pose from the sim yet')
            return self._poses[-1]

    def wait_for(self, mark: int, condition: typing.Callable[[tuple], bool],
                 timeout_s: float = 10.0) -> tuple:
        """Return the first pose after mark satisfying condition; fail the test if none does."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = [p for p in self._poses[mark:] if condition(p)]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f'no such pose within {timeout_s} s; last: {self._poses[-1:]}')
                self._changed.wait(remaining)
