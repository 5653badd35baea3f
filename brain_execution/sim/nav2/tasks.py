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
What Nav2 does with each goal, on a kinematic robot: no ROS here, time is passed in.

A task is one goal's behaviour, stepped by the node: :meth:`Task.step` returns None while it
runs and an :class:`Outcome` once it ends. The behaviours follow Nav2 Jazzy's servers closely
enough for a bridge to meet every outcome it must handle, with the same codes:

* navigate (bt_navigator): plan (ComputePathToPose: 204 GOAL_OUTSIDE_MAP, 208 NO_VALID_PATH
  while planning fails), replan every ``replan_period_s``, drive, and fail with 105
  FAILED_TO_MAKE_PROGRESS when the robot moves less than ``progress_radius_m`` in
  ``progress_timeout_s`` (the progress checker). There are no recovery behaviours: a
  failure ends the goal at once. Arrival is within the xy and yaw goal tolerances.
* follow waypoints (waypoint_follower, stop_on_failure true): one navigation per pose; a
  failed one ends the route with error_code 0 and the waypoint in missed_waypoints.
* dock (docking_server): 901 DOCK_NOT_IN_DB for an unknown id, success at once when already
  docked there, navigation to the staging pose (903 FAILED_TO_STAGE when it fails or takes
  longer than max_staging_time), then the approach (905 FAILED_TO_CONTROL without progress).
* undock: 902 DOCK_NOT_VALID when not docked, back off ``staging_offset_m`` (905
  FAILED_TO_CONTROL after max_undocking_time).

Error messages say what the simulator decided, naming it as sim_nav2 (Jazzy's own servers
leave most error_msg fields empty; later distributions fill them).
"""

import dataclasses
import math
import typing

from brain_execution.core.errors import ExecutionError
from brain_execution.core.state import RobotSnapshot
from brain_execution.sim.vehicle import GroundVehicle, SimMode

__all__ = ['Dock', 'DockTask', 'FollowTask', 'NavigateTask', 'Outcome', 'Task', 'Tuning',
           'UndockTask']

# Nav2 Jazzy result codes (nav2_msgs/action/*.action).
CONTROLLER_UNKNOWN = 100
FAILED_TO_MAKE_PROGRESS = 105
GOAL_OUTSIDE_MAP = 204
NO_VALID_PATH = 208
DOCK_NOT_IN_DB = 901
DOCK_NOT_VALID = 902
FAILED_TO_STAGE = 903
FAILED_TO_CONTROL = 905


@dataclasses.dataclass(frozen=True)
class Tuning:
    """The navigation stack's settings (Nav2's defaults unless noted)."""

    xy_goal_tolerance_m: float = 0.25
    yaw_goal_tolerance_rad: float = 0.25
    progress_radius_m: float = 0.5
    progress_timeout_s: float = 10.0
    replan_period_s: float = 1.0
    staging_offset_m: float = 0.7
    #: xmin, ymin, xmax, ymax of the map, metres.
    map_bounds: typing.Tuple[float, float, float, float] = (-100.0, -100.0, 100.0, 100.0)


@dataclasses.dataclass(frozen=True)
class Dock:
    """A dock of the database: where the robot is when docked, and its heading there."""

    x_m: float
    y_m: float
    yaw_rad: float

    def staging(self, offset_m: float) -> typing.Tuple[float, float, float]:
        """Return the staging pose, offset_m before the dock along its heading."""
        return (self.x_m - offset_m * math.cos(self.yaw_rad),
                self.y_m - offset_m * math.sin(self.yaw_rad), self.yaw_rad)


class Outcome(typing.NamedTuple):
    """How a goal ended: succeeded or aborted, Nav2's code and message, and extras."""

    succeeded: bool
    error_code: int = 0
    error_msg: str = ''
    #: (index, error_code) of each waypoint the follower gave up on.
    missed: typing.Tuple[typing.Tuple[int, int], ...] = ()


def _wrap(angle_rad: float) -> float:
    return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi


class Task:
    """
    One goal's behaviour on the robot.

    :param vehicle: the robot, in the global frame.
    :param tuning: the navigation settings.
    :param planning_fails: returns whether planning is failing now (an injected fault).
    :param speed_mps: returns the speed to drive at now (the speed limit, or the maximum).
    """

    def __init__(self, vehicle: GroundVehicle, tuning: Tuning, *,
                 planning_fails: typing.Callable[[], bool],
                 speed_mps: typing.Callable[[], float]):
        self.vehicle = vehicle
        self.tuning = tuning
        self._planning_fails = planning_fails
        self._speed = speed_mps

    def step(self, now_s: float) -> typing.Optional[Outcome]:
        """Advance to now_s; return the outcome once the goal ended."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Stop the robot: Nav2's controller publishes zero velocity on cancel."""
        self.vehicle.hold()

    @property
    def snapshot(self) -> RobotSnapshot:
        return self.vehicle.snapshot()


class _Progress:
    """Nav2's simple progress checker: some movement within a time allowance."""

    def __init__(self, snapshot: RobotSnapshot, now_s: float, tuning: Tuning):
        self._tuning = tuning
        self._reset(snapshot, now_s)

    def _reset(self, snapshot: RobotSnapshot, now_s: float) -> None:
        self._x, self._y, self._since = snapshot.x_m, snapshot.y_m, now_s

    def stalled(self, snapshot: RobotSnapshot, now_s: float) -> bool:
        if math.hypot(snapshot.x_m - self._x, snapshot.y_m - self._y) >= (
                self._tuning.progress_radius_m):
            self._reset(snapshot, now_s)
        return now_s - self._since > self._tuning.progress_timeout_s


class NavigateTask(Task):
    """NavigateToPose: plan, drive to (x, y), turn to yaw; replan and check progress."""

    def __init__(self, vehicle: GroundVehicle, tuning: Tuning, target: typing.Tuple[
            float, float, float], **kwargs):
        super().__init__(vehicle, tuning, **kwargs)
        self.target = target
        self._planned_s = None
        self._progress = None
        self._sent_speed = None

    def distance_remaining(self) -> float:
        s = self.snapshot
        return math.hypot(self.target[0] - s.x_m, self.target[1] - s.y_m)

    def _plan(self) -> typing.Optional[Outcome]:
        x, y, _ = self.target
        s = self.snapshot
        xmin, ymin, xmax, ymax = self.tuning.map_bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            return Outcome(False, GOAL_OUTSIDE_MAP,
                           f'sim_nav2 planner: goal ({x:.2f}, {y:.2f}) is outside the map '
                           f'[{xmin:g}, {xmax:g}] x [{ymin:g}, {ymax:g}]')
        if self._planning_fails():
            return Outcome(False, NO_VALID_PATH,
                           f'sim_nav2 planner: no valid path from ({s.x_m:.2f}, '
                           f'{s.y_m:.2f}) to ({x:.2f}, {y:.2f}) (injected planning failure)')
        return None

    def step(self, now_s: float) -> typing.Optional[Outcome]:
        if self._planned_s is None or now_s - self._planned_s >= self.tuning.replan_period_s:
            failure = self._plan()
            if failure is not None:
                self.vehicle.hold()
                return failure
            if self._planned_s is None:
                self._progress = _Progress(self.snapshot, now_s, self.tuning)
            self._planned_s = now_s
        s = self.snapshot
        if self._arrived(s):
            self.vehicle.hold()
            return Outcome(True)
        speed = self._speed()
        if speed != self._sent_speed:
            # The controller drives the plan at the speed limit of the moment.
            x, y, yaw = self.target
            try:
                self.vehicle.go_to(x_m=x, y_m=y, z_m=0.0, speed_mps=speed, yaw_rad=yaw)
            except ExecutionError as error:
                return Outcome(False, CONTROLLER_UNKNOWN, f'sim_nav2 controller: {error}')
            self._sent_speed = speed
        if self._progress.stalled(s, now_s):
            self.vehicle.hold()
            return Outcome(False, FAILED_TO_MAKE_PROGRESS,
                           f'sim_nav2 controller: failed to make progress (moved less than '
                           f'{self.tuning.progress_radius_m:g} m in '
                           f'{self.tuning.progress_timeout_s:g} s)')
        return None

    def _arrived(self, s: RobotSnapshot) -> bool:
        return (s.mode == SimMode.HOLD.value
                and self.distance_remaining() <= self.tuning.xy_goal_tolerance_m
                and abs(_wrap(self.target[2] - s.yaw_rad)) <= self.tuning.yaw_goal_tolerance_rad)


class FollowTask(Task):
    """FollowWaypoints with stop_on_failure: one navigation per pose, in order."""

    def __init__(self, vehicle: GroundVehicle, tuning: Tuning,
                 poses: typing.Sequence[typing.Tuple[float, float, float]], **kwargs):
        super().__init__(vehicle, tuning, **kwargs)
        self._kwargs = kwargs
        self.poses = list(poses)
        self.current = 0
        self._leg = None

    def step(self, now_s: float) -> typing.Optional[Outcome]:
        if not self.poses:
            return Outcome(False, 0, 'sim_nav2 waypoint follower: empty list of waypoints')
        if self._leg is None:
            self._leg = NavigateTask(self.vehicle, self.tuning, self.poses[self.current],
                                     **self._kwargs)
        outcome = self._leg.step(now_s)
        if outcome is None:
            return None
        if not outcome.succeeded:
            # Jazzy keeps the navigation's code on the missed waypoint only.
            missed = ((self.current, outcome.error_code),)
            return Outcome(False, 0, outcome.error_msg, missed=missed)
        self._leg = None
        if self.current + 1 == len(self.poses):
            return Outcome(True)
        self.current += 1
        return None


class DockTask(Task):
    """DockRobot by dock id: stage in front of the dock, then drive onto it."""

    def __init__(self, vehicle: GroundVehicle, tuning: Tuning, *, dock_id: str,
                 docks: typing.Mapping[str, Dock], navigate_to_staging_pose: bool,
                 max_staging_time_s: float, now_s: float, **kwargs):
        super().__init__(vehicle, tuning, **kwargs)
        self.dock_id = dock_id
        self._dock = docks.get(dock_id)
        self._known = sorted(docks)
        self._staging = None
        if self._dock is not None and navigate_to_staging_pose:
            self._staging = NavigateTask(vehicle, tuning, self._dock.staging(
                tuning.staging_offset_m), **kwargs)
        self._staging_deadline_s = now_s + max_staging_time_s
        self._approach = None

    @property
    def phase(self) -> str:
        return 'staging' if self._approach is None else 'controlling'

    def step(self, now_s: float) -> typing.Optional[Outcome]:
        if self._dock is None:
            return Outcome(False, DOCK_NOT_IN_DB, f'sim_nav2 docking: dock {self.dock_id!r} '
                                                  f'is not in the database {self._known}')
        if self.vehicle.docked_id == self.dock_id and self._approach is None:
            return Outcome(True)
        if self._approach is None and self._staging is not None:
            outcome = self._staging.step(now_s)
            if outcome is None and now_s > self._staging_deadline_s:
                self.vehicle.hold()
                outcome = Outcome(False, 0, 'staging took longer than max_staging_time')
            if outcome is None:
                return None
            if not outcome.succeeded:
                return Outcome(False, FAILED_TO_STAGE,
                               f'sim_nav2 docking: failed to reach the staging pose of '
                               f'{self.dock_id!r}: {outcome.error_msg}')
        if self._approach is None:
            self.vehicle.dock(dock_id=self.dock_id)
            self._approach = _Progress(self.snapshot, now_s, self.tuning)
        s = self.snapshot
        if self.vehicle.docked_id == self.dock_id and s.speed_mps < 1e-3:
            return Outcome(True)
        if self._approach.stalled(s, now_s):
            self.vehicle.hold()
            return Outcome(False, FAILED_TO_CONTROL,
                           f'sim_nav2 docking: no progress approaching {self.dock_id!r}')
        return None


class UndockTask(Task):
    """UndockRobot: back off the dock to its staging distance."""

    def __init__(self, vehicle: GroundVehicle, tuning: Tuning, *, max_undocking_time_s: float,
                 now_s: float, **kwargs):
        super().__init__(vehicle, tuning, **kwargs)
        self._deadline_s = now_s + max_undocking_time_s
        self._started = False

    def step(self, now_s: float) -> typing.Optional[Outcome]:
        if not self._started:
            if self.vehicle.docked_id is None:
                return Outcome(False, DOCK_NOT_VALID,
                               'sim_nav2 docking: no dock information to undock from (the '
                               'robot is not docked)')
            self.vehicle.undock(distance_m=self.tuning.staging_offset_m)
            self._started = True
        s = self.snapshot
        if self.vehicle.docked_id is None and s.mode == SimMode.HOLD.value:
            return Outcome(True)
        if now_s > self._deadline_s:
            self.vehicle.hold()
            return Outcome(False, FAILED_TO_CONTROL,
                           'sim_nav2 docking: undocking took longer than max_undocking_time')
        return None
