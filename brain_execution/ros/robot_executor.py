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
The robot executor node: one action server per operation of one robot.

Run it as ``ros2 run brain_execution robot_executor --ros-args -r __ns:=/drone1
--params-file config/drone.yaml``.
"""

import functools
import math
import sys
import threading
import typing

from brain_execution.core.errors import ErrorCode
from brain_execution.core.runtime import OperationRecord, Outcome, RobotRuntime
from brain_execution.core.state import LandedState
import brain_execution_interfaces.action
from brain_execution_interfaces.msg import OperationStatus, RobotState
from brain_execution_interfaces.srv import CancelOperation, QueryOperation
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.task import Future

from .bridge_factory import make_bridge
from .config import declare_and_load
from .conversions import fill_message, goal_to_params, record_status
from .node_helpers import log_at, now_s
from .qos import EVENTS_QOS, intake_qos, STATE_QOS
from .spin import run_node
from .standard_views import StandardViews

__all__ = ['RobotExecutorNode', 'main']

# After the wait's end, so that the early tick does not find it a hair short of its end.
_EARLY_TICK_MARGIN_S = 0.001

_PLATFORM_CODES = {'drone': RobotState.PLATFORM_DRONE, 'ground': RobotState.PLATFORM_GROUND,
                   'surface': RobotState.PLATFORM_SURFACE}


class _ActiveGoal(typing.NamedTuple):
    goal_handle: ServerGoalHandle
    action_type: typing.Any
    record: OperationRecord


class RobotExecutorNode(Node):
    """
    Serve every operation the robot's platform supports as an action.

    Actions: ``~/<operation>`` (e.g. ``/drone1/takeoff``, type
    ``brain_execution_interfaces/action/Takeoff``), for each operation of the platform.
    Topics: ``~/robot_state`` (RobotState), ``~/operation_events`` (OperationStatus, one per
    ended operation), ``/fleet/status`` (DiagnosticStatus, from broadcast_status).
    Services: ``~/query_operation``, ``~/cancel_operation``.

    ROS Parameters:

    * robot_id (str): robot name; empty = the namespace.
    * platform (str): drone, ground or surface.
    * bridge (str): platform bridge, by name in the ``brain_execution.bridges`` entry-point
      group (``sim`` is built in); the bridge declares its own parameters, ``<bridge>.*``.
    * home.latitude_deg, home.longitude_deg (float): origin of the local ENU frame.
    * geofence.polygon_xy (float[]): fence vertices x0, y0, x1, y1, ... (m); unset = none.
    * geofence.altitude_ceiling_m (float): highest target altitude above home (m).
    * limits.max_speed_mps, limits.cruise_speed_mps (float): speed limit and default (m/s).
    * battery.min_takeoff_percent, battery.min_departure_percent,
      battery.return_home_percent (float): battery thresholds (%).
    * battery.auto_return_home (bool): go home below battery.return_home_percent.
    * payload.max_mass_kg (float): heaviest payload (kg).
    * tick_rate_hz, state_rate_hz, feedback_rate_hz (float): loop, state and feedback rates.
    * history_size (int): ended operations remembered for idempotency and queries.
    * result_timeout_s (int): how long an ended goal's result stays available.
    * intake_queue_depth (int): depth of the action services' queues.
    * <bridge>.* : the bridge's own settings (e.g. ``sim.*``, see config/*.yaml).

    All parameters are read-only; ``use_sim_time`` is honoured by every wait and timer.
    """

    def __init__(self, *, node_name: str = 'robot_executor', **kwargs):
        super().__init__(node_name, **kwargs)
        self.config = declare_and_load(self)
        self._wake = self.create_guard_condition(lambda: None)
        # The tick owns the simulator and every program; it must never wait behind a goal.
        loop_group = MutuallyExclusiveCallbackGroup()
        # A bridge whose acknowledgement arrives between two ticks asks for one at once.
        self._tick_request = self.create_guard_condition(self._tick, callback_group=loop_group)
        self.runtime = RobotRuntime(
            robot_id=self.config.robot_id,
            bridge=make_bridge(self, self.config, request_tick=self._request_tick),
            envelope=self.config.envelope,
            home=self.config.home,
            clock=self._now,
            history_size=self.config.history_size,
            hooks={'broadcast': self._broadcast},
            logger=self._log,
            auto_return_home=self.config.auto_return_home,
        )
        self._active: typing.Dict[bytes, _ActiveGoal] = {}
        self._state_pub = self.create_publisher(RobotState, 'robot_state', STATE_QOS)
        self._events_pub = self.create_publisher(OperationStatus, 'operation_events',
                                                 EVENTS_QOS)
        self._fleet_pub = self.create_publisher(DiagnosticStatus, '/fleet/status', EVENTS_QOS)
        # NavSatFix, Odometry, Path, TF, geofence and /diagnostics from each robot_state.
        self._views = StandardViews(self, self.config)

        self._tick_timer = self.create_timer(1.0 / self.config.tick_rate_hz, self._tick,
                                             callback_group=loop_group)
        # One extra tick when a timed wait ends between two periodic ticks, so that a 0.1 s
        # hover ends after 0.1 s and not at the next tick (up to a whole period later).
        self._early_lock = threading.Lock()
        self._early_due_s: typing.Optional[float] = None
        self._early_tick = self.create_timer(1.0, self._on_early_tick,
                                             callback_group=loop_group)
        self._early_tick.cancel()
        self.create_timer(1.0 / self.config.state_rate_hz, self._publish_state,
                          callback_group=loop_group)
        self.create_timer(1.0 / self.config.feedback_rate_hz, self._publish_feedback,
                          callback_group=loop_group)

        qos = intake_qos(self.config.intake_queue_depth)
        self._servers = []
        for spec in self.runtime.specs.values():
            action_type = getattr(brain_execution_interfaces.action, spec.action_type)
            self._servers.append(ActionServer(
                self, action_type, spec.name,
                execute_callback=functools.partial(self._execute, spec.name, action_type),
                goal_callback=self._accept_goal,
                cancel_callback=self._cancel_goal,
                # Own group per server (DESIGN.md); reentrant because goals of one type may
                # run side by side (sensing) or preempt each other (motion).
                callback_group=ReentrantCallbackGroup(),
                goal_service_qos_profile=qos,
                result_service_qos_profile=qos,
                cancel_service_qos_profile=qos,
                result_timeout=self.config.result_timeout_s,
            ))
        service_group = ReentrantCallbackGroup()
        self.create_service(QueryOperation, 'query_operation', self._query,
                            callback_group=service_group)
        self.create_service(CancelOperation, 'cancel_operation', self._cancel_service,
                            callback_group=service_group)
        self.get_logger().info(
            f'{self.config.robot_id}: {self.config.platform.value} on bridge '
            f'{self.config.bridge}, serving {", ".join(self.runtime.specs)}')

    # --- helpers -------------------------------------------------------------------------

    def _now(self) -> float:
        return now_s(self)

    def _log(self, level: str, message: str) -> None:
        log_at(self, level, message)

    def _broadcast(self, message: str) -> None:
        s = self.runtime.bridge.snapshot()
        values = {'platform': s.platform.value, 'x_m': s.x_m, 'y_m': s.y_m, 'z_m': s.z_m,
                  'battery_percent': s.battery_percent, 'armed': s.armed, 'mode': s.mode,
                  'link_up': s.link_up}
        self._fleet_pub.publish(DiagnosticStatus(
            level=DiagnosticStatus.OK, name=self.config.robot_id, message=message,
            hardware_id=self.config.robot_id,
            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()]))

    # --- actions -------------------------------------------------------------------------

    def _accept_goal(self, goal_request) -> GoalResponse:
        # Every goal is accepted: a refusal ends the goal with a code and a reason the caller
        # can read in the result, where a bare REJECT would tell it nothing.
        return GoalResponse.ACCEPT

    def _cancel_goal(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        active = self._active.get(bytes(goal_handle.goal_id.uuid))
        if active is None:
            # Accepted but its execute callback has not run yet: it sees the request and
            # cancels the operation as soon as it starts.
            return CancelResponse.ACCEPT
        if active.record.done:
            return CancelResponse.REJECT
        self.runtime.cancel(active.record.operation_id)
        return CancelResponse.ACCEPT

    async def _execute(self, name: str, action_type, goal_handle: ServerGoalHandle):
        key = bytes(goal_handle.goal_id.uuid)
        try:
            params, operation_id, priority, timeout_s = goal_to_params(goal_handle.request)
            record = self.runtime.submit(name, params, operation_id=operation_id,
                                         priority=priority, timeout_s=timeout_s)
            self._active[key] = _ActiveGoal(goal_handle, action_type, record)
            self._arm_early_tick()
            if goal_handle.is_cancel_requested:
                self.runtime.cancel(record.operation_id)
            done = Future()
            record.add_done_callback(functools.partial(self._resolve, done))
            await done
            outcome = record.outcome
        except Exception as error:  # noqa: B902 - every goal must end with a reason
            self.get_logger().error(f'{name}: {type(error).__name__}: {error}')
            record, outcome = None, Outcome(
                code=ErrorCode.INTERNAL_ERROR, message=f'{type(error).__name__}: {error}')
        finally:
            self._active.pop(key, None)
        result = fill_message(action_type.Result(), outcome.result)
        result.error_code = int(outcome.code)
        result.error_msg = outcome.message
        result.retryable = outcome.retryable
        result.elapsed_s = float(outcome.elapsed_s)
        result.operation_id = record.operation_id if record is not None else ''
        if outcome.succeeded:
            goal_handle.succeed()
        elif outcome.code == ErrorCode.CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        if record is not None:
            self._events_pub.publish(record_status(
                record, robot_id=self.config.robot_id, stamp=self.get_clock().now().to_msg()))
        return result

    def _request_tick(self) -> None:
        self._tick_request.trigger()

    def _tick(self) -> None:
        self.runtime.tick()
        self._arm_early_tick()

    def _on_early_tick(self) -> None:
        with self._early_lock:
            self._early_tick.cancel()
            self._early_due_s = None
        self._tick()

    def _arm_early_tick(self) -> None:
        due = self.runtime.next_wake_s()
        if due is None:
            return
        delay_s = due - self._now() + _EARLY_TICK_MARGIN_S
        next_tick_ns = self._tick_timer.time_until_next_call()
        if delay_s <= 0.0 or (next_tick_ns is not None and delay_s * 1e9 >= next_tick_ns):
            return  # due now (the tick is running) or the periodic tick comes first
        with self._early_lock:
            if self._early_due_s is not None and self._early_due_s <= due:
                return
            self._early_due_s = due
            self._early_tick.timer_period_ns = int(delay_s * 1e9)
            self._early_tick.reset()

    def _resolve(self, future: Future, record: OperationRecord) -> None:
        # Called from whichever thread ended the operation; the guard condition wakes the
        # executor so the awaiting execute coroutine resumes at once.
        if not future.done():
            future.set_result(record)
        self._wake.trigger()

    def _publish_feedback(self) -> None:
        for active in list(self._active.values()):
            if active.record.done:
                continue
            p = active.record.progress
            feedback = fill_message(active.action_type.Feedback(), p.extra)
            feedback.progress = float(p.progress)
            feedback.phase = p.phase
            feedback.distance_remaining_m = float(p.distance_remaining_m)
            feedback.eta_s = float(p.eta_s)
            active.goal_handle.publish_feedback(feedback)

    # --- state and services --------------------------------------------------------------

    def _publish_state(self) -> None:
        s = self.runtime.bridge.snapshot()
        msg = RobotState()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = 'map'
        msg.robot_id = self.config.robot_id
        msg.platform = _PLATFORM_CODES[s.platform.value]
        msg.bridge = self.config.bridge
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = s.x_m, s.y_m, s.z_m
        msg.pose.orientation.z = math.sin(s.yaw_rad / 2.0)
        msg.pose.orientation.w = math.cos(s.yaw_rad / 2.0)
        msg.velocity.linear.x, msg.velocity.linear.y = s.vx_mps, s.vy_mps
        msg.velocity.linear.z = s.vz_mps
        msg.velocity.angular.z = s.yaw_rate_radps
        msg.latitude_deg, msg.longitude_deg = s.latitude_deg, s.longitude_deg
        msg.altitude_m = s.z_m
        msg.battery_percent = float(s.battery_percent)
        msg.armed = s.armed
        msg.mode = s.mode
        msg.landed_state = int(s.landed_state) if s.platform.value == 'drone' else int(
            LandedState.ON_GROUND)
        msg.docked = s.docked
        msg.link_up = s.link_up
        msg.emergency_stop_active = self.runtime.emergency_stop_active
        msg.active_operations = [r.operation_id for r in self.runtime.active_records()]
        self._state_pub.publish(msg)
        self._views.publish(msg)

    def _query(self, request, response):
        if request.operation_id:
            record = self.runtime.query(request.operation_id)
            records = [] if record is None else [record]
        else:
            records = self.runtime.records()
        stamp = self.get_clock().now().to_msg()
        response.operations = [record_status(r, robot_id=self.config.robot_id, stamp=stamp)
                               for r in records]
        response.found = bool(records)
        return response

    def _cancel_service(self, request, response):
        if not request.operation_id or request.plan_id:
            response.error_code = ErrorCode.INVALID_PARAMETERS
            response.error_msg = ('operation_id must be set; a robot executor has no plans '
                                  '(cancel plans on /execution/cancel)')
        elif self.runtime.cancel(request.operation_id, reason='canceled by cancel_operation'):
            response.canceled_operation_ids = [request.operation_id]
        else:
            response.error_code = ErrorCode.PRECONDITION_FAILED
            response.error_msg = f'operation_id={request.operation_id!r} is not running'
        return response

    def destroy_node(self) -> None:
        self.runtime.shutdown()
        for server in self._servers:
            server.destroy()
        super().destroy_node()


def main(args=None) -> int:
    """Run one robot executor until interrupted."""
    # Waiting never holds a thread (programs yield, goals await), so two threads serve every
    # action server; a third keeps the tick free while two goals end together.
    return run_node(RobotExecutorNode, name='robot_executor', num_threads=3, args=args)


if __name__ == '__main__':
    sys.exit(main())
