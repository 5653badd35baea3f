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
The coordinator node: fleet plans and single operations through the execution policies.

Run it as ``ros2 run brain_execution coordinator --ros-args --params-file
config/coordinator.yaml``; it lives under ``/execution`` unless remapped.

The fleet is given by ``robots`` (``"robot_id:platform"``, at ``/<robot_id>``) and/or
``robot_ids`` with ``robots.<id>.platform`` and ``robots.<id>.namespace`` (any namespace, e.g.
``/site_a/drone1``); see :mod:`~brain_execution.ros.fleet_parameters`. Every name of a robot
(its actions, ``robot_state``, ``query_operation``, ``cancel_operation``, ``emergency_stop``,
``geofence``) is resolved in its namespace.
"""

import functools
import json
import random
import sys
import typing

from brain_execution.core.coordination import Coordinator, CoordinatorListener, PlanHandle
from brain_execution.core.errors import code_name, ErrorCode, ExecutionError
from brain_execution.core.journal import Journal
from brain_execution.core.metrics import CoordinatorMetrics
from brain_execution.core.plan import parse_parameters
from brain_execution.core.reconcile import Reconciler
from brain_execution.core.retry import RetryDefaults
from brain_execution.core.scheduler import PlanOutcome, StepState
from brain_execution.core.tracing import Tracer
from brain_execution_interfaces.action import ExecuteOperation, ExecutePlan
from brain_execution_interfaces.msg import CircuitState, DeadLetter, OperationStatus
from brain_execution_interfaces.srv import (
    CancelOperation, ListDeadLetters, PurgeDeadLetters, QueryOperation, ResetCircuit,
    RetryDeadLetters)
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.task import Future

from .admissions import Admissions
from .config import declare_all
from .coordinator_messages import (
    circuit_msg, dead_letter_msg, plan_from_goal, retry_from_msg, status_msg, steps_msgs)
from .diagnostics import build_diagnostics
from .dispatcher import ActionDispatcher
from .emergency_lane import EmergencyLane
from .fleet_markers import FleetMarkers
from .fleet_parameters import declare_fleet
from .goal_guard import guard_callback, guard_execute
from .node_helpers import log_at, now_s
from .qos import EVENTS_QOS, intake_qos
from .spin import run_node

__all__ = ['CoordinatorNode', 'main']

# Goals admitted by the goal callback whose execute callback has not taken them yet. Only a
# goal whose answer could not be sent (its client gone) is never taken; the bound keeps
# those from piling up, far above what a burst holds between the two callbacks.
_MAX_ADMITTED = 100000

# name, default, description, (lo, hi) or None. All read-only. The fleet's own (robots,
# robot_ids, robots.<id>.*) are in fleet_parameters.
_PARAMETERS = (
    ('journal_path', '', 'SQLite journal file; empty = in memory (no resume after a restart).',
     None),
    ('max_concurrency', 16, 'Steps running at once over all plans.', (1, 10000)),
    ('max_per_robot', 1, 'Steps running at once on one robot.', (1, 100)),
    ('max_pending_steps', 10000, 'Unfinished steps held before intake answers BUSY.',
     (1, 1000000)),
    ('retry.max_attempts', 3, 'Default attempts per step, first included.', (1, 20)),
    ('retry.initial_backoff_s', 1.0, 'Default first back-off, s.', (0.01, 600.0)),
    ('retry.max_backoff_s', 60.0, 'Default back-off ceiling, s.', (0.01, 3600.0)),
    ('retry.multiplier', 2.0, 'Default back-off growth factor.', (1.0, 10.0)),
    ('retry.jitter', 0.2, 'Default back-off spread, fraction.', (0.0, 1.0)),
    ('breaker.failure_threshold', 5, 'Failures in a row that open a circuit.', (1, 1000)),
    ('breaker.reset_timeout_s', 30.0, 'Seconds an open circuit fails fast before a probe.',
     (0.1, 86400.0)),
    ('link_timeout_s', 3.0, 'Seconds without robot_state after which a robot counts as lost.',
     (0.5, 600.0)),
    ('discovery_timeout_s', 10.0, 'Seconds to wait for a robot action server.', (0.5, 600.0)),
    ('reconcile_deadline_s', 120.0, 'Seconds a step whose outcome is unknown (RECONCILING) '
     'waits for its robot to answer about its id before it ends OUTCOME_UNKNOWN as a dead '
     'letter; never re-sent under a new id.', (1.0, 86400.0)),
    ('reconcile_interval_s', 2.0, 'Seconds between questions to a robot that could not be '
     'asked about a RECONCILING step.', (0.1, 600.0)),
    ('journal.retention_s', 86400.0, 'Ended plans and dead letters older than this are pruned '
     'from the journal, s.', (1.0, 31536000.0)),
    ('journal.prune_period_s', 600.0, 'Period of the journal pruning timer, s.',
     (1.0, 86400.0)),
    ('tick_rate_hz', 20.0, 'Rate at which ready steps and retries start, Hz.', (1.0, 200.0)),
    ('diagnostics_rate_hz', 1.0, 'Rate of /diagnostics and circuit states, Hz.', (0.1, 50.0)),
    ('feedback_rate_hz', 2.0, 'Rate of plan feedback, Hz.', (0.5, 50.0)),
    ('intake_queue_depth', 1000, 'Depth of the action and service queues.', (10, 100000)),
    # rclpy republishes the status of every goal it still holds on each goal transition,
    # so at 80 goals/s its default of 900 s made each publish (and each client's parse)
    # carry tens of thousands of entries. Results stay queryable through the query service.
    ('result_timeout_s', 30, 'Seconds an ended goal keeps its result for late clients.',
     (1, 86400)),
    ('metrics_port', 0, 'TCP port of the Prometheus endpoint on metrics_address; 0 = off.',
     (0, 65535)),
    ('metrics_address', '127.0.0.1', 'Address the Prometheus endpoint listens on.', None),
    ('tracing_exporter', 'none', 'OpenTelemetry span exporter: none or console.', None),
    ('emergency.ack_timeout_s', 1.0, 'Seconds a reachable robot may take to acknowledge an '
     'emergency stop before the call lists it as unreachable and answers.', (0.05, 60.0)),
    ('emergency.resend_period_s', 1.0, 'Seconds between re-sends of an emergency stop to a '
     'robot that has not acknowledged it.', (0.05, 60.0)),
    ('fault_injection.raise_in', Parameter.Type.STRING_ARRAY, 'Test hook: actions '
     '(execute_plan, execute_operation) whose goals raise before they are submitted (they '
     'must still end INTERNAL_ERROR); never set in the field.', None),
)


class _Goal(typing.NamedTuple):
    goal_handle: typing.Any
    handle: PlanHandle


class CoordinatorNode(Node, CoordinatorListener):
    """
    Run fleet plans on the robot executors, with retries, breakers and a journal.

    Actions: ``execute_plan`` (ExecutePlan), ``execute_operation`` (ExecuteOperation).
    Services: ``cancel``, ``query``, ``list_dead_letters``, ``retry_dead_letters``,
    ``purge_dead_letters``, ``reset_circuit``, ``emergency_stop``.
    Topics: ``events`` (OperationStatus, every step change), ``dead_letters`` (DeadLetter),
    ``circuit_states`` (CircuitState), ``/diagnostics`` (DiagnosticArray).

    ROS Parameters: see ``_PARAMETERS`` and ``FLEET_PARAMETERS`` (and ``ros2 param
    describe``): robots, robot_ids, robots.<id>.platform, robots.<id>.namespace (the fleet,
    see :mod:`~brain_execution.ros.fleet_parameters`), journal_path, max_concurrency,
    max_per_robot, max_pending_steps, retry.*, breaker.*, link_timeout_s, discovery_timeout_s,
    reconcile_deadline_s, reconcile_interval_s, journal.retention_s, journal.prune_period_s,
    tick_rate_hz, diagnostics_rate_hz, feedback_rate_hz, intake_queue_depth, emergency.*,
    fault_injection.raise_in. All read-only; ``use_sim_time`` is honoured. ``emergency_stop``
    is served by a companion node, ``coordinator_emergency``, on a thread of its own (see
    :mod:`~brain_execution.ros.emergency_lane`).
    """

    def __init__(self, *, node_name: str = 'coordinator', **kwargs):
        kwargs.setdefault('namespace', '/execution')
        Node.__init__(self, node_name, **kwargs)
        v = declare_all(self, _PARAMETERS)
        #: Robot id -> its FleetRobot (id, platform, namespace).
        self.fleet = declare_fleet(self)
        self.robots = {r.robot_id: r.platform for r in self.fleet.values()}
        namespaces = {r.robot_id: r.namespace for r in self.fleet.values()}
        self._dispatcher = ActionDispatcher(self, link_timeout_s=v['link_timeout_s'],
                                            discovery_timeout_s=v['discovery_timeout_s'],
                                            namespaces=namespaces)
        # Every robot is followed from the start: its link shows in /diagnostics, and its
        # emergency-stop client is discovered before it is needed.
        self._dispatcher.watch(self.robots)
        # /execution/markers: robots from their states, targets from the dispatched goals.
        self._markers = FleetMarkers(self, self.robots, namespaces=namespaces)
        self._dispatcher.add_state_listener(self._markers.robot_state)
        self._link_timeout_s = v['link_timeout_s']
        self._max_pending_steps = v['max_pending_steps']
        self._journal = Journal(v['journal_path'], clock=self._now) if v['journal_path'] else None
        if self._journal is None:
            self.get_logger().warning('journal_path is empty: plans will not survive a restart')
        self.metrics = CoordinatorMetrics()
        if v['metrics_port']:
            self.metrics.serve(v['metrics_port'], v['metrics_address'])
        self._tracer = Tracer.from_config(v['tracing_exporter'])
        # Open spans of running plans and steps; bounded by what is running.
        self._spans: typing.Dict[typing.Tuple[str, str], typing.Any] = {}
        self._events_pub = self.create_publisher(OperationStatus, 'events', EVENTS_QOS)
        self._dead_pub = self.create_publisher(DeadLetter, 'dead_letters', EVENTS_QOS)
        self._circuit_pub = self.create_publisher(CircuitState, 'circuit_states', EVENTS_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.engine = Coordinator(
            robots=self.robots, dispatcher=self._markers.observe(self._dispatcher),
            journal=self._journal, clock=self._now, rng=random.Random(),
            max_concurrency=v['max_concurrency'], max_per_robot=v['max_per_robot'],
            max_pending_steps=v['max_pending_steps'],
            retry_defaults=RetryDefaults(
                max_attempts=v['retry.max_attempts'],
                initial_backoff_s=v['retry.initial_backoff_s'],
                max_backoff_s=v['retry.max_backoff_s'], multiplier=v['retry.multiplier'],
                jitter=v['retry.jitter']),
            failure_threshold=v['breaker.failure_threshold'],
            reset_timeout_s=v['breaker.reset_timeout_s'],
            reconciler=Reconciler(deadline_s=v['reconcile_deadline_s'],
                                  interval_s=min(v['reconcile_interval_s'],
                                                 v['reconcile_deadline_s'])),
            listener=self, logger=self._log)
        self._retention_s = v['journal.retention_s']
        self._goals: typing.Dict[bytes, _Goal] = {}
        # What each goal callback submitted (a plan handle, or the refusal raised), until its
        # execute callback takes it.
        self._admissions = Admissions(limit=_MAX_ADMITTED, on_dropped=lambda: self.get_logger(
            ).warning(f'admission of an unanswered goal dropped (more than {_MAX_ADMITTED} '
                      'pending); it is submitted again if it runs'))
        self._wake = self.create_guard_condition(lambda: None)

        loop = MutuallyExclusiveCallbackGroup()
        self.create_timer(1.0 / v['tick_rate_hz'], self.engine.tick, callback_group=loop)
        self.create_timer(1.0 / v['diagnostics_rate_hz'], self._publish_diagnostics,
                          callback_group=loop)
        self.create_timer(1.0 / v['feedback_rate_hz'], self._publish_feedback,
                          callback_group=loop)
        if self._journal is not None:
            self.create_timer(v['journal.prune_period_s'], self._prune_journal,
                              callback_group=loop)
        qos = intake_qos(v['intake_queue_depth'])
        self._raise_in = frozenset(v['fault_injection.raise_in'])
        logger = self.get_logger()
        servers = {'cancel_callback': guard_callback(
                       self._cancel_goal, fallback=CancelResponse.REJECT, logger=logger,
                       what='cancel callback'),
                   'goal_service_qos_profile': qos,
                   'result_service_qos_profile': qos, 'cancel_service_qos_profile': qos,
                   'result_timeout': v['result_timeout_s']}
        self._servers = [
            ActionServer(self, action_type, name, guard_execute(
                execute, action_type=action_type, logger=logger, what=name),
                goal_callback=guard_callback(
                    functools.partial(self._admit_goal, name, submit),
                    fallback=GoalResponse.ACCEPT, logger=logger, what=f'{name} goal callback'),
                callback_group=ReentrantCallbackGroup(), **servers)
            for action_type, name, execute, submit in (
                (ExecutePlan, 'execute_plan', self._execute_plan, self._submit_plan),
                (ExecuteOperation, 'execute_operation', self._execute_operation,
                 self._submit_operation))]
        services = ReentrantCallbackGroup()
        for srv_type, name, callback in (
                (CancelOperation, 'cancel', self._cancel_service),
                (QueryOperation, 'query', self._query_service),
                (ListDeadLetters, 'list_dead_letters', self._list_dead_letters),
                (RetryDeadLetters, 'retry_dead_letters', self._retry_dead_letters),
                (PurgeDeadLetters, 'purge_dead_letters', self._purge_dead_letters),
                (ResetCircuit, 'reset_circuit', self._reset_circuit)):
            self.create_service(srv_type, name, callback, callback_group=services,
                                qos_profile=qos)
        # Its own node, thread and clients: never behind another call, the engine's lock
        # or a journal commit.
        self._emergency = EmergencyLane(
            parent=self, robots=list(self.robots), hold=self.engine.hold,
            release=self.engine.release_hold, ack_timeout_s=v['emergency.ack_timeout_s'],
            resend_period_s=v['emergency.resend_period_s'],
            link_timeout_s=v['link_timeout_s'], logger=self._log, namespaces=namespaces)
        resumed = self.engine.resume()
        self.get_logger().info(
            'coordinating ' + ', '.join(f'{r.robot_id}:{r.platform.value} at {r.namespace}'
                                        for r in self.fleet.values())
            + f'; resumed {len(resumed)} plan(s)')

    # --- helpers -------------------------------------------------------------------------

    def _now(self) -> float:
        return now_s(self)

    def _log(self, level: str, message: str) -> None:
        log_at(self, level, message)

    async def _until_done(self, handle: PlanHandle) -> PlanOutcome:
        future = Future()

        def resolve(outcome: PlanOutcome) -> None:
            if not future.done():
                future.set_result(outcome)
            self._wake.trigger()

        handle.add_done_callback(resolve)
        return await future

    # --- events (CoordinatorListener) ----------------------------------------------------

    def step_changed(self, plan_id, status) -> None:
        now = self._now()
        self._events_pub.publish(status_msg(plan_id, status, now=now))
        self._markers.step_changed(plan_id, status)
        key = (plan_id, status.step_id)
        if status.state == StepState.RUNNING and key not in self._spans:
            self._spans[key] = self._tracer.start_span(
                f'{status.robot_id}/{status.operation}', {
                    'plan_id': plan_id, 'step_id': status.step_id,
                    'operation_id': status.operation_id, 'robot_id': status.robot_id,
                    'operation': status.operation},
                parent=self._spans.get((plan_id, '')))
        elif status.state == StepState.RETRYING:
            self.metrics.record_retry(status.robot_id, status.operation)
        elif status.ended_s is not None:
            if status.attempt:
                self.metrics.record_operation(status.robot_id, status.operation,
                                              code_name(status.code), status.elapsed_s(now))
            span = self._spans.pop(key, None)
            if span is not None:
                span.end(code_name(status.code), status.message)

    def plan_finished(self, plan_id, outcome) -> None:
        span = self._spans.pop((plan_id, ''), None)
        if span is not None:
            span.end(code_name(outcome.code), outcome.message)

    def dead_letter_added(self, record) -> None:
        self._dead_pub.publish(dead_letter_msg(record))

    def circuit_changed(self, info) -> None:
        self._circuit_pub.publish(circuit_msg(info, now=self._now()))

    def journal_changed(self, fault: str) -> None:
        # At once, not at the next diagnostics period: an operator must see it now.
        self._publish_diagnostics()

    def _prune_journal(self) -> None:
        try:
            removed = self._journal.prune_older_than(self._now() - self._retention_s)
        except (ExecutionError, ValueError) as error:
            self.engine.note_journal_failure('pruning', error)
            return
        if any(removed.values()):
            self.get_logger().info(
                f'journal pruned (older than {self._retention_s:g} s): '
                + ', '.join(f'{count} {kind}' for kind, count in sorted(removed.items())))

    # --- actions -------------------------------------------------------------------------

    def _admit_goal(self, name: str, submit: typing.Callable[[typing.Any], PlanHandle],
                    goal) -> GoalResponse:
        """
        Submit a goal's plan before the goal is answered: "accepted" means journaled.

        The engine journals and commits a plan before submit returns, so a coordinator
        killed right after the answer resumes the plan on restart instead of having lost
        a goal it accepted. A refusal is answered ACCEPT too, and the execute callback ends
        the goal with its code and reason (a bare REJECT would tell the caller nothing).
        """
        if name in self._raise_in:
            # The injected fault is raised before the submit, in the execute callback.
            return GoalResponse.ACCEPT
        if name == 'execute_operation' and not goal.operation_id:
            # Named once, here: should the goal be submitted again (its admission evicted),
            # it attaches to this operation instead of running a second one.
            goal.operation_id = f'{goal.robot_id}-{random.getrandbits(64):016x}'
        try:
            admitted = submit(goal)
        except Exception as error:  # noqa: B902 - raised again by the execute callback
            admitted = error
        self._admissions.put(goal, admitted)
        return GoalResponse.ACCEPT

    def _take_admitted(self, goal, submit: typing.Callable[[typing.Any], PlanHandle]
                       ) -> PlanHandle:
        """Return the handle the goal callback admitted (raise its refusal), else submit."""
        admitted = self._admissions.get(goal)
        self._admissions.discard(goal)
        if admitted is None:
            # Not admitted (fault injection, an admission dropped): submitting is
            # idempotent by plan and operation id.
            return submit(goal)
        if isinstance(admitted, Exception):
            raise admitted
        return admitted

    def _submit_plan(self, goal) -> PlanHandle:
        return self.engine.submit_plan(plan_from_goal(goal))

    def _submit_operation(self, goal) -> PlanHandle:
        return self.engine.submit_operation(
            goal.robot_id, goal.operation, parse_parameters(goal.parameters),
            operation_id=goal.operation_id, priority=goal.priority, timeout_s=goal.timeout_s,
            retry=retry_from_msg(goal.retry), safe_to_repeat=goal.safe_to_repeat)

    def _cancel_goal(self, goal_handle) -> CancelResponse:
        goal = self._goals.get(bytes(goal_handle.goal_id.uuid))
        if goal is not None:
            self.engine.cancel(plan_id=goal.handle.plan_id)
        # Without a handle yet, the execute callback sees the request and cancels at once.
        return CancelResponse.ACCEPT

    async def _run_goal(self, goal_handle, submit: typing.Callable[[typing.Any], PlanHandle],
                        result):
        key = bytes(goal_handle.goal_id.uuid)
        name = ('execute_plan' if isinstance(goal_handle.request, ExecutePlan.Goal)
                else 'execute_operation')
        if name in self._raise_in:
            raise RuntimeError(f'fault injected into {name} (fault_injection.raise_in)')
        try:
            handle = self._take_admitted(goal_handle.request, submit)
        except ExecutionError as error:
            result.error_code, result.error_msg = int(error.code), str(error)
            result.retryable = error.retryable
            goal_handle.abort()
            return result, None
        self._goals[key] = _Goal(goal_handle, handle)
        if not handle.done and (handle.plan_id, '') not in self._spans:
            self._spans[(handle.plan_id, '')] = self._tracer.start_span(
                'plan', {'plan_id': handle.plan_id})
        try:
            if goal_handle.is_cancel_requested:
                self.engine.cancel(plan_id=handle.plan_id)
            outcome = await self._until_done(handle)
        finally:
            self._goals.pop(key, None)
        result.error_code, result.error_msg = int(outcome.code), outcome.message
        result.retryable = bool(outcome.retryable)
        result.elapsed_s = max(0.0, (outcome.ended_s or 0.0) - (outcome.accepted_s or 0.0))
        if outcome.succeeded:
            goal_handle.succeed()
        elif outcome.code == ErrorCode.CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return result, handle

    async def _execute_plan(self, goal_handle):
        result = ExecutePlan.Result(plan_id=goal_handle.request.plan_id)
        result, handle = await self._run_goal(goal_handle, self._submit_plan, result)
        if handle is not None:
            result.plan_id = handle.plan_id
            result.steps = steps_msgs(handle.plan_id, handle.snapshot(), self._now())
        return result

    async def _execute_operation(self, goal_handle):
        result, handle = await self._run_goal(goal_handle, self._submit_operation,
                                              ExecuteOperation.Result())
        if handle is not None:
            steps = handle.snapshot()
            if steps:
                result.operation_id = steps[0].operation_id
                result.attempts = int(steps[0].attempt)
                result.robot_result = self._robot_result(steps[0].operation_id)
        return result

    def _robot_result(self, operation_id: str) -> str:
        if self._journal is None:
            return ''
        record = self._journal.operation(operation_id)
        if record is None or record.result in (None, ''):
            return ''
        return json.dumps(record.result, sort_keys=True)

    def _publish_feedback(self) -> None:
        now = self._now()
        for goal in list(self._goals.values()):
            steps = goal.handle.snapshot()
            ended = sum(1 for s in steps if s.ended_s is not None)
            if isinstance(goal.goal_handle.request, ExecutePlan.Goal):
                feedback = ExecutePlan.Feedback(
                    progress=ended / len(steps) if steps else 0.0,
                    steps=steps_msgs(goal.handle.plan_id, steps, now))
            else:
                if not steps:
                    continue
                feedback = ExecuteOperation.Feedback(
                    status=status_msg(goal.handle.plan_id, steps[0], now=now))
            goal.goal_handle.publish_feedback(feedback)

    # --- services ------------------------------------------------------------------------

    def _cancel_service(self, request, response):
        if bool(request.operation_id) == bool(request.plan_id):
            response.error_code = ErrorCode.INVALID_PARAMETERS
            response.error_msg = 'set exactly one of operation_id and plan_id'
            return response
        canceled = self.engine.cancel(plan_id=request.plan_id,
                                      operation_id=request.operation_id)
        response.canceled_operation_ids = list(canceled)
        if not canceled:
            response.error_code = ErrorCode.PRECONDITION_FAILED
            response.error_msg = (f'nothing running under plan_id={request.plan_id!r} '
                                  f'operation_id={request.operation_id!r}')
        return response

    def _query_service(self, request, response):
        now = self._now()
        if request.operation_id:
            statuses = self.engine.query(operation_id=request.operation_id)
            response.operations = [status_msg('', s, now=now) for s in statuses]
        elif request.plan_id:
            response.operations = steps_msgs(
                request.plan_id, self.engine.query(plan_id=request.plan_id), now)
        response.found = bool(response.operations)
        return response

    def _list_dead_letters(self, request, response):
        records = self.engine.dead_letters(request.robot_id, request.max_entries,
                                           request.offset)
        response.dead_letters = [dead_letter_msg(r) for r in records]
        response.total = self.engine.dead_letter_count(request.robot_id)
        return response

    def _retry_dead_letters(self, request, response):
        try:
            handles = self.engine.retry_dead_letters(list(request.operation_ids))
        except ExecutionError as error:
            response.error_code, response.error_msg = int(error.code), str(error)
            return response
        response.retried_operation_ids = [
            s.operation_id for h in handles for s in h.snapshot()]
        return response

    def _purge_dead_letters(self, request, response):
        try:
            response.purged = self.engine.purge_dead_letters(list(request.operation_ids),
                                                             all=request.all)
        except (ExecutionError, ValueError) as error:
            response.error_code = int(getattr(error, 'code', ErrorCode.INVALID_PARAMETERS))
            response.error_msg = str(error)
        return response

    def _reset_circuit(self, request, response):
        self.engine.reset_circuit(request.robot_id, request.operation)
        now = self._now()
        response.circuits = [circuit_msg(info, now=now) for info in self.engine.circuit_states()
                             if request.robot_id in ('', info.robot_id)]
        return response

    # --- diagnostics ---------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        stats = self.engine.stats()
        circuits = self.engine.circuit_states()
        now = self._now()
        for info in circuits:
            self._circuit_pub.publish(circuit_msg(info, now=now))
            self.metrics.set_breaker(info.robot_id, info.operation, int(info.state))
        self.metrics.set_queue(stats['pending_steps'], stats['running'], stats['plans_active'])
        self.metrics.set_dead_letters(stats['dead_letters'])
        if stats['journal'] is not None:
            self.metrics.set_journal_latency(stats['journal'].get('last_commit_latency_s', 0.0))
            stats['journal']['fault'] = stats['journal_fault']
        robots = {robot_id: {'link_up': age is not None and age <= self._link_timeout_s,
                             'last_seen_s': age}
                  for robot_id, age in self._dispatcher.link_ages().items()}
        self._diag_pub.publish(build_diagnostics({
            'robots': robots,
            'breakers': circuits,
            'queue': {'pending': stats['pending_steps'], 'running': stats['running'],
                      'limit': self._max_pending_steps},
            'journal': stats['journal'],
            'dead_letters': stats['dead_letters'],
        }, stamp=self.get_clock().now().to_msg()))

    def destroy_node(self) -> None:
        # Before the dispatcher drops its goals: in-flight steps are journaled RECONCILING
        # (not failed) and the robots' goals are left running, for a restart to reconcile.
        self.engine.shutdown()
        self._emergency.close()
        for server in self._servers:
            server.destroy()
        self._dispatcher.close()
        if self._journal is not None:
            self._journal.close()
        self.metrics.close()
        self._tracer.shutdown()
        super().destroy_node()


def main(args=None) -> int:
    """Run the coordinator until interrupted."""
    return run_node(CoordinatorNode, name='coordinator', num_threads=4, args=args)


if __name__ == '__main__':
    sys.exit(main())
