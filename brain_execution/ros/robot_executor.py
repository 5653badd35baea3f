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
import time
import typing

from brain_execution.core.catalog import OperationClass
from brain_execution.core.errors import ErrorCode, OperationRecordError
from brain_execution.core.operation_store import OperationStore
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
from std_msgs.msg import Header

from .admissions import Admissions
from .bridge_factory import make_bridge
from .config import declare_and_load
from .conversions import checked_message, goal_to_params, record_status
from .goal_guard import guard_callback, guard_execute
from .node_helpers import log_at, now_s
from .qos import EVENTS_QOS, intake_qos, STATE_QOS
from .robot_emergency import EmergencyServers
from .spin import run_node
from .standard_views import StandardViews

__all__ = ['RobotExecutorNode', 'main']

# After the wait's end, so that the early tick does not find it a hair short of its end.
_EARLY_TICK_MARGIN_S = 0.001
# Spin slice while shutting down, and how long the ended goals' responses get to leave.
_SHUTDOWN_SLICE_S = 0.05
_SHUTDOWN_LINGER_S = 0.3

# Goals admitted by a goal callback and not yet taken by their execute callback. rclpy runs
# an accepted goal's execute task before it takes in more requests, so a few per server are
# pending at once; only a goal whose answer could not be sent (its client gone) is never
# taken. Dropping one is safe (it is submitted again by its id, should it run after all).
_MAX_ADMITTED = 1000

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
    Topics: ``~/robot_state`` (RobotState), ``~/operation_events`` (OperationStatus: one when
    an operation starts acting and one when it ends, once per operation however many goals
    attach to it; one per goal refused at intake, ``started`` false), ``/fleet/status``
    (DiagnosticStatus, from broadcast_status).
    Services: ``~/query_operation``, ``~/cancel_operation``.

    A goal is answered accepted only once its operation is committed to the durable operation
    record (or refused, with the code and reason in its result); emergency goals are answered
    at once and recorded on the emergency lane's queue.

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
    * tick_rate_hz (float): rate at which running operations and the platform advance; the
      tick runs only while an operation runs.
    * state_rate_hz (float): rate of ``robot_state`` (default 10 Hz); while no operation
      runs, also the rate at which the platform advances and the battery failsafe is checked.
    * feedback_rate_hz (float): rate of action feedback per goal.
    * history_size (int): ended operations kept in memory (live records, list queries);
      idempotency and single-id queries use the durable operation record instead.
    * operation_record.path (str): SQLite file of the durable operation record; empty =
      ``$ROS_HOME/brain_execution/<robot_id>/operations.db`` (``$ROS_HOME``: ``~/.ros``).
    * operation_record.retention_s (float): ended operations older than this are pruned (s).
    * operation_record.synchronous (str): FULL (power-cut safe, default) or NORMAL.
    * shutdown.safe_action (str): hold or land (drones): what SIGINT/SIGTERM commands.
    * shutdown.timeout_s (float): how long shutdown waits for results and the safe command.
    * result_timeout_s (int): how long an ended goal's result stays available.
    * intake_queue_depth (int): depth of the action services' queues.
    * fault_injection.raise_in (str[]): test hook; operations whose goals raise while their
      result is built (they must still end INTERNAL_ERROR). Never set on a robot.
    * <bridge>.* : the bridge's own settings (e.g. ``sim.*``, see config/*.yaml).

    All parameters are read-only; ``use_sim_time`` is honoured by every wait and timer.
    emergency_stop and emergency_land are served by a companion node,
    ``<node name>_emergency`` in the same namespace, on threads of its own (see
    :mod:`~brain_execution.ros.robot_emergency`).
    """

    def __init__(self, *, node_name: str = 'robot_executor', **kwargs):
        super().__init__(node_name, **kwargs)
        self.config = declare_and_load(self)
        self._raise_in = self.config.raise_in
        self._wake = self.create_guard_condition(lambda: None)
        # The tick owns the simulator and every program; it must never wait behind a goal.
        loop_group = MutuallyExclusiveCallbackGroup()
        # A bridge whose acknowledgement arrives between two ticks asks for one at once.
        self._tick_request = self.create_guard_condition(self._tick, callback_group=loop_group)
        self._events_pub = self.create_publisher(OperationStatus, 'operation_events',
                                                 EVENTS_QOS)
        # Opening never raises: a record that cannot be written refuses goals with
        # OPERATION_RECORD_FAILED (and is reported on /diagnostics) until it can.
        self.store = OperationStore(self.config.record_path,
                                    retention_s=self.config.record_retention_s,
                                    synchronous=self.config.record_synchronous,
                                    logger=self._log)
        if self.store.error:
            self.get_logger().error(f'{self.store.error}; goals are refused until it is '
                                    'writable')
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
            store=self.store,
            on_started=self._on_started,
        )
        self._active: typing.Dict[bytes, _ActiveGoal] = {}
        # What each goal callback submitted (a record, or the error raised), until its
        # execute callback takes it.
        self._admissions = Admissions(limit=_MAX_ADMITTED, on_dropped=functools.partial(
            self._log, 'warn', f'admission of an unanswered goal dropped (more than '
                               f'{_MAX_ADMITTED} pending); it is submitted again if it runs'))
        self._state_pub = self.create_publisher(RobotState, 'robot_state', STATE_QOS)
        self._fleet_pub = self.create_publisher(DiagnosticStatus, '/fleet/status', EVENTS_QOS)
        # NavSatFix, Odometry, Path, TF, geofence and /diagnostics from each robot_state.
        self._views = StandardViews(self, self.config,
                                    extra_statuses=lambda: [self._record_status()])

        # The tick and feedback timers run only while an operation runs (see _follow_activity):
        # an idle executor wakes for robot_state alone, which also advances the platform and
        # evaluates the battery failsafe (see _on_state_timer).
        self._activity_lock = threading.Lock()
        self._tick_timer = self.create_timer(1.0 / self.config.tick_rate_hz, self._tick,
                                             callback_group=loop_group)
        self._tick_timer.cancel()
        # One extra tick when a timed wait ends between two periodic ticks, so that a 0.1 s
        # hover ends after 0.1 s and not at the next tick (up to a whole period later).
        self._early_lock = threading.Lock()
        self._early_due_s: typing.Optional[float] = None
        self._early_tick = self.create_timer(1.0, self._on_early_tick,
                                             callback_group=loop_group)
        self._early_tick.cancel()
        self.create_timer(1.0 / self.config.state_rate_hz, self._on_state_timer,
                          callback_group=loop_group)
        self._feedback_timer = self.create_timer(1.0 / self.config.feedback_rate_hz,
                                                 self._publish_feedback,
                                                 callback_group=loop_group)
        self._feedback_timer.cancel()

        qos = intake_qos(self.config.intake_queue_depth)
        options = {'goal_service_qos_profile': qos, 'result_service_qos_profile': qos,
                   'cancel_service_qos_profile': qos,
                   'result_timeout': self.config.result_timeout_s}
        logger = self.get_logger()
        accept = guard_callback(self._accept_goal, fallback=GoalResponse.ACCEPT, logger=logger,
                                what='goal callback')
        cancel = guard_callback(self._cancel_goal, fallback=CancelResponse.REJECT,
                                logger=logger, what='cancel callback')
        self._servers = []
        emergency = []
        for spec in self.runtime.specs.values():
            action_type = getattr(brain_execution_interfaces.action, spec.action_type)
            urgent = spec.op_class is OperationClass.EMERGENCY
            execute = guard_execute(
                functools.partial(self._execute, spec.name, action_type, urgent=urgent),
                action_type=action_type, logger=logger, what=spec.name)
            if urgent:
                # The emergency lane keeps its answer-at-once goal callback: its intake is
                # queued to the record (never a commit in front of an emergency command).
                emergency.append((spec.name, action_type, execute, accept, cancel))
                continue
            admit = guard_callback(functools.partial(self._admit_goal, spec.name),
                                   fallback=GoalResponse.ACCEPT, logger=logger,
                                   what=f'{spec.name} goal callback')
            self._servers.append(ActionServer(
                self, action_type, spec.name, execute_callback=execute,
                goal_callback=admit, cancel_callback=cancel,
                # Own group per server (DESIGN.md); reentrant because goals of one type may
                # run side by side (sensing) or preempt each other (motion).
                callback_group=ReentrantCallbackGroup(), **options))
        self._emergency = EmergencyServers(parent=self, servers=emergency,
                                           server_options=options)
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
        # Emergency goals: accepted at once, submitted by the execute callback on the lane.
        # A refusal ends the goal with a code and a reason the caller can read in the
        # result, where a bare REJECT would tell it nothing.
        return GoalResponse.ACCEPT

    def _admit_goal(self, name: str, goal) -> GoalResponse:
        """
        Take a goal in before it is answered: "accepted" means stored.

        The runtime commits the operation to the durable record (fsynced) before submit
        returns, so a robot killed right after the answer has the id on restart (closed
        INTERRUPTED) instead of having lost a goal it accepted. A refusal is answered ACCEPT
        too: the execute callback ends the goal with the refusal's code and reason.
        """
        try:
            admitted = self._submit(name, goal)
        except Exception as error:  # noqa: B902 - raised again by the execute callback
            admitted = error
        else:
            if not goal.operation_id:
                # Named now: should the goal be submitted again (its admission dropped), it
                # attaches to this operation instead of starting a second one.
                goal.operation_id = admitted.operation_id
        self._admissions.put(goal, admitted)
        self._follow_runtime()
        return GoalResponse.ACCEPT

    def _take_admitted(self, name: str, goal_handle: ServerGoalHandle,
                       action_type) -> OperationRecord:
        """Make the goal's admitted record active and return it (raise its error)."""
        goal = goal_handle.request
        admitted = self._admissions.get(goal)
        if admitted is None:
            # Not admitted (a goal callback that failed, an admission dropped): submitting is
            # idempotent by operation id.
            admitted = self._submit(name, goal)
            self._follow_runtime()
        if isinstance(admitted, OperationRecord):
            self._active[bytes(goal_handle.goal_id.uuid)] = _ActiveGoal(
                goal_handle, action_type, admitted)
        # Discarded only once active: a cancel callback always finds the record in one place.
        self._admissions.discard(goal)
        if isinstance(admitted, Exception):
            raise admitted
        return admitted

    def _submit(self, name: str, goal) -> OperationRecord:
        """Submit a (non-emergency) goal to the runtime."""
        params, operation_id, priority, timeout_s = goal_to_params(goal)
        return self.runtime.submit(name, params, operation_id=operation_id, priority=priority,
                                   timeout_s=timeout_s)

    def _follow_runtime(self) -> None:
        """Start the timers a submit needs."""
        self._follow_activity()
        # It asks the runtime (its lock) when the next wait ends.
        self._arm_early_tick()

    def _cancel_goal(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        active = self._active.get(bytes(goal_handle.goal_id.uuid))
        # Not active yet: its goal callback has submitted it already.
        record = (active.record if active is not None
                  else self._admissions.get(goal_handle.request))
        if not isinstance(record, OperationRecord):
            # Not submitted (or its submit raised): the execute callback sees the request
            # and cancels the operation as soon as it has one.
            return CancelResponse.ACCEPT
        if record.done:
            return CancelResponse.REJECT
        self.runtime.cancel(record.operation_id)
        return CancelResponse.ACCEPT

    async def _execute(self, name: str, action_type, goal_handle: ServerGoalHandle, *,
                       urgent: bool = False):
        key = bytes(goal_handle.goal_id.uuid)
        try:
            if urgent:
                params, operation_id, priority, timeout_s = goal_to_params(goal_handle.request)
                # The emergency lane: never waits for the lock a tick holds.
                submitted, wake = Future(), self._emergency.wake
                self.runtime.submit_urgent(
                    name, params, operation_id=operation_id, priority=priority,
                    timeout_s=timeout_s,
                    on_record=functools.partial(self._resolve, submitted, wake=wake))
                record = await submitted
                self._active[key] = _ActiveGoal(goal_handle, action_type, record)
                # The runtime may have served it already (the lock was free) or its holder
                # serves it before it next calls this.
                self._follow_activity()
            else:
                # Submitted by the goal callback, which started the timers it needs.
                wake = self._wake
                record = self._take_admitted(name, goal_handle, action_type)
            if goal_handle.is_cancel_requested:
                self.runtime.cancel(record.operation_id)
            done = Future()
            record.add_done_callback(functools.partial(self._resolve, done, wake=wake))
            await done
            outcome = record.outcome
        except Exception as error:  # noqa: B902 - every goal must end with a reason
            self.get_logger().error(f'{name}: {type(error).__name__}: {error}')
            record, outcome = None, Outcome(
                code=ErrorCode.INTERNAL_ERROR, message=f'{type(error).__name__}: {error}')
        finally:
            self._active.pop(key, None)
        if name in self._raise_in:
            raise RuntimeError(f'fault injected into the {name} result '
                               f'(fault_injection.raise_in)')
        result = checked_message(action_type.Result, outcome.result, f'{name} result',
                                 skip_unknown=True)
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
        if record is not None and not record.started:
            # Started operations have their own start and end events (_on_started); a
            # refusal is reported here, once per refused goal.
            self._publish_event(record)
        return result

    def _publish_event(self, record: OperationRecord) -> None:
        self._events_pub.publish(record_status(
            record, robot_id=self.config.robot_id, stamp=self.get_clock().now().to_msg()))

    def _on_started(self, record: OperationRecord) -> None:
        # Once per operation, however many goals attach to it: what the robot executed.
        self.get_logger().info(f'operation started: {record.name} {record.operation_id}')
        self._publish_event(record)
        record.add_done_callback(self._publish_event)

    def _request_tick(self) -> None:
        self._tick_request.trigger()

    def _tick(self) -> None:
        self.runtime.tick()
        self._follow_activity()
        self._arm_early_tick()

    @property
    def ticking(self) -> bool:
        """Whether the periodic program tick runs (only while an operation runs)."""
        return not self._tick_timer.is_canceled()

    def _follow_activity(self) -> None:
        """Run the tick and feedback timers while an operation runs; stop them otherwise."""
        # Called after every submit and every tick, from several threads. Each call reads
        # the runtime afresh under the lock, so the last call after a submit always sees its
        # operation: a goal arriving as the last operation ends never finds the tick stopped.
        with self._activity_lock:
            busy = self.runtime.busy
            for timer in (self._tick_timer, self._feedback_timer):
                if busy and timer.is_canceled():
                    timer.reset()
                elif not busy and not timer.is_canceled():
                    timer.cancel()

    def _on_state_timer(self) -> None:
        if not self.ticking:
            # Idle: the platform still moves on (battery, a drifting vessel, link faults) and
            # the battery failsafe is still evaluated, at the state rate, before publishing.
            self._tick()
        self._publish_state()

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

    @staticmethod
    def _resolve(future: Future, record: OperationRecord, *, wake) -> None:
        # Called from whichever thread ended the operation; the guard condition wakes the
        # executor of the awaiting execute coroutine so that it resumes at once.
        if not future.done():
            future.set_result(record)
        wake.trigger()

    def _publish_feedback(self) -> None:
        for active in list(self._active.values()):
            if active.record.done:
                continue
            p = active.record.progress
            feedback = checked_message(active.action_type.Feedback, p.extra, 'feedback',
                                       skip_unknown=True)
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

    def _record_status(self) -> DiagnosticStatus:
        """Return the operation record's /diagnostics status: ERROR while it refuses goals."""
        error = self.store.error
        return DiagnosticStatus(
            level=DiagnosticStatus.ERROR if error else DiagnosticStatus.OK,
            name=f'brain_execution/{self.config.robot_id}/operation_record',
            hardware_id=self.config.robot_id,
            message=error or 'operation record writable',
            values=[KeyValue(key='path', value=self.store.path),
                    KeyValue(key='retention_s', value=str(self.store.retention_s))])

    def _query(self, request, response):
        stamp = self.get_clock().now().to_msg()
        if request.operation_id:
            try:
                record = self.runtime.query(request.operation_id)
            except OperationRecordError as error:
                # "Not found" would claim the robot never saw it; answer that it cannot tell
                # (state UNKNOWN, started assumed), so a caller keeps reconciling.
                response.found = True
                response.operations = [OperationStatus(
                    header=Header(stamp=stamp), operation_id=request.operation_id,
                    robot_id=self.config.robot_id, state=OperationStatus.STATE_UNKNOWN,
                    error_code=int(error.code), error_msg=str(error), retryable=True,
                    started=True)]
                return response
            records = [] if record is None else [record]
        else:
            records = self.runtime.records()
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

    def stop_gracefully(self, executor, *,
                        reason: str = 'robot executor stopping (SIGINT/SIGTERM)') -> None:
        """
        End running goals with SHUTDOWN, command the robot safe and let the results go out.

        Called after the signal while the executor can still spin (``run_node``'s
        ``before_stop``): the ended goals' execute coroutines resume and send their results,
        the tick keeps the platform link alive until the safe command is acknowledged, and
        the outcomes are committed to the operation record; all within shutdown.timeout_s.
        """
        stop_gracefully([self], executor, reason=reason)

    def _begin_stop(self, reason: str):
        """Stop the runtime; return (deadline, is-done predicate) of this robot's stop."""
        handle = self.runtime.stop(reason, safe_action=self.config.shutdown_safe_action)

        def done() -> bool:
            return not self._active and (handle is None or handle.done())

        def report() -> None:
            if not done():
                self.get_logger().error(
                    f'shutdown: {len(self._active)} goal result(s) not sent, safe command '
                    f'{"acknowledged" if handle is None or handle.done() else "not acknowledged"}'
                    f' within shutdown.timeout_s={self.config.shutdown_timeout_s}')
            self.get_logger().info(f'{self.config.robot_id}: stopped ({reason})')

        return time.monotonic() + self.config.shutdown_timeout_s, done, report

    def destroy_node(self) -> None:
        self._emergency.close()
        self.runtime.shutdown()
        for server in self._servers:
            server.destroy()
        super().destroy_node()


def stop_gracefully(nodes: typing.Sequence[RobotExecutorNode], executor, *,
                    reason: str = 'robot executor stopping (SIGINT/SIGTERM)') -> None:
    """
    Stop every robot of one executor together (see :meth:`RobotExecutorNode.stop_gracefully`).

    All runtimes are stopped first and then waited for in one loop, so that a process hosting
    many robots (fleet_sim) stops in the time of its slowest robot, not of their sum.
    """
    stops = [node._begin_stop(reason) for node in nodes]
    deadline = max((d for d, _, _ in stops), default=time.monotonic())
    while executor.context.ok() and time.monotonic() < deadline:
        if all(done() for _, done, _ in stops):
            break
        executor.spin_once(timeout_sec=_SHUTDOWN_SLICE_S)
    # Results were handed to the middleware; a few more slices let the responses leave
    # before the nodes' participants go away.
    linger = time.monotonic() + _SHUTDOWN_LINGER_S
    while executor.context.ok() and time.monotonic() < linger:
        executor.spin_once(timeout_sec=_SHUTDOWN_SLICE_S)
    for _, _, report in stops:
        report()


def main(args=None) -> int:
    """Run one robot executor until interrupted."""
    # Waiting never holds a thread (programs yield, goals await), so two threads serve every
    # action server; a third keeps the tick free while two goals end together.
    return run_node(RobotExecutorNode, name='robot_executor', num_threads=3, args=args,
                    before_stop=RobotExecutorNode.stop_gracefully)


if __name__ == '__main__':
    sys.exit(main())
