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
Every drone operation of the catalog, end to end on the MAVROS bridge, in both flavours.

A robot executor (bridge: mavros) flies a sim_mavros vehicle, PX4 and ArduCopter, through its
action servers, one operation after the other, as a mission would. What the vehicle did is
counted from its own ``sim_mavros/events``.

What MAVROS cannot do (camera, gripper, radio) goes two ways: the PX4 drone has them
configured to services and a topic of this test (a camera and a gripper driver stand-in, whose
calls are counted), the ArduCopter drone has none and must refuse them with UNSUPPORTED and a
reason, without touching the vehicle.
"""

import math
import threading

from brain_execution.core.catalog import CATALOG
from brain_execution.core.state import Platform
from brain_execution_interfaces.msg import ErrorCode
from geometry_msgs.msg import PoseStamped
import pytest
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import UInt8MultiArray
from std_srvs.srv import SetBool, Trigger

from .conftest import SimEvents, unique_robot_id
from .mavros_flights import (
    FLIGHT_TIMEOUT_S as _FLIGHT_TIMEOUT_S, modes as _modes, ok as _ok, on_ground as _on_ground,
    takeoff as _takeoff)

# Every drone operation, and the modes each flavour is asked for along the way.
_DRONE_OPERATIONS = sorted(n for n, s in CATALOG.items() if Platform.DRONE in s.platforms)
_MODES = {
    'px4': {'fly': 'OFFBOARD', 'hold': 'AUTO.LOITER', 'land': 'AUTO.LAND', 'rtl': 'AUTO.RTL'},
    'arducopter': {'fly': 'GUIDED', 'hold': 'GUIDED', 'land': 'LAND', 'rtl': 'RTL'},
}
_PERIPHERALS = ['capture_image', 'record_video', 'pickup', 'dropoff', 'send_data', 'scan_area']


class _Devices:
    """A camera and a gripper driver and a radio topic, as a robot's other drivers would be."""

    def __init__(self, node, namespace: str):
        self.calls = []
        self._lock = threading.Lock()
        # The executor's settings: names under the robot's namespace.
        self.names = {'mavros.capture_service': 'camera/trigger',
                      'mavros.record_service': 'camera/record',
                      'mavros.payload_service': 'gripper/grip',
                      'mavros.send_data_topic': 'radio/tx'}
        here = {key: f'{namespace}/{name}' for key, name in self.names.items()}
        self._node = node
        self._services = [
            node.create_service(Trigger, here['mavros.capture_service'], self._trigger),
            node.create_service(SetBool, here['mavros.record_service'], self._setter('record')),
            node.create_service(SetBool, here['mavros.payload_service'], self._setter('grip'))]
        self.sent = []
        self._radio = node.create_subscription(
            UInt8MultiArray, here['mavros.send_data_topic'],
            lambda msg: self.sent.append(bytes(msg.data)), 10)

    def _trigger(self, _request, response):
        with self._lock:
            self.calls.append(('capture', True))
            response.success, response.message = True, f'file:///images/{len(self.calls)}.jpg'
        return response

    def _setter(self, kind):
        def serve(request, response):
            with self._lock:
                self.calls.append((kind, request.data))
                response.success = True
                response.message = f'file:///videos/{len(self.calls)}.mp4' if kind == 'record' \
                    and not request.data else ''
            return response
        return serve

    def count(self, kind, value=None):
        with self._lock:
            return sum(1 for k, v in self.calls if k == kind and (value is None or v == value))

    def close(self):
        for service in self._services:
            self._node.destroy_service(service)
        self._node.destroy_subscription(self._radio)


# This module flies the operations, not the link watch (test_mavros_bridge and the fault
# modules test that, at the configured 1 s): on a starved 2-core CI machine the simulator's
# process is at times not scheduled for a second, and a takeoff then ended as a link loss.
_LINK_TOLERANT = {'mavros.pose_timeout_s': 3.0}


def _track(node, namespace):
    """Record the vehicle's own pose, as MAVROS publishes it (sensor-data QoS)."""
    track = []
    subscription = node.create_subscription(
        PoseStamped, f'{namespace}/mavros/local_position/pose', track.append,
        qos_profile_sensor_data)
    return track, subscription


@pytest.fixture(scope='module', params=['px4', 'arducopter'])
def drone(request, module_start_sim_mavros, module_start_executor, module_ros):
    flavour = request.param
    robot_id = unique_robot_id(f'{flavour}_ops')
    namespace = f'/{robot_id}'
    devices = _Devices(module_ros.node, namespace) if flavour == 'px4' else None
    sim = module_start_sim_mavros(namespace, {'flavour': flavour})
    executor = module_start_executor(
        'drone', robot_id=robot_id,
        params_file='px4_x500.yaml' if flavour == 'px4' else 'arducopter.yaml',
        parameters={**_LINK_TOLERANT, **(devices.names if devices else {})})
    module_ros.wait_for_servers(executor, _DRONE_OPERATIONS)
    track, pose = _track(module_ros.node, namespace)
    vehicle = {'id': robot_id, 'sim': sim, 'executor': executor, 'flavour': flavour,
               'devices': devices, 'track': track,
               'events': SimEvents(module_ros.node, namespace, topic='sim_mavros/events')}
    assert module_ros.wait_for_state(robot_id, lambda s: s.link_up, 30.0) is not None, \
        f'{robot_id}: link never up\n{executor.log()}'
    try:
        yield vehicle
    finally:
        module_ros.node.destroy_subscription(pose)
        if devices:
            devices.close()


@pytest.fixture
def drone_ready(drone, module_ros):
    return _on_ground(drone, module_ros)


def test_the_catalog_offers_these_drone_operations():
    # The list below is what this module flies; an operation added to the catalog for drones
    # must be added to the mission here too.
    assert _DRONE_OPERATIONS == sorted([
        'broadcast_status', 'capture_image', 'dropoff', 'emergency_land', 'emergency_stop',
        'follow_waypoints', 'go_to', 'hover', 'land', 'orbit', 'pickup', 'record_video',
        'return_home', 'scan_area', 'send_data', 'takeoff'])


def test_every_drone_operation_flies_end_to_end(drone_ready, module_ros):
    vehicle, ros = drone_ready, module_ros
    robot, events, modes = vehicle['id'], vehicle['events'], _MODES[vehicle['flavour']]
    mark = events.mark()
    ran = {}

    def run(operation, fields, timeout_s=_FLIGHT_TIMEOUT_S):
        ran[operation] = ros.run(robot, operation, fields, timeout_s=timeout_s)
        return ran[operation]

    ran['takeoff'] = _takeoff(ros, vehicle, 4.0)
    _ok(run('hover', {'duration_s': 1.0}), 'hover')
    _ok(run('go_to', {'target': {'x_m': 6.0, 'y_m': 0.0, 'altitude_m': 5.0},
                      'speed_mps': 4.0}), 'go_to')
    orbit = _ok(run('orbit', {'center': {'x_m': 0.0, 'y_m': 0.0, 'altitude_m': 5.0},
                              'radius_m': 6.0, 'speed_mps': 4.0, 'turns': 0.5}), 'orbit')
    assert orbit.turns_completed == pytest.approx(0.5, abs=0.1)
    _ok(run('follow_waypoints', {'waypoints': [{'x_m': 0.0, 'y_m': 4.0, 'altitude_m': 5.0},
                                               {'x_m': 4.0, 'y_m': 4.0, 'altitude_m': 5.0}],
                                 'speed_mps': 4.0}), 'follow_waypoints')
    _ok(run('broadcast_status', {'message': 'all good'}), 'broadcast_status')
    _peripherals(vehicle, run)

    stop = _ok(run('emergency_stop', {'reason': 'test'}), 'emergency_stop')
    assert stop.command_latency_s < 1.0
    _ok(run('emergency_stop', {'release': True}), 'emergency_stop release')
    home = _ok(run('return_home', {'speed_mps': 4.0, 'land': True}), 'return_home')
    assert home.distance_to_home_m < 1.5
    events.wait_for(mark, 'disarmed')
    _takeoff(ros, vehicle, 3.0)
    _ok(run('emergency_land', {'reason': 'test'}), 'emergency_land')
    _takeoff(ros, vehicle, 3.0)
    _ok(run('land', {}), 'land')
    assert set(ran) == set(_DRONE_OPERATIONS), set(_DRONE_OPERATIONS) - set(ran)

    # What the vehicle did, by its own account: three flights, each landed and disarmed.
    assert len(events.since(mark, 'took_off')) == 3, events.since(mark, 'took_off')
    assert len(events.since(mark, 'landed')) == 3
    requested = _modes(events, mark, by='request')
    for mode in modes.values():
        assert mode in requested, (mode, requested)
    assert requested[-1] == modes['land'], requested
    # The orbit and the waypoints were flown, by the vehicle's own pose: on the circle (6 m
    # from home) past the start of the half turn, and through both waypoints.
    track = [(p.pose.position.x, p.pose.position.y) for p in vehicle['track']]
    assert any(abs(math.hypot(x, y) - 6.0) < 0.7 and y > 3.0 for x, y in track)
    for x, y in ((0.0, 4.0), (4.0, 4.0)):
        # An inner waypoint is passed within the programs' 1.5 m pass radius.
        assert min(math.hypot(tx - x, ty - y) for tx, ty in track) < 1.6, (x, y)
    # Return home went through the autopilot's own RTL, and it came down at home.
    rtl_landing = events.since(mark, 'landed')[1]
    assert math.hypot(rtl_landing['x'], rtl_landing['y']) < 1.5, rtl_landing


def _peripherals(vehicle, run):
    """Camera, video, payload and radio: through the configured drivers, or UNSUPPORTED."""
    devices = vehicle['devices']
    square = [{'x_m': x, 'y_m': y, 'altitude_m': 5.0}
              for x, y in ((0.0, 0.0), (6.0, 0.0), (6.0, 6.0), (0.0, 6.0))]
    requests = {
        'capture_image': {'count': 2},
        'record_video': {'duration_s': 1.0},
        'pickup': {'payload_id': 'box'},
        'dropoff': {},
        'send_data': {'destination': 'ground_station', 'data': list(b'hello')},
        'scan_area': {'boundary': square, 'altitude_m': 5.0, 'line_spacing_m': 3.0,
                      'speed_mps': 4.0, 'capture_interval_s': 1.0},
    }
    if devices is None:
        vehicle_events = vehicle['events']
        before = vehicle_events.mark()
        for operation in _PERIPHERALS:
            result = run(operation, requests[operation], timeout_s=10.0)
            assert result.error_code == ErrorCode.UNSUPPORTED, (operation, result.error_msg)
            assert not result.retryable
            assert 'MAVROS' in result.error_msg or 'mavros' in result.error_msg, \
                (operation, result.error_msg)
        # Refused at intake: the vehicle was not moved nor asked anything.
        assert not vehicle_events.since(before, 'mode'), vehicle_events.since(before)
        return
    images = _ok(run('capture_image', requests['capture_image']), 'capture_image')
    assert list(images.image_uris) == ['file:///images/1.jpg', 'file:///images/2.jpg']
    video = _ok(run('record_video', requests['record_video']), 'record_video')
    assert video.video_uri.startswith('file:///videos/')
    assert devices.count('record', True) == 1 and devices.count('record', False) == 1
    _ok(run('pickup', requests['pickup']), 'pickup')
    _ok(run('dropoff', requests['dropoff']), 'dropoff')
    assert devices.count('grip', True) == 1 and devices.count('grip', False) == 1
    _ok(run('send_data', requests['send_data']), 'send_data')
    assert devices.sent == [b'hello']
    captured = devices.count('capture')
    scan = _ok(run('scan_area', requests['scan_area']), 'scan_area')
    assert scan.images_captured >= 2
    assert devices.count('capture') - captured == scan.images_captured


# --- the boat (ArduPilot Rover flavour) ----------------------------------------------------

_SURFACE_OPERATIONS = sorted(n for n, s in CATALOG.items() if Platform.SURFACE in s.platforms)


@pytest.fixture(scope='module')
def boat(module_start_sim_mavros, module_start_executor, module_ros):
    robot_id = unique_robot_id('boat_ops')
    namespace = f'/{robot_id}'
    sim = module_start_sim_mavros(namespace, {'flavour': 'ardurover'})
    executor = module_start_executor('surface', robot_id=robot_id,
                                     params_file='ardurover_boat.yaml',
                                     parameters=_LINK_TOLERANT)
    module_ros.wait_for_servers(executor, _SURFACE_OPERATIONS)
    assert module_ros.wait_for_state(robot_id, lambda s: s.link_up, 30.0) is not None, \
        f'{robot_id}: link never up\n{executor.log()}'
    track, pose = _track(module_ros.node, namespace)
    yield {'id': robot_id, 'sim': sim, 'executor': executor, 'track': track,
           'events': SimEvents(module_ros.node, namespace, topic='sim_mavros/events')}
    module_ros.node.destroy_subscription(pose)


def test_every_surface_operation_runs_on_the_ardurover_boat(boat, module_ros):
    ros, robot, events = module_ros, boat['id'], boat['events']
    mark = events.mark()
    ran = {}

    def run(operation, fields, timeout_s=_FLIGHT_TIMEOUT_S):
        ran[operation] = ros.run(robot, operation, fields, timeout_s=timeout_s)
        return ran[operation]

    _ok(run('go_to', {'target': {'x_m': 8.0, 'y_m': 0.0}, 'speed_mps': 3.0}), 'go_to')
    _ok(run('station_keep', {'duration_s': 1.0, 'radius_m': 3.0}), 'station_keep')
    _ok(run('orbit', {'center': {'x_m': 0.0, 'y_m': 0.0}, 'radius_m': 8.0, 'speed_mps': 3.0,
                      'turns': 0.25}), 'orbit')
    _ok(run('follow_waypoints', {'waypoints': [{'x_m': 4.0, 'y_m': 4.0},
                                               {'x_m': 8.0, 'y_m': 4.0}],
                                 'speed_mps': 3.0}), 'follow_waypoints')
    _ok(run('broadcast_status', {'message': 'underway'}), 'broadcast_status')
    _ok(run('emergency_stop', {'reason': 'test'}), 'emergency_stop')
    _ok(run('emergency_stop', {'release': True}), 'emergency_stop release')
    home = _ok(run('return_home', {'speed_mps': 3.0}), 'return_home')
    assert home.distance_to_home_m < 3.0
    # By the boat's own pose: it went out past 8 m east and came back.
    track = [(p.pose.position.x, p.pose.position.y) for p in boat['track']]
    assert max(x for x, _ in track) > 7.0
    assert math.hypot(*track[-1]) < 3.5, track[-1]
    # No camera, gripper, radio or dock configured: refused at intake, with the reason.
    before = events.mark()
    square = [{'x_m': x, 'y_m': y} for x, y in ((0.0, 0.0), (6.0, 0.0), (6.0, 6.0))]
    for operation, fields in (('capture_image', {}), ('record_video', {'duration_s': 1.0}),
                              ('pickup', {'payload_id': 'buoy'}), ('dropoff', {}),
                              ('send_data', {'destination': 'shore'}),
                              ('scan_area', {'boundary': square}),
                              ('dock', {'dock_id': 'berth1'}), ('undock', {})):
        result = run(operation, fields, timeout_s=10.0)
        assert result.error_code == ErrorCode.UNSUPPORTED, (operation, result.error_msg)
        assert 'MAVROS' in result.error_msg, (operation, result.error_msg)
    assert not events.since(before, 'mode'), events.since(before)
    assert set(ran) == set(_SURFACE_OPERATIONS), set(_SURFACE_OPERATIONS) - set(ran)

    # The autopilot's own account: GUIDED to move, HOLD for the stop, RTL home.
    requested = _modes(events, mark, by='request')
    for mode in ('GUIDED', 'HOLD', 'RTL'):
        assert mode in requested, (mode, requested)
