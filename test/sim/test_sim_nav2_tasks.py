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
What sim_nav2 does with each Nav2 goal, stepped by hand on a fake clock (no ROS).

The codes are Nav2 Jazzy's: these are the outcomes the Nav2 bridge is tested against end to
end, so each must come out as the real servers would give it.
"""

from brain_execution.sim.faults import SimFaults
from brain_execution.sim.nav2.tasks import (
    Dock, DockTask, FollowTask, NavigateTask, Tuning, UndockTask)
from brain_execution.sim.vehicle import GroundVehicle, MotionLimits
import pytest

_DOCKS = {'charger': Dock(0.0, 0.0, 0.0)}
_TUNING = Tuning(progress_timeout_s=2.0, replan_period_s=0.5)


class _World:

    def __init__(self, *, docked=False):
        self.faults = SimFaults()
        self.planning_fails = False
        self.vehicle = GroundVehicle(
            robot_id='r', limits=MotionLimits(max_speed_mps=2.0, cruise_speed_mps=2.0,
                                              max_accel_mps2=4.0, max_yaw_rate_radps=3.0),
            docks={k: (d.x_m, d.y_m) for k, d in _DOCKS.items()}, start_docked=docked,
            faults=self.faults)
        self.now = 0.0
        self.vehicle.update(self.now)

    def common(self):
        return {'planning_fails': lambda: self.planning_fails, 'speed_mps': lambda: 2.0}

    def run(self, task, limit_s=60.0):
        while self.now < limit_s:
            outcome = task.step(self.now)
            if outcome is not None:
                return outcome
            self.now += 0.05
            self.vehicle.update(self.now)
        pytest.fail(f'task still running after {limit_s} s')


def test_navigate_arrives_within_the_goal_tolerances():
    world = _World()
    outcome = world.run(NavigateTask(world.vehicle, _TUNING, (3.0, 4.0, 1.0), **world.common()))
    assert outcome.succeeded and outcome.error_code == 0
    s = world.vehicle.snapshot()
    assert (s.x_m, s.y_m) == pytest.approx((3.0, 4.0), abs=_TUNING.xy_goal_tolerance_m)
    assert s.yaw_rad == pytest.approx(1.0, abs=_TUNING.yaw_goal_tolerance_rad)


def test_planning_failure_and_goals_off_the_map_fail_planning():
    world = _World()
    world.planning_fails = True
    failed = world.run(NavigateTask(world.vehicle, _TUNING, (3.0, 0.0, 0.0), **world.common()))
    assert (failed.succeeded, failed.error_code) == (False, 208)
    world.planning_fails = False
    outside = world.run(NavigateTask(world.vehicle, _TUNING, (500.0, 0.0, 0.0),
                                     **world.common()))
    assert outside.error_code == 204 and 'outside the map' in outside.error_msg


def test_planning_failing_while_driving_ends_the_goal_at_the_next_replan():
    world = _World()
    task = NavigateTask(world.vehicle, _TUNING, (20.0, 0.0, 0.0), **world.common())
    for _ in range(10):
        assert task.step(world.now) is None
        world.now += 0.05
        world.vehicle.update(world.now)
    assert world.vehicle.snapshot().speed_mps > 0.5
    world.planning_fails = True
    started = world.now
    assert world.run(task).error_code == 208
    assert world.now - started <= _TUNING.replan_period_s + 0.1


def test_a_stuck_robot_fails_the_progress_check():
    world = _World()
    world.faults.stuck = True
    outcome = world.run(NavigateTask(world.vehicle, _TUNING, (5.0, 0.0, 0.0), **world.common()))
    assert outcome.error_code == 105
    assert world.now == pytest.approx(_TUNING.progress_timeout_s, abs=0.1)


def test_a_failed_waypoint_ends_the_route_with_the_code_on_the_missed_waypoint():
    world = _World()
    task = FollowTask(world.vehicle, _TUNING, [(1.0, 0.0, 0.0), (200.0, 0.0, 0.0)],
                      **world.common())
    outcome = world.run(task)
    assert (outcome.succeeded, outcome.error_code, outcome.missed) == (False, 0, ((1, 204),))
    assert task.current == 1


def test_docking_and_undocking():
    world = _World()
    common = dict(world.common(), docks=_DOCKS, navigate_to_staging_pose=True,
                  max_staging_time_s=60.0)
    unknown = world.run(DockTask(world.vehicle, _TUNING, dock_id='pier', now_s=world.now,
                                 **common))
    assert unknown.error_code == 901 and "'pier'" in unknown.error_msg
    not_docked = world.run(UndockTask(world.vehicle, _TUNING, max_undocking_time_s=30.0,
                                      now_s=world.now, **world.common()))
    assert not_docked.error_code == 902
    world.vehicle.go_to(x_m=3.0, y_m=2.0, z_m=0.0, speed_mps=2.0)
    world.run(NavigateTask(world.vehicle, _TUNING, (3.0, 2.0, 0.0), **world.common()))
    assert world.run(DockTask(world.vehicle, _TUNING, dock_id='charger', now_s=world.now,
                              **common)).succeeded
    assert world.vehicle.docked_id == 'charger'
    # Docking again where it is docked succeeds at once.
    before = world.now
    assert world.run(DockTask(world.vehicle, _TUNING, dock_id='charger', now_s=world.now,
                              **common)).succeeded
    assert world.now == before
    assert world.run(UndockTask(world.vehicle, _TUNING, max_undocking_time_s=30.0,
                                now_s=world.now, **world.common())).succeeded
    assert world.vehicle.docked_id is None
    assert world.vehicle.snapshot().x_m == pytest.approx(-_TUNING.staging_offset_m, abs=0.05)


def test_docking_fails_to_stage_when_planning_fails_and_to_control_when_stuck():
    world = _World()
    world.vehicle.go_to(x_m=3.0, y_m=0.0, z_m=0.0, speed_mps=2.0)
    world.run(NavigateTask(world.vehicle, _TUNING, (3.0, 0.0, 0.0), **world.common()))
    common = dict(world.common(), docks=_DOCKS, max_staging_time_s=60.0)
    world.planning_fails = True
    staging = world.run(DockTask(world.vehicle, _TUNING, dock_id='charger', now_s=world.now,
                                 navigate_to_staging_pose=True, **common))
    assert staging.error_code == 903 and 'no valid path' in staging.error_msg
    world.planning_fails = False
    world.faults.stuck = True
    control = world.run(DockTask(world.vehicle, _TUNING, dock_id='charger', now_s=world.now,
                                 navigate_to_staging_pose=False, **common))
    assert control.error_code == 905
