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

"""Kinematics, battery, payload and cameras of the simulated vehicles, driven by hand."""

import math

from brain_execution.core.errors import (
    ExecutionError, InvalidParametersError, PlatformRejectedError, UnsupportedOperationError)
from brain_execution.core.state import LandedState, Platform
from brain_execution.sim.faults import SimFaults
from brain_execution.sim.vehicle import (
    BatteryModel, DroneVehicle, GroundVehicle, make_vehicle, MotionLimits, SimMode,
    SurfaceVehicle)
import pytest

DT = 0.05


class Runner:
    """Steps a vehicle's time forward the way a ROS timer would."""

    def __init__(self, vehicle, start_s=0.0):
        self.vehicle = vehicle
        self.t = start_s
        vehicle.update(start_s)

    def run(self, duration_s, dt=DT):
        end = self.t + duration_s
        while self.t < end - 1e-9:
            self.t = min(end, self.t + dt)
            self.vehicle.update(self.t)

    def until(self, predicate, timeout_s, dt=DT):
        """Return the seconds it took for predicate(snapshot) to hold, or fail."""
        start = self.t
        while not predicate(self.vehicle.snapshot()):
            assert self.t - start < timeout_s, f'not reached in {timeout_s} s'
            self.t += dt
            self.vehicle.update(self.t)
        return self.t - start


def airborne_drone(altitude_m=10.0, **kwargs):
    drone = DroneVehicle(robot_id='d1', **kwargs)
    runner = Runner(drone)
    drone.arm()
    drone.takeoff(altitude_m=altitude_m, climb_speed_mps=3.0)
    runner.until(lambda s: s.landed_state == LandedState.IN_AIR, 30.0)
    return drone, runner


def test_make_vehicle_picks_the_platform_model():
    assert isinstance(make_vehicle(Platform.DRONE, robot_id='a'), DroneVehicle)
    assert isinstance(make_vehicle('ground', robot_id='a'), GroundVehicle)
    assert isinstance(make_vehicle(Platform.SURFACE, robot_id='a'), SurfaceVehicle)


def test_limits_are_validated():
    with pytest.raises(ValueError):
        MotionLimits(max_speed_mps=1.0, cruise_speed_mps=2.0, max_accel_mps2=1.0)
    with pytest.raises(ValueError):
        BatteryModel(idle_percent_per_s=-1.0)


def test_drone_takeoff_takes_about_altitude_over_climb_speed():
    drone = DroneVehicle(robot_id='d1')
    runner = Runner(drone)
    drone.arm()
    drone.takeoff(altitude_m=10.0, climb_speed_mps=2.0)
    assert drone.snapshot().landed_state == LandedState.TAKING_OFF
    elapsed = runner.until(lambda s: s.landed_state == LandedState.IN_AIR, 20.0)
    assert 5.0 <= elapsed <= 5.6
    snapshot = drone.snapshot()
    assert snapshot.z_m == pytest.approx(10.0, abs=0.01)
    assert snapshot.speed_mps == 0.0
    assert snapshot.mode == SimMode.HOLD.value


def test_drone_takeoff_needs_arming_and_valid_values():
    drone = DroneVehicle(robot_id='d1')
    with pytest.raises(PlatformRejectedError):
        drone.takeoff(altitude_m=10.0, climb_speed_mps=2.0)
    drone.arm()
    with pytest.raises(InvalidParametersError):
        drone.takeoff(altitude_m=math.nan, climb_speed_mps=2.0)
    with pytest.raises(InvalidParametersError):
        drone.takeoff(altitude_m=10.0, climb_speed_mps=0.0)


def test_drone_go_to_arrives_within_tolerance_in_expected_time():
    drone, runner = airborne_drone()
    drone.go_to(x_m=40.0, y_m=30.0, z_m=15.0, speed_mps=5.0, yaw_rad=1.0)
    distance = math.sqrt(40.0 ** 2 + 30.0 ** 2 + 5.0 ** 2)
    elapsed = runner.until(lambda s: s.distance_to(40.0, 30.0, 15.0) < 0.05, 60.0)
    # Cruise time plus about v/a for accelerating and braking.
    assert distance / 5.0 <= elapsed <= distance / 5.0 + 1.5
    runner.run(2.0)
    snapshot = drone.snapshot()
    assert snapshot.distance_to(40.0, 30.0, 15.0) < 0.01
    assert snapshot.speed_mps == 0.0
    assert snapshot.yaw_rad == pytest.approx(1.0)


def test_drone_speed_is_clamped_to_the_limit():
    drone, runner = airborne_drone(limits=MotionLimits(
        max_speed_mps=4.0, cruise_speed_mps=3.0, max_accel_mps2=8.0, max_climb_mps=3.0,
        max_descent_mps=2.0))
    drone.go_to(x_m=100.0, y_m=0.0, z_m=10.0, speed_mps=30.0)
    runner.run(5.0)
    assert drone.snapshot().speed_mps == pytest.approx(4.0)
    drone.go_to(x_m=0.0, y_m=0.0, z_m=10.0, speed_mps=0.0)
    runner.run(4.0)
    assert drone.snapshot().speed_mps == pytest.approx(3.0)


def test_drone_go_to_on_the_ground_is_refused():
    drone = DroneVehicle(robot_id='d1')
    drone.arm()
    with pytest.raises(PlatformRejectedError):
        drone.go_to(x_m=1.0, y_m=0.0, z_m=5.0, speed_mps=1.0)


@pytest.mark.parametrize('stop', ['hold', 'emergency_stop'])
def test_drone_brakes_from_cruise_in_under_a_second(stop):
    drone, runner = airborne_drone()
    drone.go_to(x_m=200.0, y_m=0.0, z_m=10.0, speed_mps=5.0)
    runner.run(5.0)
    assert drone.snapshot().speed_mps == pytest.approx(5.0)
    getattr(drone, stop)()
    elapsed = runner.until(lambda s: s.speed_mps < 0.1, 2.0, dt=0.01)
    assert elapsed < 1.0
    runner.run(1.0)
    snapshot = drone.snapshot()
    assert snapshot.speed_mps == 0.0
    assert snapshot.landed_state == LandedState.IN_AIR
    assert snapshot.z_m == pytest.approx(10.0)


def test_drone_land_touches_down_and_disarms():
    drone, runner = airborne_drone(altitude_m=5.0)
    drone.land(descent_speed_mps=1.0)
    assert drone.snapshot().landed_state == LandedState.LANDING
    with pytest.raises(PlatformRejectedError):
        drone.disarm()
    elapsed = runner.until(lambda s: s.landed_state == LandedState.ON_GROUND, 20.0)
    assert 5.0 <= elapsed <= 5.5
    snapshot = drone.snapshot()
    assert snapshot.z_m == 0.0
    assert not snapshot.armed
    # Landing again on the ground is a no-op, not an error.
    drone.land(descent_speed_mps=1.0)


def test_drone_emergency_land_descends_where_it_is():
    drone, runner = airborne_drone(altitude_m=6.0)
    drone.go_to(x_m=50.0, y_m=0.0, z_m=6.0, speed_mps=5.0)
    runner.run(3.0)
    drone.emergency_land()
    assert drone.snapshot().mode == SimMode.EMERGENCY_LAND.value
    runner.until(lambda s: s.landed_state == LandedState.ON_GROUND, 10.0)
    snapshot = drone.snapshot()
    assert snapshot.x_m < 16.0
    assert not snapshot.armed


def test_emergency_stop_during_takeoff_hovers():
    drone = DroneVehicle(robot_id='d1')
    runner = Runner(drone)
    drone.arm()
    drone.takeoff(altitude_m=20.0, climb_speed_mps=3.0)
    runner.run(2.0)
    drone.emergency_stop()
    runner.run(1.0)
    snapshot = drone.snapshot()
    assert snapshot.landed_state == LandedState.IN_AIR
    assert snapshot.speed_mps == 0.0
    assert 3.0 < snapshot.z_m < 8.0


def test_ground_robot_turns_at_its_yaw_rate_then_drives():
    robot = GroundVehicle(robot_id='g1', yaw_rad=0.0)
    runner = Runner(robot)
    robot.go_to(x_m=-5.0, y_m=0.0, z_m=3.0, speed_mps=1.0)
    runner.run(1.0)
    snapshot = robot.snapshot()
    # Target behind: it turns on the spot first, at no more than the yaw-rate limit.
    assert snapshot.speed_mps == 0.0
    assert abs(snapshot.yaw_rad) == pytest.approx(robot.limits.max_yaw_rate_radps * 1.0)
    elapsed = runner.until(lambda s: s.distance_to(-5.0, 0.0) < 0.05, 20.0)
    assert elapsed < 5.0 / 1.0 + math.pi / robot.limits.max_yaw_rate_radps + 1.0
    runner.run(1.0)
    snapshot = robot.snapshot()
    assert snapshot.z_m == 0.0
    assert snapshot.speed_mps == 0.0
    assert snapshot.landed_state == LandedState.ON_GROUND


@pytest.mark.parametrize('platform,cruise_mps', [
    (Platform.GROUND, 2.0), (Platform.SURFACE, 2.0)])
def test_planar_robots_brake_in_about_a_second(platform, cruise_mps):
    robot = make_vehicle(platform, robot_id='r1')
    runner = Runner(robot)
    robot.go_to(x_m=200.0, y_m=0.0, z_m=0.0, speed_mps=cruise_mps)
    runner.run(10.0)
    assert robot.snapshot().speed_mps == pytest.approx(cruise_mps)
    robot.emergency_stop()
    elapsed = runner.until(lambda s: s.speed_mps < 0.1, 2.0, dt=0.01)
    assert elapsed < 1.0


def test_surface_station_keeping_drift_is_small_and_bounded():
    boat = SurfaceVehicle(robot_id='s1', station_drift_m=0.4, drift_period_s=30.0)
    runner = Runner(boat)
    boat.go_to(x_m=20.0, y_m=0.0, z_m=0.0, speed_mps=2.0)
    runner.until(lambda s: s.distance_to(20.0, 0.0) < 0.05 and s.mode == 'HOLD', 30.0)
    largest, moved = 0.0, False
    for _ in range(1200):
        runner.run(DT)
        snapshot = boat.snapshot()
        largest = max(largest, snapshot.distance_to(20.0, 0.0))
        moved = moved or snapshot.speed_mps > 0.0
        assert snapshot.z_m == 0.0
    assert moved
    assert 0.3 < largest <= 0.4 + 1e-6


def test_identical_inputs_give_identical_trajectories():
    def fly():
        drone, runner = airborne_drone()
        drone.go_to(x_m=12.3, y_m=-4.5, z_m=7.0, speed_mps=4.0)
        runner.run(1.7, dt=0.033)
        return drone.snapshot()
    assert fly() == fly()


def test_time_going_backwards_rebases_without_motion():
    drone, runner = airborne_drone()
    drone.go_to(x_m=100.0, y_m=0.0, z_m=10.0, speed_mps=5.0)
    runner.run(1.0)
    before = drone.snapshot()
    drone.update(0.0)
    after = drone.snapshot()
    assert (after.x_m, after.stamp_s) == (before.x_m, 0.0)


def test_battery_drains_with_motion_and_hover():
    ground = GroundVehicle(robot_id='g1', battery_percent=50.0)
    runner = Runner(ground)
    runner.run(100.0)
    idle_drain = 50.0 - ground.snapshot().battery_percent
    assert idle_drain == pytest.approx(ground.battery_model.idle_percent_per_s * 100.0)

    drone, runner = airborne_drone()
    start = drone.snapshot().battery_percent
    runner.run(100.0)
    hover_drain = start - drone.snapshot().battery_percent
    model = drone.battery_model
    assert hover_drain == pytest.approx(
        (model.idle_percent_per_s + model.hover_percent_per_s) * 100.0)


def test_low_battery_stays_low_and_drain_multiplier_applies():
    faults = SimFaults(drain_multiplier=10.0)
    robot = GroundVehicle(robot_id='g1', battery_percent=5.0, faults=faults)
    runner = Runner(robot)
    robot.go_to(x_m=50.0, y_m=0.0, z_m=0.0, speed_mps=1.0)
    previous = robot.snapshot().battery_percent
    for _ in range(20):
        runner.run(1.0)
        now = robot.snapshot().battery_percent
        assert now <= previous
        previous = now
    assert previous < 5.0


def test_battery_override_holds_and_empty_battery_stops_motion():
    faults = SimFaults()
    drone, runner = airborne_drone(faults=faults)
    faults.battery_percent = 12.0
    runner.run(10.0)
    assert drone.snapshot().battery_percent == 12.0
    faults.battery_percent = 0.0
    runner.run(DT)
    # PX4-like failsafe: an empty battery lands the drone, and motion is refused.
    assert drone.snapshot().landed_state == LandedState.LANDING
    with pytest.raises(PlatformRejectedError):
        drone.go_to(x_m=1.0, y_m=0.0, z_m=10.0, speed_mps=1.0)
    runner.until(lambda s: s.landed_state == LandedState.ON_GROUND, 30.0)
    with pytest.raises(PlatformRejectedError) as info:
        drone.arm()
    assert info.value.code == 101


def test_docked_robot_charges():
    robot = GroundVehicle(robot_id='g1', battery_percent=40.0, docks={'home': (0.0, 0.0)},
                          start_docked=True)
    runner = Runner(robot)
    runner.run(10.0)
    assert robot.snapshot().docked
    assert robot.snapshot().battery_percent == pytest.approx(
        40.0 + 10.0 * robot.battery_model.charge_percent_per_s)
    runner.run(1000.0, dt=1.0)
    assert robot.snapshot().battery_percent == 100.0


def test_dock_and_undock_ground_robot():
    robot = GroundVehicle(robot_id='g1', docks={'home': (0.0, 0.0), 'bay': (6.0, 8.0)},
                          start_docked=True)
    runner = Runner(robot)
    assert robot.docked_id == 'home'
    with pytest.raises(ExecutionError) as info:
        robot.dock(dock_id='nowhere')
    assert info.value.code == 1501
    robot.undock(distance_m=1.0)
    runner.until(lambda s: not s.docked, 5.0)
    runner.run(3.0)
    assert robot.snapshot().x_m == pytest.approx(-1.0, abs=0.03)
    with pytest.raises(ExecutionError) as info:
        robot.undock(distance_m=1.0)
    assert info.value.code == 1601
    robot.dock(dock_id='bay')
    assert robot.snapshot().mode == SimMode.DOCK.value
    runner.until(lambda s: s.docked, 30.0)
    snapshot = robot.snapshot()
    assert (snapshot.x_m, snapshot.y_m, snapshot.mode) == (6.0, 8.0, 'DOCKED')
    assert robot.docked_id == 'bay'


def test_start_docked_needs_a_dock_nearby():
    with pytest.raises(ValueError):
        GroundVehicle(robot_id='g1', docks={'home': (5.0, 0.0)}, start_docked=True)
    with pytest.raises(ValueError):
        DroneVehicle(robot_id='d1', start_docked=True)


def test_drone_cannot_dock_and_ground_robot_cannot_fly():
    with pytest.raises(UnsupportedOperationError):
        DroneVehicle(robot_id='d1').dock(dock_id='home')
    ground = GroundVehicle(robot_id='g1')
    with pytest.raises(UnsupportedOperationError):
        ground.takeoff(altitude_m=5.0, climb_speed_mps=1.0)
    with pytest.raises(UnsupportedOperationError):
        ground.emergency_land()


def test_payload_attach_and_release():
    faults = SimFaults()
    drone = DroneVehicle(robot_id='d1', faults=faults)
    assert drone.attach_payload(payload_id='box', expected_mass_kg=1.2) == 1.2
    assert (drone.snapshot().payload_id, drone.snapshot().payload_mass_kg) == ('box', 1.2)
    with pytest.raises(PlatformRejectedError):
        drone.attach_payload(payload_id='other', expected_mass_kg=0.1)
    assert drone.release_payload() == 'box'
    assert drone.snapshot().payload_id == ''
    with pytest.raises(ExecutionError) as info:
        drone.release_payload()
    assert info.value.code == 1301
    faults.payload_mass_kg = 0.4
    assert drone.attach_payload(payload_id='light', expected_mass_kg=1.0) == 0.4
    drone.release_payload()
    with pytest.raises(ExecutionError) as info:
        drone.attach_payload(payload_id='anvil', expected_mass_kg=50.0)
    assert info.value.code == 1202


def test_camera_uris_and_unavailable_camera():
    faults = SimFaults()
    robot = GroundVehicle(robot_id='g1', cameras=('front', 'rear'), faults=faults)
    assert robot.capture_image(camera_id='') == 'sim://g1/front/1.jpg'
    assert robot.capture_image(camera_id='front') == 'sim://g1/front/2.jpg'
    assert robot.capture_image(camera_id='rear') == 'sim://g1/rear/1.jpg'
    assert robot.start_recording(camera_id='rear') == 'sim://g1/rear/video_1.mp4'
    with pytest.raises(PlatformRejectedError):
        robot.start_recording(camera_id='rear')
    assert robot.recording == {'rear'}
    assert robot.stop_recording(camera_id='rear') == 'sim://g1/rear/video_1.mp4'
    with pytest.raises(ExecutionError) as info:
        robot.capture_image(camera_id='thermal')
    assert info.value.code == 1001
    faults.camera_unavailable = True
    with pytest.raises(ExecutionError) as info:
        robot.capture_image(camera_id='front')
    assert info.value.code == 1001
    with pytest.raises(ExecutionError) as info:
        robot.start_recording(camera_id='front')
    assert info.value.code == 1101


def test_stuck_vehicle_keeps_its_target_but_does_not_move():
    faults = SimFaults(stuck=True)
    robot = GroundVehicle(robot_id='g1', faults=faults)
    runner = Runner(robot)
    robot.go_to(x_m=5.0, y_m=0.0, z_m=0.0, speed_mps=1.0)
    runner.run(10.0)
    assert (robot.snapshot().x_m, robot.snapshot().speed_mps) == (0.0, 0.0)
    faults.stuck = False
    runner.until(lambda s: s.distance_to(5.0, 0.0) < 0.05, 10.0)


def test_faults_are_validated_on_assignment():
    faults = SimFaults()
    with pytest.raises(ValueError):
        faults.ack_delay_s = -1.0
    with pytest.raises(ValueError):
        faults.battery_percent = 120.0
    with pytest.raises(ValueError):
        SimFaults(drain_multiplier=math.inf)
    faults.reject_commands = ['go_to']
    assert faults.rejects_command('go_to') and not faults.rejects_command('arm')
    faults.reject_mode = True
    assert faults.rejects_mode('takeoff') and not faults.rejects_mode('capture_image')
    faults.clear()
    assert faults == SimFaults()
