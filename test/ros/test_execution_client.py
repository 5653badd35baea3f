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
ExecutionClient against a coordinator stand-in that leaves its first answer out.

DDS drops a response to a client the server has not matched yet, so a fresh CLI process on a
loaded machine can send a goal or a request and never hear back. The client asks again under
the same plan id (an idempotency key) or with the same request; these tests hold the first
answer back past the client's first wait and check that the call still completes, that it
follows one answer only, and that a request marked not to be repeated is sent once.
"""

import threading
import uuid

from brain_execution.cli.client import CoordinatorUnavailableError, ExecutionClient
from brain_execution.ros.executor import FleetExecutor
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.srv import QueryOperation, RetryDeadLetters
import pytest
import rclpy
from rclpy.action import ActionServer, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup


class _SlowFirstCoordinator:
    """execute_plan and two services under a namespace; the first of each answers late."""

    def __init__(self, context, namespace: str, hold_s: float):
        self.node = rclpy.create_node(f'slow_coordinator_{uuid.uuid4().hex[:6]}',
                                      namespace=namespace, context=context)
        self.goals, self.queries, self.retries = [], [], []
        self._hold_s = hold_s
        self._released = threading.Event()
        self._idle = threading.Condition()
        self._holding = 0
        group = ReentrantCallbackGroup()
        self._server = ActionServer(self.node, ExecutePlan, 'execute_plan', self._execute,
                                    goal_callback=self._goal, callback_group=group)
        self.node.create_service(QueryOperation, 'query', self._query, callback_group=group)
        self.node.create_service(RetryDeadLetters, 'retry_dead_letters', self._retry,
                                 callback_group=group)
        self.executor = FleetExecutor(num_threads=4, context=context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _hold_first(self, seen: list, item) -> None:
        seen.append(item)
        if len(seen) == 1:
            # The first answer is late (as good as lost): the client must not wait for it.
            with self._idle:
                self._holding += 1
            self._released.wait(self._hold_s)
            with self._idle:
                self._holding -= 1
                self._idle.notify_all()

    def _goal(self, request) -> GoalResponse:
        self._hold_first(self.goals, request.plan_id)
        return GoalResponse.ACCEPT

    def _execute(self, goal_handle):
        goal_handle.succeed()
        return ExecutePlan.Result(plan_id=goal_handle.request.plan_id, error_code=0)

    def _query(self, request, response):
        self._hold_first(self.queries, request.plan_id)
        response.found = True
        return response

    def _retry(self, request, response):
        self._hold_first(self.retries, list(request.operation_ids))
        response.retried_operation_ids = list(request.operation_ids)
        return response

    def close(self) -> None:
        self._released.set()
        # Let the held answers go out before the node goes away under them.
        with self._idle:
            assert self._idle.wait_for(lambda: self._holding == 0, timeout=5.0)
        self.executor.shutdown()
        self._server.destroy()
        self.node.destroy_node()
        self._thread.join(timeout=5.0)


@pytest.fixture
def slow_coordinator(ros):
    namespace = f'/slow_{uuid.uuid4().hex[:6]}'
    server = _SlowFirstCoordinator(ros.context, namespace, hold_s=3.0)
    client = ExecutionClient(ros.node, namespace=namespace, timeout_s=8.0)
    try:
        yield server, client
    finally:
        client.close()
        server.close()


def test_a_goal_without_an_answer_is_sent_again_under_its_plan_id(slow_coordinator):
    server, client = slow_coordinator
    accepted = []
    result = client.run_plan(ExecutePlan.Goal(plan_id='p-resend'), on_accepted=accepted.append,
                             result_timeout_s=10.0)
    assert result.plan_id == 'p-resend' and result.error_code == 0
    # Sent twice, both under the plan id (the coordinator attaches the second to the first).
    assert server.goals[:2] == ['p-resend', 'p-resend']
    # The late first answer, when it comes, is not followed a second time.
    assert accepted == ['p-resend']


def test_an_unanswered_request_is_sent_again(slow_coordinator):
    server, client = slow_coordinator
    response = client.call(QueryOperation, 'query', QueryOperation.Request(plan_id='p1'))
    assert response.found
    assert server.queries[:2] == ['p1', 'p1']


def test_a_request_marked_not_to_repeat_is_sent_once(slow_coordinator):
    server, client = slow_coordinator
    client.timeout_s = 1.5
    with pytest.raises(CoordinatorUnavailableError, match='did not answer within 1.5 s'):
        client.call(RetryDeadLetters, 'retry_dead_letters',
                    RetryDeadLetters.Request(operation_ids=['a']), resend=False)
    assert server.retries == [['a']]


class _ResultDroppingServer(ActionServer):
    """An execute_plan server that leaves the first result request of each goal unanswered."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result_requests = []

    async def _execute_get_result_request(self, request_header_and_message):
        _, request = request_header_and_message
        goal = bytes(request.goal_id.uuid)
        self.result_requests.append(goal)
        if self.result_requests.count(goal) == 1:
            return  # as a response DDS dropped: the client hears nothing
        await super()._execute_get_result_request(request_header_and_message)


def _succeed(goal_handle):
    goal_handle.succeed()
    return ExecutePlan.Result(plan_id=goal_handle.request.plan_id)


def test_a_plan_result_that_never_came_is_asked_for_again(ros):
    node = rclpy.create_node(f'dropping_coordinator_{uuid.uuid4().hex[:6]}',
                             namespace=f'/drop_{uuid.uuid4().hex[:6]}', context=ros.context)
    server = _ResultDroppingServer(node, ExecutePlan, 'execute_plan', _succeed,
                                   callback_group=ReentrantCallbackGroup())
    executor = FleetExecutor(num_threads=2, context=ros.context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    client = ExecutionClient(ros.node, namespace=node.get_namespace(), timeout_s=8.0)
    try:
        result = client.run_plan(ExecutePlan.Goal(plan_id='p-result'), result_timeout_s=20.0)
        assert result.plan_id == 'p-result'
        # The first request went unanswered; the client asked again and took that answer.
        assert len(server.result_requests) >= 2 and len(set(server.result_requests)) == 1
    finally:
        client.close()
        executor.shutdown()
        server.destroy()
        node.destroy_node()
        thread.join(timeout=5.0)
