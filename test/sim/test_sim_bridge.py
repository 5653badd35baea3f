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

"""SimBridge behind the PlatformBridge seam: handles, faults, emergency stop and logging."""

from brain_execution.core.bridge import PlatformBridge
from brain_execution.core.errors import (
    CommunicationError, ErrorCode, ExecutionError, PlatformRejectedError, PreemptedError,
    UnsupportedOperationError)
from brain_execution.core.geo import GeoPoint, local_to_geographic
from brain_execution.core.state import LandedState, Platform
from brain_execution.sim.bridge import SimBridge
from brain_execution.sim.faults import SimFaults
import pytest

DT = 0.05
HOME = GeoPoint(latitude_deg=52.0, longitude_deg=4.0)


class Clock:
    """Drives a bridge's update() the way the ROS adapter's timer does."""

    def __init__(self, bridge, start_s=100.0):
        self.bridge = bridge
        self.t = start_s
        bridge.update(start_s)

    def run(self, duration_s, dt=DT):
        end = self.t + duration_s
        while self.t < end - 1e-9:
            self.t = min(end, self.t + dt)
            self.bridge.update(self.t)

    def until(self, predicate, timeout_s, dt=DT):
        start = self.t
        while not predicate(self.bridge.snapshot()):
            assert self.t - start < timeout_s, f'not reached in {timeout_s} s'
            self.t += dt
            self.bridge.update(self.t)
        return self.t - start


def ok(handle):
    assert handle.done(), handle.description
    assert handle.error is None, handle.error
    return handle.value


def failed(handle, error_type, code=None):
    assert handle.done(), handle.description
    assert isinstance(handle.error, error_type), handle.error
    if code is not None:
        assert handle.error.code == code
    return handle.error


def flying_drone(**kwargs):
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1', home=HOME, **kwargs)
    clock = Clock(bridge)
    ok(bridge.arm())
    ok(bridge.takeoff(altitude_m=10.0, climb_speed_mps=2.0))
    clock.until(lambda s: s.landed_state == LandedState.IN_AIR, 20.0)
    return bridge, clock


def test_is_a_platform_bridge_named_sim():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g1')
    assert isinstance(bridge, PlatformBridge)
    assert bridge.name == 'sim'
    assert bridge.platform == Platform.GROUND


def test_snapshot_has_geographic_position_from_home():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g1', home=HOME,
                       position_m=(30.0, -40.0))
    Clock(bridge)
    snapshot = bridge.snapshot()
    expected = local_to_geographic(HOME, 30.0, -40.0)
    assert snapshot.latitude_deg == pytest.approx(expected.latitude_deg)
    assert snapshot.longitude_deg == pytest.approx(expected.longitude_deg)
    assert snapshot.stamp_s == 100.0
    assert snapshot.link_up


def test_takeoff_go_to_and_land_through_handles():
    bridge, clock = flying_drone()
    assert bridge.snapshot().z_m == pytest.approx(10.0, abs=0.01)
    ok(bridge.go_to(x_m=20.0, y_m=-10.0, z_m=12.0, speed_mps=4.0))
    clock.until(lambda s: s.distance_to(20.0, -10.0, 12.0) < 0.1, 20.0)
    ok(bridge.land(descent_speed_mps=1.5))
    clock.until(lambda s: s.landed_state == LandedState.ON_GROUND, 20.0)
    assert not bridge.snapshot().armed
    ok(bridge.disarm())


def test_unsupported_commands_fail_at_once():
    ground = SimBridge(platform=Platform.GROUND, robot_id='g1')
    for handle in (ground.takeoff(altitude_m=5.0, climb_speed_mps=1.0),
                   ground.land(descent_speed_mps=1.0), ground.emergency_land()):
        error = failed(handle, UnsupportedOperationError, ErrorCode.UNSUPPORTED)
        assert not error.retryable
    drone = SimBridge(platform=Platform.DRONE, robot_id='d1')
    failed(drone.dock(dock_id='home'), UnsupportedOperationError)
    failed(drone.undock(distance_m=1.0), UnsupportedOperationError)
    # Unsupported stays unsupported whatever the link does.
    drone.faults.link_down = True
    failed(drone.dock(dock_id='home'), UnsupportedOperationError)


def test_reject_arming_fault():
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1',
                       faults=SimFaults(reject_arming=True))
    Clock(bridge)
    error = failed(bridge.arm(), PlatformRejectedError, 101)
    assert not error.retryable
    assert not bridge.snapshot().armed
    bridge.faults.reject_arming = False
    ok(bridge.arm())
    assert bridge.snapshot().armed


def test_reject_mode_and_reject_commands_faults():
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1')
    Clock(bridge)
    ok(bridge.arm())
    bridge.faults.reject_mode = True
    failed(bridge.takeoff(altitude_m=5.0, climb_speed_mps=1.0), PlatformRejectedError, 102)
    ok(bridge.capture_image(camera_id=''))
    bridge.faults.reject_mode = False
    bridge.faults.reject_commands = {'capture_image'}
    failed(bridge.capture_image(camera_id=''), PlatformRejectedError, ErrorCode.PLATFORM_REJECTED)
    ok(bridge.takeoff(altitude_m=5.0, climb_speed_mps=1.0))
    bridge.faults.reject_commands = True
    failed(bridge.hold(), PlatformRejectedError)
    # Emergency commands are never refused by injected rejections.
    ok(bridge.emergency_stop())


def test_link_down_freezes_state_and_fails_commands():
    bridge, clock = flying_drone()
    ok(bridge.go_to(x_m=100.0, y_m=0.0, z_m=10.0, speed_mps=5.0))
    clock.run(2.0)
    before = bridge.snapshot()
    bridge.faults.link_down = True
    clock.run(2.0)
    frozen = bridge.snapshot()
    assert not frozen.link_up
    assert (frozen.x_m, frozen.stamp_s) == (before.x_m, before.stamp_s)
    error = failed(bridge.hold(), CommunicationError, ErrorCode.COMMUNICATION_FAILURE)
    assert error.retryable
    failed(bridge.emergency_stop(), CommunicationError)
    # The vehicle kept flying its last command; the link coming back shows where it is.
    bridge.faults.link_down = False
    clock.run(DT)
    back = bridge.snapshot()
    assert back.link_up
    assert back.x_m > before.x_m + 9.0


def test_link_loss_fails_pending_acknowledgements():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g1',
                       faults=SimFaults(ack_delay_s=1.0))
    clock = Clock(bridge)
    handle = bridge.go_to(x_m=5.0, y_m=0.0, z_m=0.0, speed_mps=1.0)
    assert not handle.done()
    bridge.faults.link_down = True
    clock.run(DT)
    failed(handle, CommunicationError)
    assert bridge.pending_count == 0


def test_stuck_fault_acknowledges_but_does_not_move():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g1', faults=SimFaults(stuck=True))
    clock = Clock(bridge)
    ok(bridge.go_to(x_m=10.0, y_m=0.0, z_m=0.0, speed_mps=1.0))
    clock.run(10.0)
    snapshot = bridge.snapshot()
    assert (snapshot.x_m, snapshot.y_m, snapshot.speed_mps) == (0.0, 0.0, 0.0)
    assert snapshot.mode == 'GOTO'


def test_ack_delay_completes_after_sim_time_passes():
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1',
                       faults=SimFaults(ack_delay_s=0.5))
    clock = Clock(bridge)
    handle = bridge.arm()
    assert not handle.done()
    assert bridge.pending_count == 1
    clock.run(0.4)
    assert not handle.done()
    assert not bridge.snapshot().armed
    clock.run(0.1)
    ok(handle)
    assert bridge.snapshot().armed
    # A refusal is as slow as an acknowledgement.
    bridge.faults.reject_mode = True
    handle = bridge.takeoff(altitude_m=5.0, climb_speed_mps=1.0)
    assert not handle.done()
    clock.run(0.5)
    failed(handle, PlatformRejectedError, 102)


def test_emergency_stop_overrides_go_to_at_once():
    bridge, clock = flying_drone()
    ok(bridge.go_to(x_m=200.0, y_m=0.0, z_m=10.0, speed_mps=5.0))
    clock.run(5.0)
    assert bridge.snapshot().speed_mps == pytest.approx(5.0)
    bridge.faults.ack_delay_s = 2.0
    stop = bridge.emergency_stop()
    # Never delayed: acknowledged now, and the very next update already brakes.
    ok(stop)
    assert bridge.snapshot().mode == 'EMERGENCY_STOP'
    clock.run(DT)
    assert bridge.snapshot().speed_mps < 5.0
    elapsed = clock.until(lambda s: s.speed_mps < 0.1, 2.0, dt=0.01)
    assert elapsed < 1.0
    clock.run(3.0)
    snapshot = bridge.snapshot()
    assert snapshot.speed_mps == 0.0
    assert snapshot.landed_state == LandedState.IN_AIR
    assert snapshot.armed


def test_emergency_stop_preempts_delayed_commands():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g1',
                       faults=SimFaults(ack_delay_s=1.0))
    clock = Clock(bridge)
    go = bridge.go_to(x_m=10.0, y_m=0.0, z_m=0.0, speed_mps=1.0)
    ok(bridge.emergency_stop())
    failed(go, PreemptedError, ErrorCode.PREEMPTED)
    clock.run(5.0)
    assert bridge.snapshot().x_m == 0.0


def test_ground_emergency_stop_brakes_a_moving_robot():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g1')
    clock = Clock(bridge)
    ok(bridge.go_to(x_m=100.0, y_m=0.0, z_m=0.0, speed_mps=2.0))
    clock.run(5.0)
    ok(bridge.emergency_stop())
    assert clock.until(lambda s: s.speed_mps < 0.1, 2.0, dt=0.01) < 1.0


def test_command_log_records_when_the_platform_was_commanded():
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1', command_log_size=3)
    assert bridge.last_command_time_s is None
    clock = Clock(bridge, start_s=7.0)
    bridge.arm()
    clock.run(0.5)
    bridge.takeoff(altitude_m=5.0, climb_speed_mps=1.0)
    bridge.hold()
    clock.run(0.25)
    bridge.emergency_stop()
    assert [name for _, name in bridge.command_log] == ['takeoff', 'hold', 'emergency_stop']
    assert [t for t, _ in bridge.command_log] == pytest.approx([7.5, 7.5, 7.75])
    assert bridge.last_command_time_s == pytest.approx(7.75)


def test_dock_undock_through_bridge():
    bridge = SimBridge(platform=Platform.SURFACE, robot_id='s1',
                       docks={'home': (0.0, 0.0), 'pier': (15.0, 0.0)}, start_docked=True,
                       battery_percent=50.0)
    clock = Clock(bridge)
    assert bridge.snapshot().docked
    failed(bridge.dock(dock_id='atlantis'), ExecutionError, 1501)
    ok(bridge.undock(distance_m=2.0))
    clock.until(lambda s: not s.docked, 10.0)
    failed(bridge.undock(distance_m=2.0), ExecutionError, 1601)
    ok(bridge.dock(dock_id='pier'))
    clock.until(lambda s: s.docked, 60.0)
    snapshot = bridge.snapshot()
    assert (snapshot.x_m, snapshot.y_m) == (15.0, 0.0)
    charged = snapshot.battery_percent
    clock.run(10.0)
    assert bridge.snapshot().battery_percent > charged


def test_payload_cameras_and_data_through_bridge():
    bridge = SimBridge(platform=Platform.GROUND, robot_id='g7', cameras=('nav',),
                       faults=SimFaults(payload_mass_kg=3.5))
    clock = Clock(bridge)
    assert ok(bridge.attach_payload(payload_id='crate', expected_mass_kg=3.0)) == 3.5
    assert bridge.snapshot().payload_id == 'crate'
    assert ok(bridge.release_payload()) == 'crate'
    failed(bridge.release_payload(), ExecutionError, 1301)
    assert ok(bridge.capture_image(camera_id='nav')) == 'sim://g7/nav/1.jpg'
    ok(bridge.start_recording(camera_id='nav'))
    clock.run(1.0)
    assert ok(bridge.stop_recording(camera_id='nav')) == 'sim://g7/nav/video_1.mp4'
    bridge.faults.camera_unavailable = True
    failed(bridge.capture_image(camera_id='nav'), ExecutionError, 1001)
    assert ok(bridge.send_data(destination='gcs', content_type='text/plain',
                               data=b'hello')) == 5
    ((stamp_s, *sent),) = bridge.sent_data
    assert stamp_s == pytest.approx(101.0)
    assert sent == ['gcs', 'text/plain', b'hello']


def test_invalid_values_fail_the_handle():
    bridge, _ = flying_drone()
    failed(bridge.go_to(x_m=float('nan'), y_m=0.0, z_m=5.0, speed_mps=1.0), ExecutionError,
           ErrorCode.INVALID_PARAMETERS)
    failed(bridge.go_to(x_m=1.0, y_m=0.0, z_m=5.0, speed_mps=-1.0), ExecutionError,
           ErrorCode.INVALID_PARAMETERS)


def test_close_fails_pending_commands():
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1',
                       faults=SimFaults(ack_delay_s=5.0))
    handle = bridge.arm()
    bridge.close()
    failed(handle, CommunicationError)


def test_speed_limit_override_lowers_cruise_speed():
    bridge = SimBridge(platform=Platform.DRONE, robot_id='d1', max_speed_mps=2.0,
                       max_accel_mps2=4.0)
    assert bridge.vehicle.limits.max_speed_mps == 2.0
    assert bridge.vehicle.limits.cruise_speed_mps == 2.0
    assert bridge.vehicle.limits.max_accel_mps2 == 4.0
