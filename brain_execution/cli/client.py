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
The coordinator seen from an operator's process: its actions and services under /execution.

:class:`ExecutionClient` wraps the calls the CLI and the demo make. The caller's node must be
spun by an executor in another thread (:func:`session` does that); every method waits on a
condition with a timeout, never on an executor thread. Action-client calls go through
:class:`~brain_execution.bridges.serial_calls.SerialCalls` (rclpy's ActionClient is not
thread-safe).
"""

import contextlib
import threading
import time
import typing
import uuid

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.core.errors import code_name
from brain_execution.core.plan import Plan
from brain_execution.ros.executor import FleetExecutor
from brain_execution.ros.qos import EVENTS_QOS, intake_qos
from brain_execution.ros.service_calls import attempt_waits, call_until_answered
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import CircuitState, OperationStatus, PlanStep, RetryPolicy
from diagnostic_msgs.msg import DiagnosticArray
import rclpy
from rclpy.action import ActionClient
from rclpy.context import Context
from rclpy.node import Node
import yaml

from .progress import StepRow

__all__ = ['CoordinatorUnavailableError', 'ExecutionClient', 'STATE_NAMES', 'goal_from_plan',
           'rows_from_statuses', 'session']

STATE_NAMES = {value: name[len('STATE_'):] for name, value in vars(OperationStatus).items()
               if name.startswith('STATE_')}
_QOS = intake_qos(1000)
# How often a plan's result is asked for again while none has come.
_RESULT_ASK_AGAIN_S = 5.0


class CoordinatorUnavailableError(RuntimeError):
    """Raised when the coordinator's action or service does not answer in time."""


def _yaml(mapping: typing.Mapping[str, typing.Any]) -> str:
    return yaml.safe_dump(dict(mapping), default_flow_style=True).strip() if mapping else ''


def goal_from_plan(plan: Plan) -> ExecutePlan.Goal:
    """Return the ExecutePlan goal of a core plan (a mission file's)."""
    steps = []
    for s in plan.steps:
        r = s.retry
        steps.append(PlanStep(
            step_id=s.step_id, robot_id=s.robot_id, operation=s.operation,
            parameters=_yaml(s.parameters), depends_on=list(s.depends_on),
            operation_id=s.operation_id, priority=s.priority, timeout_s=float(s.timeout_s),
            retry=RetryPolicy(max_attempts=r.max_attempts,
                              initial_backoff_s=float(r.initial_backoff_s),
                              max_backoff_s=float(r.max_backoff_s),
                              multiplier=float(r.multiplier), jitter=float(r.jitter),
                              max_elapsed_s=float(r.max_elapsed_s)),
            safe_to_repeat=s.safe_to_repeat, compensation_operation=s.compensation_operation,
            compensation_parameters=_yaml(s.compensation_parameters)))
    return ExecutePlan.Goal(plan_id=plan.plan_id, steps=steps,
                            max_concurrency=plan.max_concurrency, compensate=plan.compensate,
                            priority=plan.priority, timeout_s=float(plan.timeout_s))


def rows_from_statuses(statuses: typing.Iterable[OperationStatus]) -> typing.List[StepRow]:
    """Return the progress table's rows of OperationStatus messages."""
    return [StepRow(
        step_id=s.step_id, robot_id=s.robot_id, operation=s.operation,
        state=STATE_NAMES.get(s.state, str(s.state)), attempt=int(s.attempt),
        progress=float(s.progress), elapsed_s=float(s.elapsed_s),
        error=f'{code_name(s.error_code)}: {s.error_msg}' if s.error_code else '')
        for s in statuses]


class ExecutionClient:
    """
    Plans, queries and commands to the coordinator.

    :param node: a node spun in another thread.
    :param namespace: the coordinator's namespace.
    :param timeout_s: how long to wait for a server and for each answer.
    """

    def __init__(self, node: Node, *, namespace: str = '/execution', timeout_s: float = 10.0):
        self._node = node
        self._ns = namespace.rstrip('/')
        self.timeout_s = float(timeout_s)
        self._serial = SerialCalls(node)
        self._plans: typing.Optional[ActionClient] = None
        self._clients = {}

    @property
    def node(self) -> Node:
        """Return the node the client uses (a recorder may subscribe on it)."""
        return self._node

    def close(self) -> None:
        """Release the clients."""
        self._serial.destroy()
        if self._plans is not None:
            self._plans.destroy()
        for client in self._clients.values():
            self._node.destroy_client(client)

    def call(self, srv_type, name: str, request, *, resend: bool = True):
        """
        Call ``<namespace>/<name>`` and return its response.

        A request is sent again, with growing waits, while its response is missing and the
        timeout has not passed: DDS drops a response to a client the server has not matched
        yet, which a fresh process meets on a loaded machine. Pass resend=False for a
        request that must not be repeated.

        :raises CoordinatorUnavailableError: no server, or no answer within the timeout.
        """
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self._node.create_client(
                srv_type, f'{self._ns}/{name}', qos_profile=_QOS)
        if not client.wait_for_service(timeout_sec=self.timeout_s):
            raise CoordinatorUnavailableError(
                f'no coordinator service {self._ns}/{name} after {self.timeout_s:g} s')
        response = call_until_answered(client, request, self.timeout_s, resend=resend)
        if response is not None:
            return response
        raise CoordinatorUnavailableError(
            f'{self._ns}/{name} did not answer within {self.timeout_s:g} s')

    def run_plan(self, goal: ExecutePlan.Goal, *, wait: bool = True,
                 on_feedback: typing.Callable[[ExecutePlan.Feedback], None] = None,
                 on_accepted: typing.Callable[[str], None] = None,
                 result_timeout_s: typing.Optional[float] = None,
                 stop: typing.Optional[threading.Event] = None):
        """
        Send a plan; return its result (wait=True), or None once it is accepted.

        :param stop: set it to stop waiting (the plan goes on in the coordinator).
        :raises CoordinatorUnavailableError: no coordinator, no goal response, or (with
            result_timeout_s) no result in time.
        :raises InterruptedError: stop was set before the result came.
        """
        if not goal.plan_id:
            goal.plan_id = f'plan-{uuid.uuid4().hex[:8]}'
        if self._plans is None:
            self._plans = ActionClient(
                self._node, ExecutePlan, f'{self._ns}/execute_plan',
                goal_service_qos_profile=_QOS, result_service_qos_profile=_QOS,
                cancel_service_qos_profile=_QOS)
        if not self._plans.wait_for_server(timeout_sec=self.timeout_s):
            raise CoordinatorUnavailableError(
                f'no coordinator at {self._ns}/execute_plan after {self.timeout_s:g} s')
        accepted, finished = threading.Event(), threading.Event()
        box: typing.Dict[str, typing.Any] = {}
        lock = threading.Lock()

        def on_result(future) -> None:
            with lock:
                box.setdefault('result', future.result().result)
            finished.set()

        def ask_result() -> None:
            self._serial.call(box['handle'].get_result_async).add_done_callback(on_result)

        def on_goal(future) -> None:
            # A resent goal may be answered twice: the first answer is the one followed.
            with lock:
                if 'handle' in box:
                    return
                handle = box['handle'] = future.result()
            accepted.set()
            if on_accepted is not None:
                on_accepted(goal.plan_id)
            if wait and handle.accepted:
                ask_result()

        feedback = (lambda msg: on_feedback(msg.feedback)) if on_feedback else None
        # The plan id is an idempotency key: a goal sent again under it attaches to the plan
        # the first one started, so a goal response lost on the way is safe to ask again for.
        deadline = time.monotonic() + self.timeout_s
        for wait_s in attempt_waits():
            self._serial.call(self._plans.send_goal_async, goal,
                              feedback_callback=feedback).add_done_callback(on_goal)
            if accepted.wait(min(wait_s, max(0.0, deadline - time.monotonic()))):
                break
            if time.monotonic() >= deadline:
                raise CoordinatorUnavailableError(
                    f'{self._ns}/execute_plan did not answer the goal within '
                    f'{self.timeout_s:g} s')
        if not box['handle'].accepted:
            raise CoordinatorUnavailableError(f'{self._ns}/execute_plan rejected the goal')
        if not wait:
            return None
        stop = stop or threading.Event()
        deadline = None if result_timeout_s is None else time.monotonic() + result_timeout_s
        # DDS can drop a service response (see service_calls), a result's too; a result
        # request is safe to repeat: the server answers each one once the plan has ended.
        ask_again = time.monotonic() + _RESULT_ASK_AGAIN_S
        while not finished.wait(0.1):
            now = time.monotonic()
            if stop.is_set():
                raise InterruptedError(goal.plan_id)
            if deadline is not None and now > deadline:
                raise CoordinatorUnavailableError(
                    f'plan {goal.plan_id} did not end within {result_timeout_s:g} s')
            if now >= ask_again:
                ask_again = now + _RESULT_ASK_AGAIN_S
                ask_result()
        return box['result']

    def diagnostics(self) -> DiagnosticArray:
        """Return the coordinator's next /diagnostics array (links, breakers, queue, ...)."""
        box, done = [], threading.Event()

        def on_array(msg: DiagnosticArray) -> None:
            if _from_coordinator(msg) and not done.is_set():
                box.append(msg)
                done.set()

        self._wait_on('/diagnostics', DiagnosticArray, on_array, done)
        return box[0]

    def circuits(self) -> typing.List[CircuitState]:
        """
        Return every circuit the coordinator knows, latest state of each.

        The coordinator publishes every circuit's state just before each /diagnostics
        array, on a volatile topic: a round published before this subscription matched the
        coordinator's publisher is lost to it. Discovery matches each topic on its own, so a
        /diagnostics array heard proves nothing of ``circuit_states``: arrays count only once
        the circuit subscription has matched a publisher. The round published between the
        second and third array counted then was published a period or more after the match,
        whatever the order the two topics are delivered in.
        """
        lock, done = threading.Lock(), threading.Event()
        latest: typing.Dict[typing.Tuple[str, str], CircuitState] = {}
        arrays = [0]

        def on_circuit(msg: CircuitState) -> None:
            with lock:
                latest[(msg.robot_id, msg.operation)] = msg

        circuits = self._node.create_subscription(
            CircuitState, f'{self._ns}/circuit_states', on_circuit, EVENTS_QOS)

        def on_array(msg: DiagnosticArray) -> None:
            if _from_coordinator(msg) and circuits.get_publisher_count() > 0:
                with lock:
                    arrays[0] += 1
                    if arrays[0] >= 3:
                        done.set()

        try:
            self._wait_on('/diagnostics', DiagnosticArray, on_array, done)
        finally:
            self._node.destroy_subscription(circuits)
        with lock:
            return [latest[key] for key in sorted(latest)]

    def _wait_on(self, topic: str, msg_type, callback, done: threading.Event) -> None:
        subscription = self._node.create_subscription(msg_type, topic, callback, 10)
        try:
            if not done.wait(self.timeout_s):
                raise CoordinatorUnavailableError(
                    f'nothing from the coordinator on {topic} within {self.timeout_s:g} s')
        finally:
            self._node.destroy_subscription(subscription)


def _from_coordinator(array: DiagnosticArray) -> bool:
    return any(s.name == 'brain_execution/queue' for s in array.status)


@contextlib.contextmanager
def session(*, timeout_s: float = 10.0, args: typing.Optional[typing.List[str]] = None):
    """Yield an ExecutionClient on a node of its own, spun in a background thread."""
    context = Context()
    rclpy.init(args=args, context=context)
    node = rclpy.create_node(f'brain_execution_cli_{uuid.uuid4().hex[:8]}', context=context)
    executor = FleetExecutor(num_threads=2, context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    client = ExecutionClient(node, timeout_s=timeout_s)
    try:
        yield client
    finally:
        client.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        thread.join(timeout=5.0)
