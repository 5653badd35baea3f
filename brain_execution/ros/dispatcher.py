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
The ROS side of :class:`~brain_execution.core.dispatch.Dispatcher`: robot executors' actions.

:class:`ActionDispatcher` sends each dispatch as a goal to ``<namespace>/<operation>``, in the
robot's namespace (``/<robot_id>`` unless the fleet gives another, e.g. ``/site_a/drone1``),
and turns the action result into an :class:`~brain_execution.core.operation.Outcome`. It
never blocks a thread: goals, results, cancels and service calls are asynchronous, and one
watchdog timer on a steady clock ends what would otherwise wait forever (no server, no goal
response, no result, a robot that stopped publishing ``robot_state``).

Each deadline is on the clock it is about, so that ``use_sim_time`` works end to end. The
watchdog itself, discovery, the goal response, service answers and the result lookups are
about communication: steady (wall) clock, so they go on while ``/clock`` is paused. A goal's
own ``timeout_s`` is robot time: node clock. A robot's ``robot_state`` silence (liveness,
``link_timeout_s``, :meth:`ActionDispatcher.link_ages`) is measured by
:class:`~brain_execution.ros.liveness.LinkClock`: without sim time on the steady clock, as
always; under sim time it counts only as far as both the node clock and the steady clock
moved, so a paused ``/clock`` (the robots' timers paused with it) loses no robot, while a
``/clock`` faster than real time still gives DDS ``link_timeout_s`` of wall time.

rclpy's ``ActionClient.send_goal_async`` sends the request before it registers the response
future, without a lock: a response processed in between, on another executor thread, is
dropped ("Ignoring unexpected goal response"). Every goal and cancel request is therefore sent
from a guard-condition callback in the action client's own mutually exclusive callback group,
where the client's responses cannot be processed at the same time.
"""

import collections
import functools
import itertools
import threading
import time
import typing
import uuid

from action_msgs.msg import GoalStatus
from brain_execution.core.dispatch import Dispatcher, DispatchRequest, QueryAnswer
from brain_execution.core.errors import code_name, ErrorCode
from brain_execution.core.operation import OperationState, Outcome
from brain_execution_interfaces.msg import RobotState
from brain_execution_interfaces.srv import CancelOperation, QueryOperation
from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from .client import action_type_of, OperationClient
from .conversions import checked_message, message_to_dict
from .liveness import Instant, LinkClock
from .qos import intake_qos, NO_EVENT_HANDLERS, STATE_QOS

__all__ = ['ActionDispatcher']

# Result fields every action shares; the Outcome carries them as attributes instead.
_COMMON_RESULT_FIELDS = ('error_code', 'error_msg', 'retryable', 'elapsed_s', 'operation_id')
_TERMINAL_STATUSES = {GoalStatus.STATUS_SUCCEEDED: 'SUCCEEDED',
                      GoalStatus.STATUS_ABORTED: 'ABORTED',
                      GoalStatus.STATUS_CANCELED: 'CANCELED'}
# OperationStatus.STATE_* values the runtime's OperationState does not have, mapped onto it.
_EXTRA_STATES = {0: OperationState.PENDING, 3: OperationState.PENDING,
                 7: OperationState.FAILED, 8: OperationState.FAILED,
                 9: OperationState.SUCCEEDED}
_ENDED_STATES = (OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELED)
# While a goal waits for a newly created client to discover its server, it is sent this soon
# after the server appears rather than at the next watchdog round (s).
_DISCOVERY_POLL_S = 0.01
# A server seen ready is taken as ready for this long (s). The check is a graph query under
# the node's lock, the costliest part of a send on a large fleet; a server gone within it
# costs no goal: the goal then gets no response and is reconciled by its operation id.
_READY_TTL_S = 5.0

# Life of one dispatch.
_WAITING = 'waiting for the action server'
_QUEUED = 'queued for sending'
_SENT = 'sent, waiting for the goal response'
_ACTIVE = 'accepted, waiting for the result'
_FAILING = 'failed before sending'


def _failure(message: str, code: int = ErrorCode.COMMUNICATION_FAILURE,
             retryable: bool = True) -> Outcome:
    return Outcome(code=int(code), message=message, retryable=retryable)


def _unknown(message: str) -> Outcome:
    # The goal may have reached the robot, which may be acting on it: not a failure to retry
    # under a new id, but a step for the engine to reconcile by the same id.
    return Outcome(code=int(ErrorCode.OUTCOME_UNKNOWN), message=message, retryable=False)


class _Lane:
    """Requests waiting to be sent from the callback group of the clients they go through."""

    def __init__(self):
        self.items: typing.Deque[tuple] = collections.deque()
        self.guard = None


class _Dispatch:
    """One dispatched goal, from dispatch() until its callback is called."""

    __slots__ = ('token', 'request', 'on_done', 'client', 'lane', 'goal', 'state',
                 'created_mono', 'sent', 'result_deadline_s',
                 'goal_future', 'result_future', 'goal_handle', 'cancel_requested',
                 'failure', 'next_check_mono', 'lookups_ended')

    def __init__(self, token, request, on_done, client, lane, goal):
        self.token = token
        self.request: DispatchRequest = request
        self.on_done = on_done
        self.client: typing.Optional[ActionClient] = client
        self.lane: _Lane = lane
        self.goal = goal
        self.state = _WAITING
        self.created_mono = time.monotonic()
        # When the goal was handed to rclpy (steady and node clock), once it was.
        self.sent: typing.Optional[Instant] = None
        self.result_deadline_s = None
        self.goal_future = None
        self.result_future = None
        self.goal_handle = None
        self.cancel_requested = False
        self.failure: typing.Optional[Outcome] = None
        # Result lookups (query_operation) of an accepted goal: when next, and how many in a
        # row found the operation ended (or unknown) on the robot.
        self.next_check_mono = 0.0
        self.lookups_ended = 0


class _Call:
    """One service call (query or cancel) waiting for its server or its response."""

    __slots__ = ('token', 'client', 'name', 'request', 'on_response', 'on_failure', 'sent',
                 'deadline_mono', 'future')

    def __init__(self, token, client, name, request, on_response, on_failure, deadline_mono):
        self.token = token
        self.client = client
        self.name = name
        self.request = request
        self.on_response = on_response
        self.on_failure = on_failure
        self.sent = False
        self.deadline_mono = deadline_mono
        self.future = None


class ActionDispatcher(Dispatcher):
    """
    Send operations to robot executors as action goals; report every end exactly once.

    The node must be spun by a multi-threaded executor (the caller's); callbacks are called
    from its threads, or from the calling thread in :meth:`close`, and must not block.

    Ends other than the robot's own result. A goal that may have reached the robot ends
    OUTCOME_UNKNOWN (not retryable): the engine reconciles it by the same id, since a new id
    could make the robot act twice. Only a goal that never left ends COMMUNICATION_FAILURE.

    * no action server within ``discovery_timeout_s``: COMMUNICATION_FAILURE (retryable;
      never sent);
    * no goal response within ``goal_response_timeout_s`` of sending: OUTCOME_UNKNOWN;
    * no ``<namespace>/robot_state`` for ``link_timeout_s`` while a goal is out (robot
      executor killed or frozen, link lost): OUTCOME_UNKNOWN, robot executor lost (under
      sim time, seconds on both the node and the steady clock: a paused ``/clock`` pauses
      it; see the module docstring);
    * no result ``result_grace_s`` after the goal's own ``timeout_s`` (node clock; only when
      the request sets one): OUTCOME_UNKNOWN;
    * a result lost on the way: every ``result_check_period_s`` an accepted goal still without
      a result is looked up with the robot's query_operation. Ended there at two lookups in a
      row: it ends with the robot's code and message. Unknown there twice (the executor was
      restarted): OUTCOME_UNKNOWN;
    * a result response without an end (the server no longer knew the accepted goal), or
      one that cannot be read: OUTCOME_UNKNOWN;
    * goal rejected by the server: PLATFORM_REJECTED; bad goal fields: INVALID_PARAMETERS;
      an operation the catalog does not know: UNKNOWN_OPERATION; :meth:`close`: SHUTDOWN.

    :param node: node owning the clients, timers and subscriptions.
    :param operations: action clients to use; None = a new one, destroyed by :meth:`close`.
        Every robot name (actions, ``robot_state``, services) is resolved by its
        :meth:`~brain_execution.ros.client.OperationClient.name`.
    :param namespaces: robot id -> its executor's namespace, for the OperationClient made
        here (default ``/<robot_id>``); give it to ``operations`` instead when passing one.
    :param discovery_timeout_s: how long a goal or service call waits for its server (s).
    :param goal_response_timeout_s: how long a sent goal waits for accept/reject (s).
    :param result_grace_s: margin over a goal's timeout_s before its result counts as lost (s).
    :param link_timeout_s: robot_state silence after which a robot counts as lost (s; under
        sim time on both clocks, see the module docstring).
    :param service_timeout_s: how long a query or cancel call waits for its response (s).
    :param watchdog_period_s: period of the timer checking every deadline (steady clock, s).
    :param result_check_period_s: period of the query_operation lookups of accepted goals
        still waiting for their result (steady clock, s).
    """

    def __init__(self, node: Node, *, operations: typing.Optional[OperationClient] = None,
                 namespaces: typing.Optional[typing.Mapping[str, str]] = None,
                 discovery_timeout_s: float = 10.0, goal_response_timeout_s: float = 10.0,
                 result_grace_s: float = 10.0, link_timeout_s: float = 3.0,
                 service_timeout_s: float = 5.0, watchdog_period_s: float = 0.1,
                 result_check_period_s: float = 10.0):
        for name, value in (('discovery_timeout_s', discovery_timeout_s),
                            ('goal_response_timeout_s', goal_response_timeout_s),
                            ('result_grace_s', result_grace_s),
                            ('link_timeout_s', link_timeout_s),
                            ('service_timeout_s', service_timeout_s),
                            ('watchdog_period_s', watchdog_period_s),
                            ('result_check_period_s', result_check_period_s)):
            if not value > 0.0:
                raise ValueError(f'{name}={value} must be > 0')
        if operations is not None and namespaces is not None:
            # One place resolves robot names, so goals and liveness can never disagree.
            raise ValueError('give namespaces to the OperationClient passed as operations')
        self._node = node
        self._owns_operations = operations is None
        self._operations = operations or OperationClient(node, namespaces=namespaces)
        self._discovery_timeout_s = float(discovery_timeout_s)
        self._goal_response_timeout_s = float(goal_response_timeout_s)
        self._result_check_period_s = float(result_check_period_s)
        self._result_grace_s = float(result_grace_s)
        self._link_timeout_s = float(link_timeout_s)
        self._service_timeout_s = float(service_timeout_s)

        self._lock = threading.Lock()
        self._closed = False
        self._tokens = itertools.count(1)
        self._dispatches: typing.Dict[int, _Dispatch] = {}
        self._by_operation: typing.Dict[typing.Tuple[str, str], typing.Set[int]] = {}
        self._calls: typing.Dict[int, _Call] = {}
        # Liveness: robot id -> when its last robot_state arrived.
        self._links = LinkClock(node.get_clock())
        self._last_state: typing.Dict[str, Instant] = {}
        self._state_subscriptions = {}
        self._state_listeners: typing.List[typing.Callable[[str, RobotState], None]] = []
        self._estop_clients: typing.Dict[str, ActionClient] = {}
        self._query_clients = {}
        self._cancel_clients = {}

        # Goals to OperationClient's action clients are sent from their callback group.
        # Emergency stops have clients and a group of their own, so they never wait behind
        # the other goals' traffic.
        self._lane = _Lane()
        self._lane.guard = node.create_guard_condition(
            functools.partial(self._flush, self._lane),
            callback_group=self._operations.callback_group)
        self._estop_group = MutuallyExclusiveCallbackGroup()
        self._estop_lane = _Lane()
        self._estop_lane.guard = node.create_guard_condition(
            functools.partial(self._flush, self._estop_lane), callback_group=self._estop_group)
        self._aux_group = ReentrantCallbackGroup()
        self._estop_qos = intake_qos(100)
        # Steady time: it must run while /clock is paused, and discovery, goal responses and
        # service answers are wall-time matters even under sim time.
        self._watchdog = node.create_timer(
            watchdog_period_s, self._check, callback_group=MutuallyExclusiveCallbackGroup(),
            clock=Clock(clock_type=ClockType.STEADY_TIME))
        # Runs only while a goal waits for discovery (the first goal of a robot's operation).
        self._discovery_poll = node.create_timer(
            _DISCOVERY_POLL_S, self._poll_discovery,
            callback_group=MutuallyExclusiveCallbackGroup(),
            clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._discovery_poll.cancel()
        # id(client) -> monotonic time until which its server counts as ready.
        self._ready_until: typing.Dict[int, float] = {}

    # --- Dispatcher ----------------------------------------------------------------------

    def dispatch(self, request: DispatchRequest,
                 on_done: typing.Callable[[Outcome], None]) -> None:
        """Send one attempt as a goal; on_done(outcome) is called exactly once."""
        self._submit(request, on_done, emergency=False)

    def emergency_stop(self, robot_id: str, *, reason: str, release: bool,
                       on_done: typing.Callable[[Outcome], None]) -> None:
        """
        Send emergency_stop ahead of anything else, on a client of its own.

        The outcome's result has ``sent_s`` (node clock when the goal was handed to rclpy)
        and, when the robot commanded its platform, ``send_to_command_s`` (command_stamp minus
        sent_s: the latency from this call to the platform command, both on the node clock).
        """
        request = DispatchRequest(robot_id=robot_id, operation='emergency_stop',
                                  params={'reason': reason, 'release': bool(release)},
                                  operation_id=f'estop-{robot_id}-{uuid.uuid4().hex[:12]}',
                                  priority=255)
        self._submit(request, on_done, emergency=True)

    def cancel(self, robot_id: str, operation_id: str) -> None:
        """
        Cancel a dispatched operation; its on_done reports how it ended.

        A goal this dispatcher has out is canceled through its goal handle; one not yet sent
        ends CANCELED here; an id it does not know goes to the robot's ``cancel_operation``.
        """
        unsent, handles = [], []
        with self._lock:
            if self._closed:
                return
            tokens = list(self._by_operation.get((robot_id, operation_id), ()))
            for token in tokens:
                entry = self._dispatches[token]
                if entry.state in (_WAITING, _QUEUED):
                    unsent.append(token)
                elif entry.state == _SENT:
                    entry.cancel_requested = True
                elif entry.state == _ACTIVE and not entry.cancel_requested:
                    entry.cancel_requested = True
                    handles.append(entry)
            for entry in handles:
                entry.lane.items.append(('cancel', entry.goal_handle))
        for entry in handles:
            entry.lane.guard.trigger()
        for token in unsent:
            self._finish(token, Outcome(
                code=ErrorCode.CANCELED, message=f'{operation_id} canceled before it was sent '
                                                 f'to {robot_id}'))
        if tokens:
            return
        self._call_service(robot_id, 'cancel_operation',
                           CancelOperation.Request(operation_id=operation_id),
                           functools.partial(self._on_cancel_response, robot_id, operation_id),
                           functools.partial(self._on_cancel_failure, operation_id))

    def query(self, robot_id: str, operation_id: str,
              on_done: typing.Callable[[typing.Optional[QueryAnswer], typing.Optional[Outcome]],
                                       None]) -> None:
        """Ask the robot's ``query_operation`` about an operation id; see Dispatcher.query."""
        self._call_service(robot_id, 'query_operation',
                           QueryOperation.Request(operation_id=operation_id),
                           functools.partial(self._on_query_response, operation_id, on_done),
                           lambda outcome: on_done(None, outcome))

    def close(self) -> None:
        """End everything in flight with SHUTDOWN and destroy the clients; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            dispatches = list(self._dispatches.values())
            calls = list(self._calls.values())
            self._dispatches.clear()
            self._by_operation.clear()
            self._calls.clear()
            self._lane.items.clear()
            self._estop_lane.items.clear()
        node = self._node
        node.destroy_timer(self._watchdog)
        node.destroy_timer(self._discovery_poll)
        for guard in (self._lane.guard, self._estop_lane.guard):
            node.destroy_guard_condition(guard)
        for subscription in self._state_subscriptions.values():
            node.destroy_subscription(subscription)
        for client in self._estop_clients.values():
            client.destroy()
        for client in list(self._query_clients.values()) + list(self._cancel_clients.values()):
            node.destroy_client(client)
        if self._owns_operations:
            self._operations.destroy()
        for entry in dispatches:
            self._deliver(entry.on_done, _failure(
                f'{entry.request.operation} {entry.request.operation_id} on '
                f'{entry.request.robot_id} ended: dispatcher shut down', ErrorCode.SHUTDOWN))
        for call in calls:
            self._deliver(call.on_failure, _failure(
                f'{call.name}: dispatcher shut down', ErrorCode.SHUTDOWN))

    def watch(self, robot_ids: typing.Iterable[str]) -> None:
        """Follow these robots' state from now on (links, emergency-stop clients ready)."""
        for robot_id in robot_ids:
            self._watch_robot(robot_id)

    def add_state_listener(self, listener: typing.Callable[[str, RobotState], None]) -> None:
        """Call listener(robot_id, msg) with each robot_state received; it must not block."""
        self._state_listeners.append(listener)

    def link_ages(self) -> typing.Dict[str, typing.Optional[float]]:
        """
        Return seconds since each watched robot's last robot_state (None: never seen).

        Seconds of silence as liveness counts them: under sim time, on both clocks.
        """
        now = self._links.now()
        with self._lock:
            return {robot_id: (self._links.silence_s(self._last_state[robot_id], now)
                               if robot_id in self._last_state else None)
                    for robot_id in self._state_subscriptions}

    @property
    def in_flight(self) -> int:
        """Return the number of dispatches whose callback has not been called yet."""
        with self._lock:
            return len(self._dispatches)

    # --- dispatching ---------------------------------------------------------------------

    def _submit(self, request: DispatchRequest, on_done, *, emergency: bool) -> None:
        if self._closed:
            self._deliver(on_done, _failure(
                f'{request.operation} {request.operation_id}: dispatcher is closed',
                ErrorCode.SHUTDOWN))
            return
        robot, operation = request.robot_id, request.operation
        failure, goal, client = None, None, None
        try:
            action_type_of(operation)
        except KeyError:
            failure = _failure(f'unknown operation {operation!r}', ErrorCode.UNKNOWN_OPERATION,
                               retryable=False)
        if failure is None:
            fields = dict(request.params)
            fields.update(operation_id=request.operation_id, priority=request.priority,
                          timeout_s=float(request.timeout_s))
            try:
                goal = checked_message(action_type_of(operation).Goal, fields, operation)
            except (KeyError, TypeError, ValueError) as error:
                failure = _failure(f'{operation} goal for {robot}: {error}',
                                   ErrorCode.INVALID_PARAMETERS, retryable=False)
        if failure is None:
            try:
                self._watch_robot(robot)
                client = (self._estop_client(robot) if emergency
                          else self._operations.client(robot, operation))
            except Exception as error:  # noqa: B902 - rclpy raises several name errors
                failure = _failure(f'cannot address robot {robot!r}: {error}',
                                   ErrorCode.UNKNOWN_ROBOT, retryable=False)
        lane = self._estop_lane if emergency else self._lane
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                entry = _Dispatch(next(self._tokens), request, on_done, client, lane, goal)
                self._dispatches[entry.token] = entry
                self._by_operation.setdefault((robot, request.operation_id),
                                              set()).add(entry.token)
                if failure is not None:
                    # Reported from the executor, never from inside dispatch(): the caller
                    # may hold its own lock while it dispatches.
                    entry.state, entry.failure = _FAILING, failure
                    self._lane.items.append(('fail', entry.token))
        if closed:
            self._deliver(on_done, _failure(f'{operation}: dispatcher is closed',
                                            ErrorCode.SHUTDOWN))
            return
        if failure is not None:
            self._lane.guard.trigger()
            return
        if self._server_ready(client):
            self._queue(entry)
            return
        # Sent once the server appears (polled), or failed by the watchdog.
        with self._lock:
            if not self._closed:
                self._discovery_poll.reset()

    def _server_ready(self, client: ActionClient) -> bool:
        now = time.monotonic()
        if self._ready_until.get(id(client), 0.0) > now:
            return True
        ready = client.server_is_ready()
        if ready:
            # Clients live as long as the dispatcher, so their ids are not reused.
            self._ready_until[id(client)] = now + _READY_TTL_S
        return ready

    def _queue(self, entry: _Dispatch) -> None:
        with self._lock:
            if entry.state != _WAITING or self._dispatches.get(entry.token) is not entry:
                return
            entry.state = _QUEUED
            entry.lane.items.append(('send', entry.token))
        entry.lane.guard.trigger()

    def _flush(self, lane: _Lane) -> None:
        """Send what waits in a lane; runs in the callback group of the lane's clients."""
        while True:
            with self._lock:
                if not lane.items:
                    return
                kind, arg = lane.items.popleft()
            if kind == 'send':
                self._send(arg)
            elif kind == 'cancel':
                arg.cancel_goal_async()
            elif kind == 'result':
                self._request_result(arg)
            elif kind == 'fail':
                with self._lock:
                    entry = self._dispatches.get(arg)
                if entry is not None:
                    self._finish(arg, entry.failure)
            elif kind == 'forget':
                self._forget(*arg)

    def _send(self, token: int) -> None:
        with self._lock:
            entry = self._dispatches.get(token)
            if entry is None or entry.state != _QUEUED:
                return
            # Stamped first: the watchdog reads a sent entry's stamp without the lock.
            entry.sent = self._links.now()
            entry.state = _SENT
        try:
            future = entry.client.send_goal_async(entry.goal)
        except Exception as error:  # noqa: B902 - the dispatch must end with a reason
            self._finish(token, _failure(
                f'sending {entry.request.operation} to {entry.request.robot_id} failed: '
                f'{type(error).__name__}: {error}'))
            return
        with self._lock:
            entry.goal_future = future
        future.add_done_callback(functools.partial(self._on_goal_response, token))

    def _on_goal_response(self, token: int, future) -> None:
        try:
            goal_handle = future.result()
        except Exception as error:  # noqa: B902 - the dispatch must end with a reason
            self._finish(token, _failure(f'goal request failed: {error}'))
            return
        with self._lock:
            entry = self._dispatches.get(token)
            if entry is None:
                return
            if goal_handle.accepted:
                entry.state = _ACTIVE
                entry.goal_handle = goal_handle
                entry.next_check_mono = time.monotonic() + self._result_check_period_s
                if entry.request.timeout_s > 0.0:
                    entry.result_deadline_s = (self._clock_s() + entry.request.timeout_s +
                                               self._result_grace_s)
                cancel = entry.cancel_requested
        request = entry.request
        if not goal_handle.accepted:
            self._finish(token, _failure(
                f'{self._name(request.robot_id, request.operation)} rejected goal '
                f'{request.operation_id!r} without a reason', ErrorCode.PLATFORM_REJECTED,
                retryable=False))
            return
        # rclpy sends a result (or cancel) request before it registers the future that waits
        # for the response; a response handled in between, by another executor thread, is
        # dropped and the dispatch would wait forever. So both are sent from the lane, which
        # runs in the client's callback group, where no response can be handled meanwhile
        # (a done callback of the goal future is not: rclpy runs it as a free task).
        with self._lock:
            if cancel:
                entry.lane.items.append(('cancel', goal_handle))
            entry.lane.items.append(('result', token))
        entry.lane.guard.trigger()

    def _request_result(self, token: int) -> None:
        with self._lock:
            entry = self._dispatches.get(token)
            if entry is None or entry.goal_handle is None:
                return
            goal_handle = entry.goal_handle
        result_future = goal_handle.get_result_async()
        with self._lock:
            entry.result_future = result_future
        result_future.add_done_callback(functools.partial(self._on_result, token))

    def _on_result(self, token: int, future) -> None:
        with self._lock:
            entry = self._dispatches.get(token)
        if entry is None:
            return
        try:
            response = future.result()
            outcome = self._to_outcome(entry, response.status, response.result)
        except Exception as error:  # noqa: B902 - the dispatch must end with a reason
            # The goal was accepted: the robot has it, whatever happened to its result.
            outcome = _unknown(f'result of {entry.request.operation} could not be read: '
                               f'{type(error).__name__}: {error}')
        self._finish(token, outcome)

    def _to_outcome(self, entry: _Dispatch, status: int, result) -> Outcome:
        request = entry.request
        what = f'{request.operation} {request.operation_id} on {request.robot_id}'
        if status not in _TERMINAL_STATUSES:
            # The server no longer knew the accepted goal when asked for its result (rclpy
            # answers STATUS_UNKNOWN, e.g. after its result_timeout): it ran, or runs, on the
            # robot. Retrying it under a new id ran a takeoff twice in the 100-robot bench;
            # the engine reconciles it by this id instead.
            return _unknown(f'{what}: result lost (goal status {status})')
        code = int(result.error_code)
        if code == ErrorCode.NONE and status != GoalStatus.STATUS_SUCCEEDED:
            return _failure(f'{what}: goal ended {_TERMINAL_STATUSES[status]} without an error '
                            f'code', ErrorCode.INTERNAL_ERROR, retryable=False)
        values = message_to_dict(result)
        for name in _COMMON_RESULT_FIELDS:
            values.pop(name, None)
        if request.operation == 'emergency_stop':
            values['sent_s'] = entry.sent.clock_s
            stamp = result.command_stamp
            if stamp.sec or stamp.nanosec:
                values['send_to_command_s'] = (stamp.sec + stamp.nanosec * 1e-9 -
                                               entry.sent.clock_s)
        return Outcome(code=code, message=result.error_msg, retryable=bool(result.retryable),
                       result=values, elapsed_s=float(result.elapsed_s))

    def _finish(self, token: int, outcome: Outcome) -> None:
        """End a dispatch once: the first caller wins, later ones find nothing."""
        with self._lock:
            entry = self._dispatches.pop(token, None)
            if entry is None:
                return
            key = (entry.request.robot_id, entry.request.operation_id)
            tokens = self._by_operation.get(key)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_operation[key]
            # A goal given up on still has a future inside rclpy's client; drop it there too.
            stale = None
            if entry.state == _SENT and entry.goal_future is not None:
                stale = (entry.client, 'goal', entry.goal_future)
            elif entry.state == _ACTIVE and entry.result_future is not None:
                stale = (entry.client, 'result', entry.result_future)
            if stale is not None and not stale[2].done() and not self._closed:
                entry.lane.items.append(('forget', stale))
            else:
                stale = None
        if stale is not None:
            entry.lane.guard.trigger()
        self._deliver(entry.on_done, outcome)

    @staticmethod
    def _forget(client: ActionClient, kind: str, future) -> None:
        remove = getattr(client, f'_remove_pending_{kind}_request', None)
        if remove is not None:
            remove(future)

    def _deliver(self, callback, *args) -> None:
        try:
            callback(*args)
        except Exception as error:  # noqa: B902 - a caller's bug must not stop the others
            self._node.get_logger().error(
                f'dispatcher callback raised {type(error).__name__}: {error}')

    # --- robots, clients -----------------------------------------------------------------

    def _name(self, robot_id: str, leaf: str) -> str:
        return self._operations.name(robot_id, leaf)

    def _clock_s(self) -> float:
        return self._node.get_clock().now().nanoseconds * 1e-9

    def _watch_robot(self, robot_id: str) -> None:
        """Subscribe to the robot's state (liveness) and prepare its emergency-stop client."""
        with self._lock:
            if robot_id in self._state_subscriptions:
                return
            self._state_subscriptions[robot_id] = self._node.create_subscription(
                RobotState, self._name(robot_id, 'robot_state'),
                functools.partial(self._on_state, robot_id), STATE_QOS,
                callback_group=self._aux_group, event_callbacks=NO_EVENT_HANDLERS)
        # Created now so that it is discovered before an emergency needs it.
        self._estop_client(robot_id)

    def _on_state(self, robot_id: str, msg: RobotState) -> None:
        self._last_state[robot_id] = self._links.now()
        for listener in self._state_listeners:
            listener(robot_id, msg)

    def _estop_client(self, robot_id: str) -> ActionClient:
        with self._lock:
            client = self._estop_clients.get(robot_id)
            if client is None:
                client = self._estop_clients[robot_id] = ActionClient(
                    self._node, action_type_of('emergency_stop'),
                    self._name(robot_id, 'emergency_stop'), callback_group=self._estop_group,
                    goal_service_qos_profile=self._estop_qos,
                    result_service_qos_profile=self._estop_qos,
                    cancel_service_qos_profile=self._estop_qos)
            return client

    def _service_client(self, robot_id: str, service: str):
        cache, srv_type = ((self._query_clients, QueryOperation) if service == 'query_operation'
                           else (self._cancel_clients, CancelOperation))
        with self._lock:
            client = cache.get(robot_id)
            if client is None:
                client = cache[robot_id] = self._node.create_client(
                    srv_type, self._name(robot_id, service), callback_group=self._aux_group)
            return client

    # --- service calls -------------------------------------------------------------------

    def _call_service(self, robot_id: str, service: str, request, on_response,
                      on_failure) -> None:
        name = self._name(robot_id, service)
        if self._closed:
            self._deliver(on_failure, _failure(f'{name}: dispatcher is closed',
                                               ErrorCode.SHUTDOWN))
            return
        try:
            client = self._service_client(robot_id, service)
        except Exception as error:  # noqa: B902 - rclpy raises several name errors
            self._deliver(on_failure, _failure(f'cannot address robot {robot_id!r}: {error}',
                                               ErrorCode.UNKNOWN_ROBOT, retryable=False))
            return
        with self._lock:
            call = _Call(next(self._tokens), client, name, request, on_response, on_failure,
                         time.monotonic() + self._discovery_timeout_s)
            self._calls[call.token] = call
        if client.service_is_ready():
            self._send_call(call)

    def _send_call(self, call: _Call) -> None:
        with self._lock:
            if call.sent or self._calls.get(call.token) is not call:
                return
            call.sent = True
            call.deadline_mono = time.monotonic() + self._service_timeout_s
        # rclpy's service Client holds a lock across send and registration: any thread will do.
        future = call.client.call_async(call.request)
        with self._lock:
            call.future = future
        future.add_done_callback(functools.partial(self._on_call_response, call.token))

    def _on_call_response(self, token: int, future) -> None:
        with self._lock:
            call = self._calls.pop(token, None)
        if call is None:
            return
        try:
            response = future.result()
        except Exception as error:  # noqa: B902 - the caller must hear back
            self._deliver(call.on_failure, _failure(f'{call.name} failed: {error}'))
            return
        self._deliver(call.on_response, response)

    def _on_query_response(self, operation_id: str, on_done, response) -> None:
        statuses = [s for s in response.operations if s.operation_id == operation_id]
        if not response.found or not statuses:
            on_done(None, None)
            return
        status = statuses[0]
        try:
            state = OperationState(status.state)
        except ValueError:
            state = _EXTRA_STATES.get(status.state, OperationState.PENDING)
        outcome = None
        if state in _ENDED_STATES:
            outcome = Outcome(code=int(status.error_code), message=status.error_msg,
                              retryable=bool(status.retryable),
                              elapsed_s=float(status.elapsed_s))
        on_done(QueryAnswer(state=state, outcome=outcome, started=bool(status.started)), None)

    def _on_cancel_response(self, robot_id: str, operation_id: str, response) -> None:
        if response.error_code != ErrorCode.NONE:
            self._node.get_logger().info(
                f'cancel of {operation_id} on {robot_id}: {response.error_msg}')

    def _on_cancel_failure(self, operation_id: str, outcome: Outcome) -> None:
        self._node.get_logger().warning(f'cancel of {operation_id}: {outcome.message}')

    # --- watchdog ------------------------------------------------------------------------

    def _poll_discovery(self) -> None:
        """Send the goals whose server appeared; stop polling once none waits."""
        with self._lock:
            waiting = [e for e in self._dispatches.values() if e.state == _WAITING]
            if not waiting and not self._closed:
                self._discovery_poll.cancel()
        self._queue_discovered(waiting)

    def _queue_discovered(self, waiting: typing.List[_Dispatch]) -> typing.List[_Dispatch]:
        """Queue the waiting goals whose server appeared; return the others."""
        ready = {}
        undiscovered = []
        for entry in waiting:
            key = id(entry.client)
            if key not in ready:
                ready[key] = self._server_ready(entry.client)
            if ready[key]:
                self._queue(entry)
            else:
                undiscovered.append(entry)
        return undiscovered

    def _check(self) -> None:
        """Send what found its server; end what waited too long; runs on a steady timer."""
        instant = self._links.now()
        now = instant.mono
        with self._lock:
            if self._closed:
                return
            dispatches = list(self._dispatches.values())
            calls = list(self._calls.values())
        failed = []
        lookups = []
        for entry in self._queue_discovered([e for e in dispatches if e.state == _WAITING]):
            if now - entry.created_mono >= self._discovery_timeout_s:
                failed.append((entry.token, _failure(
                    f'no action server '
                    f'{self._name(entry.request.robot_id, entry.request.operation)} '
                    f'after {self._discovery_timeout_s:g} s')))
        for entry in dispatches:
            request = entry.request
            if entry.state in (_SENT, _ACTIVE):
                lost = self._lost(request.robot_id, entry.sent, instant)
                if lost:
                    failed.append((entry.token, _unknown(lost)))
                elif (entry.state == _SENT and
                      now - entry.sent.mono >= self._goal_response_timeout_s):
                    failed.append((entry.token, _unknown(
                        f'{self._name(request.robot_id, request.operation)} did not answer goal '
                        f'{request.operation_id!r} within {self._goal_response_timeout_s:g} s')))
                elif entry.state == _ACTIVE and entry.result_deadline_s is not None:
                    if instant.clock_s >= entry.result_deadline_s:
                        failed.append((entry.token, _unknown(
                            f'no result of {request.operation} {request.operation_id} from '
                            f'{request.robot_id} within its timeout_s '
                            f'{request.timeout_s:g} s + {self._result_grace_s:g} s')))
                if (entry.state == _ACTIVE and not lost and
                        now >= entry.next_check_mono):
                    entry.next_check_mono = now + self._result_check_period_s
                    lookups.append(entry)
        for token, outcome in failed:
            self._finish(token, outcome)
        for entry in lookups:
            self.query(entry.request.robot_id, entry.request.operation_id,
                       functools.partial(self._on_result_lookup, entry.token))
        for call in calls:
            if not call.sent and call.client.service_is_ready():
                self._send_call(call)
            elif now >= call.deadline_mono:
                with self._lock:
                    if self._calls.pop(call.token, None) is None:
                        continue
                if call.sent:
                    if call.future is not None:
                        call.client.remove_pending_request(call.future)
                    message = (f'no answer from {call.name} within '
                               f'{self._service_timeout_s:g} s')
                else:
                    message = f'no service {call.name} after {self._discovery_timeout_s:g} s'
                self._deliver(call.on_failure, _failure(message))

    def _on_result_lookup(self, token: int, answer: typing.Optional[QueryAnswer],
                          failure: typing.Optional[Outcome]) -> None:
        """End an accepted goal whose result was lost, from what its robot answered."""
        with self._lock:
            entry = self._dispatches.get(token)
            if entry is None or entry.state != _ACTIVE:
                return  # the result arrived meanwhile
            if failure is not None or (answer is not None and answer.outcome is None):
                # Cannot ask (robot liveness decides), or still running: nothing lost.
                entry.lookups_ended = 0
                return
            # One lookup could cross a result in flight; two a period apart cannot.
            entry.lookups_ended += 1
            if entry.lookups_ended < 2:
                return
        request = entry.request
        what = f'{request.operation} {request.operation_id} on {request.robot_id}'
        if answer is None:
            outcome = _unknown(f'{what}: the robot no longer knows the operation (executor '
                               f'restarted?); its result never arrived')
        else:
            ended = answer.outcome
            outcome = Outcome(code=ended.code, retryable=ended.retryable,
                              elapsed_s=ended.elapsed_s,
                              message=(f'{ended.message} (result lost on the way; outcome from '
                                       f'{self._name(request.robot_id, "query_operation")})'
                                       ).lstrip())
        self._node.get_logger().warning(
            f'{what}: result lost; ended {code_name(outcome.code)} from query_operation')
        self._finish(token, outcome)

    def _lost(self, robot_id: str, sent: Instant, now: Instant) -> str:
        """Return why the robot counts as lost, or '' while it is heard from."""
        last = self._last_state.get(robot_id)
        if last is None:
            # Never heard yet: its state topic may still be matching; give it discovery time.
            silence, limit = (self._links.silence_s(sent, now),
                              max(self._link_timeout_s, self._discovery_timeout_s))
        else:
            silence, limit = self._links.silence_s(last.latest(sent), now), self._link_timeout_s
        if silence < limit:
            return ''
        quiet = self._links.silence_s(last if last is not None else sent, now)
        return f'robot executor {robot_id} lost: no robot_state for {quiet:.1f} s'
