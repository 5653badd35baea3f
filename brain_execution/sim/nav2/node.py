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
The ``sim_nav2`` node: one simulated robot behind Nav2's interface, under its namespace.

Run it as ``ros2 run brain_execution sim_nav2 --ros-args -r __ns:=/rover1``. Everything is
named as on a Nav2 robot (relative names):

* actions ``navigate_to_pose``, ``follow_waypoints``, ``dock_robot``, ``undock_robot``
  (nav2_msgs, Jazzy): one goal drives the robot at a time, and a new goal aborts the running
  one with an empty result, as Nav2's servers preempt; cancel is accepted and stops the
  robot. Goals are rejected while the stack is inactive.
* services ``bt_navigator/get_state`` (lifecycle_msgs/GetState) and
  ``lifecycle_manager_navigation/is_active`` (std_srvs/Trigger).
* topics out: ``odom`` (nav_msgs/Odometry, ``odom`` -> ``base_link``; the odom frame is
  where the robot started), ``amcl_pose`` (PoseWithCovarianceStamped in ``map``, reliable and
  transient local, published like AMCL after 0.25 m or 0.2 rad of motion),
  ``battery_state`` (sensor_msgs/BatteryState, 1 Hz, charging while docked); in:
  ``speed_limit`` (nav2_msgs/SpeedLimit), as the controller server takes it.
* ``sim_nav2/events`` (std_msgs/String, one JSON object per line, reliable and transient
  local, last 1000 kept): what the robot physically did and what the servers answered, so a
  test counts the robot's actions from the robot's side. Each has ``t`` (node clock, s) and
  ``event``: ``goal_accepted``, ``goal_rejected``, ``goal_ended`` (with ``status``
  succeeded / aborted / canceled, ``error_code``, ``error_msg``), ``stopped`` (the robot
  came to a standstill), ``docked``, ``undocked``, ``fault``, ``lifecycle``, and
  ``wrong_frame`` for a goal pose not in the global frame (planned as if it were: no tf).

Faults, switched at run time (``ros2 param set /rover1/sim_nav2 fault.stuck true``):

* ``fault.planning_failure`` (bool): every plan fails: 208 NO_VALID_PATH (903
  FAILED_TO_STAGE when docking), also for a goal already driving, at its next replan.
* ``fault.stuck`` (bool): the wheels turn but the robot does not move: the progress checker
  aborts with 105 FAILED_TO_MAKE_PROGRESS (905 FAILED_TO_CONTROL when docking).
* ``fault.inactive`` (bool): bt_navigator is deactivated: get_state reports ``inactive``,
  is_active false, the running goal is aborted with an empty result and new goals rejected.
* A lost link: freeze the process (SIGSTOP). The base then stops on its command timeout
  (``cmd_vel_timeout_s``) instead of coasting, and requests queued meanwhile are served
  once it resumes (SIGCONT).

ROS Parameters (read-only but the faults):

* global_frame, odom_frame, robot_base_frame (str): ``map``, ``odom``, ``base_link``.
* start_pose (float[]): x_m, y_m, yaw_rad in the global frame; unset = origin.
* docks (str[]): the dock database, ``"id:x_m:y_m:yaw_rad"``; unset = ``charger`` at the origin.
* start_docked (bool): start on the dock at start_pose.
* max_speed_mps, max_accel_mps2, max_yaw_rate_radps (float): the robot's limits.
* xy_goal_tolerance_m, yaw_goal_tolerance_rad, progress_radius_m, progress_timeout_s,
  replan_period_s, staging_offset_m (float), map_bounds (float[4]): see :class:`.tasks.Tuning`.
* battery_percent (float): initial charge, %.
* rate_hz (float): simulation and odometry rate.
* cmd_vel_timeout_s (float): a pause in the simulation longer than this stops the base.
* clock_rate (float, 0.1..20, default 1.0): sim seconds per wall second. Any value but 1.0
  makes this simulator own the clock: it publishes ``/clock`` at that rate and follows it,
  so the robot drives (and its battery drains) that much faster in wall time, while every
  duration stays in sim time (see :mod:`brain_execution.sim.clock`).
"""

import json
import math
import sys
import typing

from action_msgs.msg import GoalStatus
from brain_execution.core.errors import ExecutionError
from brain_execution.sim.clock import declare_clock_rate
from brain_execution.sim.vehicle import GroundVehicle, MotionLimits
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from lifecycle_msgs.msg import State
from lifecycle_msgs.srv import GetState
from nav2_msgs.action import DockRobot, FollowWaypoints, NavigateToPose, UndockRobot
from nav2_msgs.msg import MissedWaypoint, SpeedLimit
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy)
from rclpy.task import Future
from sensor_msgs.msg import BatteryState
from std_msgs.msg import String
from std_srvs.srv import Trigger
import transforms3d

from .tasks import Dock, DockTask, FollowTask, NavigateTask, Outcome, Task, Tuning, UndockTask

__all__ = ['SimNav2Node', 'main']

_LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)
_EVENTS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
_FAULTS = ('fault.planning_failure', 'fault.stuck', 'fault.inactive')
# AMCL's update_min_d and update_min_a: it publishes a fix after this much motion.
_FIX_DISTANCE_M = 0.25
_FIX_ANGLE_RAD = 0.2
_FEEDBACK_PERIOD_S = 0.1
# A code for failures of the robot itself (an empty battery), per action.
_UNKNOWN = {'navigate_to_pose': 100, 'follow_waypoints': 600, 'dock_robot': 999,
            'undock_robot': 999}


def _yaw(pose) -> float:
    q = pose.orientation
    return transforms3d.euler.quat2euler((q.w, q.x, q.y, q.z), 'sxyz')[2]


def _set_pose(pose, x: float, y: float, yaw: float) -> None:
    pose.position.x, pose.position.y = x, y
    q = pose.orientation
    q.w, q.x, q.y, q.z = transforms3d.euler.euler2quat(0.0, 0.0, yaw, 'sxyz')


def _duration(seconds: float) -> Duration:
    whole = int(max(0.0, seconds))
    return Duration(sec=whole, nanosec=int((max(0.0, seconds) - whole) * 1e9))


class _Goal:
    """One accepted goal: its action, its behaviour, and the future its execution awaits."""

    def __init__(self, action: str, goal_handle, task: Task, started_s: float):
        self.action = action
        self.goal_handle = goal_handle
        self.task = task
        self.started_s = started_s
        self.future = Future()
        self.feedback_s = -math.inf

    @property
    def goal_id(self) -> str:
        return bytes(self.goal_handle.goal_id.uuid).hex()


class SimNav2Node(Node):
    """Nav2's action servers, lifecycle services and topics over a simulated robot."""

    def __init__(self, **kwargs):
        super().__init__('sim_nav2', **kwargs)
        p = self._declare()
        self._frame, self._odom_frame, self._base_frame = (
            p['global_frame'], p['odom_frame'], p['robot_base_frame'])
        start = list(p['start_pose']) or [0.0, 0.0, 0.0]
        if len(start) != 3:
            raise ValueError(f'start_pose={start} must be x_m, y_m, yaw_rad')
        self._start = tuple(start)
        self._docks = _parse_docks(p['docks'])
        bounds = tuple(p['map_bounds'])
        if len(bounds) != 4 or bounds[0] >= bounds[2] or bounds[1] >= bounds[3]:
            raise ValueError(f'map_bounds={list(bounds)} must be xmin, ymin, xmax, ymax')
        self._tuning = Tuning(
            xy_goal_tolerance_m=p['xy_goal_tolerance_m'],
            yaw_goal_tolerance_rad=p['yaw_goal_tolerance_rad'],
            progress_radius_m=p['progress_radius_m'], progress_timeout_s=p['progress_timeout_s'],
            replan_period_s=p['replan_period_s'], staging_offset_m=p['staging_offset_m'],
            map_bounds=bounds)
        self._max_speed = p['max_speed_mps']
        self._speed_limit = self._max_speed
        self._cmd_vel_timeout_s = p['cmd_vel_timeout_s']
        self._vehicle = GroundVehicle(
            robot_id=self.get_namespace().strip('/') or 'sim_nav2',
            limits=MotionLimits(max_speed_mps=self._max_speed, cruise_speed_mps=self._max_speed,
                                max_accel_mps2=p['max_accel_mps2'],
                                max_yaw_rate_radps=p['max_yaw_rate_radps']),
            battery_percent=p['battery_percent'], position_m=self._start[:2],
            yaw_rad=self._start[2], docks={k: (d.x_m, d.y_m) for k, d in self._docks.items()},
            start_docked=p['start_docked'])
        self._faults = dict.fromkeys(_FAULTS, False)
        self.add_on_set_parameters_callback(self._on_parameters)
        self._active: typing.Optional[_Goal] = None
        self._goals: typing.Dict[bytes, _Goal] = {}
        self._last_step_s = None
        self._moving = False
        self._docked_id = self._vehicle.docked_id
        self._last_fix = None

        self._events = self.create_publisher(String, 'sim_nav2/events', _EVENTS)
        self._odom = self.create_publisher(Odometry, 'odom', 10)
        self._fix = self.create_publisher(PoseWithCovarianceStamped, 'amcl_pose', _LATCHED)
        self._battery = self.create_publisher(BatteryState, 'battery_state',
                                              qos_profile_sensor_data)
        self.create_subscription(SpeedLimit, 'speed_limit', self._on_speed_limit, 10)
        self.create_service(GetState, 'bt_navigator/get_state', self._get_state)
        self.create_service(Trigger, 'lifecycle_manager_navigation/is_active', self._is_active)
        self._servers = [
            ActionServer(self, action_type, name, execute_callback=self._execute,
                         goal_callback=lambda request, name=name: self._on_goal(name),
                         handle_accepted_callback=(
                             lambda handle, name=name: self._on_accepted(name, handle)),
                         cancel_callback=lambda handle: CancelResponse.ACCEPT)
            for name, action_type in (('navigate_to_pose', NavigateToPose),
                                      ('follow_waypoints', FollowWaypoints),
                                      ('dock_robot', DockRobot),
                                      ('undock_robot', UndockRobot))]
        self.create_timer(1.0 / p['rate_hz'], self._step)
        self.create_timer(1.0, self._publish_battery)
        self._step()
        self.get_logger().info(f'sim_nav2 ready at {self._start} in {self._frame}')

    # --- parameters ----------------------------------------------------------------------

    def _declare(self) -> typing.Dict[str, typing.Any]:
        # First: the node follows its own /clock before any timer or stamp reads the clock.
        self._clock_owner = declare_clock_rate(self)
        table = (
            ('global_frame', 'map'), ('odom_frame', 'odom'), ('robot_base_frame', 'base_link'),
            ('start_pose', Parameter.Type.DOUBLE_ARRAY), ('docks', Parameter.Type.STRING_ARRAY),
            ('start_docked', False), ('max_speed_mps', 1.0), ('max_accel_mps2', 2.0),
            ('max_yaw_rate_radps', 1.5), ('xy_goal_tolerance_m', 0.25),
            ('yaw_goal_tolerance_rad', 0.25), ('progress_radius_m', 0.5),
            ('progress_timeout_s', 10.0), ('replan_period_s', 1.0), ('staging_offset_m', 0.7),
            ('map_bounds', [-100.0, -100.0, 100.0, 100.0]), ('battery_percent', 100.0),
            ('rate_hz', 20.0), ('cmd_vel_timeout_s', 0.5),
        )
        values = {}
        for name, default in table:
            descriptor = ParameterDescriptor(read_only=True, description=f'see {__name__}')
            value = self.declare_parameter(name, default, descriptor).value
            values[name] = [] if value is None else value
        for name in _FAULTS:
            self.declare_parameter(name, False, ParameterDescriptor(
                description='Injected fault, switched at run time (see sim_nav2).'))
        for name in ('max_speed_mps', 'max_accel_mps2', 'max_yaw_rate_radps', 'rate_hz',
                     'progress_timeout_s', 'replan_period_s', 'cmd_vel_timeout_s'):
            if not values[name] > 0.0:
                raise ValueError(f'{name}={values[name]} must be > 0')
        return values

    def _on_parameters(self, parameters) -> SetParametersResult:
        for parameter in parameters:
            if parameter.name in _FAULTS and parameter.type_ != Parameter.Type.BOOL:
                return SetParametersResult(successful=False,
                                           reason=f'{parameter.name} must be a bool')
        for parameter in parameters:
            if parameter.name not in _FAULTS or self._faults[parameter.name] == parameter.value:
                continue
            self._faults[parameter.name] = parameter.value
            self._event('fault', name=parameter.name, value=parameter.value)
            if parameter.name == 'fault.stuck':
                self._vehicle.faults.stuck = parameter.value
            elif parameter.name == 'fault.inactive':
                self._event('lifecycle', state='inactive' if parameter.value else 'active')
                if parameter.value and self._active is not None:
                    # Deactivating bt_navigator halts its tree: the goal ends without a code.
                    self._end(self._active, Outcome(False))
        return SetParametersResult(successful=True)

    def _on_speed_limit(self, msg: SpeedLimit) -> None:
        if msg.speed_limit <= 0.0:
            self._speed_limit = self._max_speed
        elif msg.percentage:
            self._speed_limit = self._max_speed * min(100.0, msg.speed_limit) / 100.0
        else:
            self._speed_limit = min(self._max_speed, msg.speed_limit)

    # --- lifecycle -----------------------------------------------------------------------

    def _get_state(self, request, response):
        inactive = self._faults['fault.inactive']
        response.current_state = State(
            id=State.PRIMARY_STATE_INACTIVE if inactive else State.PRIMARY_STATE_ACTIVE,
            label='inactive' if inactive else 'active')
        return response

    def _is_active(self, request, response):
        response.success = not self._faults['fault.inactive']
        return response

    # --- goals ---------------------------------------------------------------------------

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _event(self, event: str, **fields) -> None:
        self._events.publish(String(data=json.dumps(dict(t=round(self._now(), 3), event=event,
                                                         **fields))))

    def _on_goal(self, action: str) -> GoalResponse:
        if self._faults['fault.inactive']:
            self._event('goal_rejected', action=action, reason='inactive')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_accepted(self, action: str, goal_handle) -> None:
        now = self._now()
        task = self._task(action, goal_handle.request, now)
        goal = _Goal(action, goal_handle, task, now)
        self._event('goal_accepted', action=action, goal_id=goal.goal_id, **self._describe(task))
        if self._active is not None:
            # Nav2's servers abort the goal a new one preempts, with an empty result.
            self._end(self._active, Outcome(False))
        self._goals[bytes(goal_handle.goal_id.uuid)] = goal
        self._active = goal
        goal_handle.execute()

    def _task(self, action: str, request, now: float) -> Task:
        common = {'planning_fails': lambda: self._faults['fault.planning_failure'],
                  'speed_mps': lambda: self._speed_limit}
        if action == 'navigate_to_pose':
            return NavigateTask(self._vehicle, self._tuning, self._target(request.pose),
                                **common)
        if action == 'follow_waypoints':
            return FollowTask(self._vehicle, self._tuning,
                              [self._target(pose) for pose in request.poses], **common)
        if action == 'dock_robot':
            return DockTask(self._vehicle, self._tuning,
                            dock_id=request.dock_id if request.use_dock_id else '',
                            docks=self._docks,
                            navigate_to_staging_pose=request.navigate_to_staging_pose,
                            max_staging_time_s=request.max_staging_time, now_s=now, **common)
        return UndockTask(self._vehicle, self._tuning,
                          max_undocking_time_s=request.max_undocking_time, now_s=now, **common)

    def _target(self, pose: PoseStamped) -> typing.Tuple[float, float, float]:
        if pose.header.frame_id not in ('', self._frame):
            # No tf here: an unknown frame is planned as the global frame would be, and
            # flagged so that a test sees it.
            self._event('wrong_frame', frame_id=pose.header.frame_id)
        return pose.pose.position.x, pose.pose.position.y, _yaw(pose.pose)

    @staticmethod
    def _describe(task: Task) -> typing.Dict[str, typing.Any]:
        if isinstance(task, NavigateTask):
            return {'target': [round(v, 3) for v in task.target]}
        if isinstance(task, FollowTask):
            return {'poses': [[round(v, 3) for v in pose] for pose in task.poses]}
        if isinstance(task, DockTask):
            return {'dock_id': task.dock_id}
        return {}

    async def _execute(self, goal_handle):
        goal = self._goals[bytes(goal_handle.goal_id.uuid)]
        try:
            outcome, status = await goal.future
        finally:
            self._goals.pop(bytes(goal_handle.goal_id.uuid), None)
        if status == GoalStatus.STATUS_SUCCEEDED:
            goal_handle.succeed()
        elif status == GoalStatus.STATUS_CANCELED:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return self._result(goal, outcome)

    def _end(self, goal: _Goal, outcome: Outcome, canceled: bool = False) -> None:
        """End a goal: the robot is commanded to stop unless the goal succeeded."""
        if goal.future.done():
            return
        if not outcome.succeeded:
            goal.task.cancel()
        if self._active is goal:
            self._active = None
        status = (GoalStatus.STATUS_CANCELED if canceled else GoalStatus.STATUS_SUCCEEDED
                  if outcome.succeeded else GoalStatus.STATUS_ABORTED)
        self._event('goal_ended', action=goal.action, goal_id=goal.goal_id,
                    status={GoalStatus.STATUS_CANCELED: 'canceled',
                            GoalStatus.STATUS_SUCCEEDED: 'succeeded'}.get(status, 'aborted'),
                    error_code=outcome.error_code, error_msg=outcome.error_msg,
                    missed=[list(m) for m in outcome.missed])
        goal.future.set_result((outcome, status))

    def _result(self, goal: _Goal, outcome: Outcome):
        action_type = {'navigate_to_pose': NavigateToPose, 'follow_waypoints': FollowWaypoints,
                       'dock_robot': DockRobot, 'undock_robot': UndockRobot}[goal.action]
        result = action_type.Result(error_code=outcome.error_code,
                                    error_msg=outcome.error_msg)
        if goal.action == 'follow_waypoints':
            poses = goal.goal_handle.request.poses
            result.missed_waypoints = [MissedWaypoint(index=index, goal=poses[index],
                                                      error_code=code)
                                       for index, code in outcome.missed]
        elif goal.action in ('dock_robot', 'undock_robot'):
            result.success = outcome.succeeded
        return result

    # --- simulation ----------------------------------------------------------------------

    def _step(self) -> None:
        now = self._now()
        if self._last_step_s is not None and now - self._last_step_s > self._cmd_vel_timeout_s:
            # The process was frozen: the base stopped on its command timeout meanwhile.
            self._vehicle.halt(now)
        else:
            self._vehicle.update(now)
        self._last_step_s = now
        goal = self._active
        if goal is not None:
            if goal.goal_handle.is_cancel_requested:
                self._end(goal, Outcome(False), canceled=True)
            else:
                try:
                    outcome = goal.task.step(now)
                except ExecutionError as error:
                    outcome = Outcome(False, _UNKNOWN[goal.action], f'sim_nav2: {error}')
                if outcome is not None:
                    self._end(goal, outcome)
                elif now - goal.feedback_s >= _FEEDBACK_PERIOD_S:
                    goal.feedback_s = now
                    self._publish_feedback(goal, now)
        self._publish_odometry(now)
        self._watch(now)

    def _watch(self, now: float) -> None:
        s = self._vehicle.snapshot()
        moving = s.speed_mps > 1e-3 or abs(s.yaw_rate_radps) > 1e-3
        if self._moving and not moving:
            self._event('stopped', x=round(s.x_m, 3), y=round(s.y_m, 3))
        self._moving = moving
        docked = self._vehicle.docked_id
        if docked != self._docked_id:
            self._event('docked' if docked else 'undocked', dock_id=docked or self._docked_id)
            self._docked_id = docked

    def _publish_feedback(self, goal: _Goal, now: float) -> None:
        task = goal.task
        if isinstance(task, NavigateTask):
            feedback = NavigateToPose.Feedback(
                distance_remaining=float(task.distance_remaining()),
                navigation_time=_duration(now - goal.started_s))
            s = task.snapshot
            feedback.current_pose.header.frame_id = self._frame
            feedback.current_pose.header.stamp = self.get_clock().now().to_msg()
            _set_pose(feedback.current_pose.pose, s.x_m, s.y_m, s.yaw_rad)
        elif isinstance(task, FollowTask):
            feedback = FollowWaypoints.Feedback(current_waypoint=task.current)
        elif isinstance(task, DockTask):
            feedback = DockRobot.Feedback(
                state=(DockRobot.Feedback.NAV_TO_STAGING_POSE if task.phase == 'staging'
                       else DockRobot.Feedback.CONTROLLING),
                docking_time=_duration(now - goal.started_s))
        else:
            return  # UndockRobot has no feedback fields
        goal.goal_handle.publish_feedback(feedback)

    def _publish_odometry(self, now: float) -> None:
        s = self._vehicle.snapshot()
        stamp = self.get_clock().now().to_msg()
        # The odom frame is where the robot started; the robot's pose in it, by hand.
        x0, y0, yaw0 = self._start
        c, si = math.cos(yaw0), math.sin(yaw0)
        dx, dy = s.x_m - x0, s.y_m - y0
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id = stamp, self._odom_frame
        odom.child_frame_id = self._base_frame
        _set_pose(odom.pose.pose, c * dx + si * dy, -si * dx + c * dy, s.yaw_rad - yaw0)
        cy, sy = math.cos(s.yaw_rad), math.sin(s.yaw_rad)
        odom.twist.twist.linear.x = cy * s.vx_mps + sy * s.vy_mps
        odom.twist.twist.linear.y = -sy * s.vx_mps + cy * s.vy_mps
        odom.twist.twist.angular.z = s.yaw_rate_radps
        self._odom.publish(odom)
        last = self._last_fix
        if last is None or math.hypot(s.x_m - last[0], s.y_m - last[1]) >= _FIX_DISTANCE_M or \
                abs(math.remainder(s.yaw_rad - last[2], 2.0 * math.pi)) >= _FIX_ANGLE_RAD:
            fix = PoseWithCovarianceStamped()
            fix.header.stamp, fix.header.frame_id = stamp, self._frame
            _set_pose(fix.pose.pose, s.x_m, s.y_m, s.yaw_rad)
            self._fix.publish(fix)
            self._last_fix = (s.x_m, s.y_m, s.yaw_rad)

    def _publish_battery(self) -> None:
        s = self._vehicle.snapshot()
        msg = BatteryState(percentage=float(s.battery_percent) / 100.0, present=True,
                           voltage=math.nan, current=math.nan, charge=math.nan,
                           capacity=math.nan, design_capacity=math.nan, temperature=math.nan)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.power_supply_status = (BatteryState.POWER_SUPPLY_STATUS_CHARGING if s.docked
                                   else BatteryState.POWER_SUPPLY_STATUS_DISCHARGING)
        self._battery.publish(msg)


def _parse_docks(entries: typing.Sequence[str]) -> typing.Dict[str, Dock]:
    docks = {}
    for entry in entries or ['charger:0.0:0.0:0.0']:
        parts = entry.split(':')
        try:
            name, x, y, yaw = parts[0], float(parts[1]), float(parts[2]), float(parts[3])
        except (IndexError, ValueError):
            raise ValueError(f'docks entry {entry!r} is not "id:x_m:y_m:yaw_rad"') from None
        if not name or len(parts) != 4:
            raise ValueError(f'docks entry {entry!r} is not "id:x_m:y_m:yaw_rad"')
        docks[name] = Dock(x, y, yaw)
    return docks


def main(args=None) -> int:
    """Run sim_nav2 until interrupted; exit status 2 on bad parameters."""
    rclpy.init(args=args)
    node = None
    try:
        node = SimNav2Node()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (ValueError, InvalidParameterValueException) as error:
        # InvalidParameterValueException: a value outside a descriptor's range (clock_rate).
        print(f'sim_nav2: {error}', file=sys.stderr)
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
