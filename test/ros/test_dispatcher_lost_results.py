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
ActionDispatcher against a robot that accepts goals and never sends their results.

The robot is faulty on purpose: its capture_image server accepts every goal and never
answers the result request, while its query_operation service says what happened to the
operation (ended SUCCEEDED, or never heard of it), and robot_state keeps the link alive. A
dispatch with no timeout_s must still end, from what the robot answers to the query.
"""

import threading
import uuid

from brain_execution.core.dispatch import DispatchRequest
from brain_execution.core.errors import ErrorCode
from brain_execution.ros.dispatcher import ActionDispatcher
from brain_execution.ros.qos import intake_qos, STATE_QOS
from brain_execution_interfaces.action import CaptureImage
from brain_execution_interfaces.msg import OperationStatus, RobotState
from brain_execution_interfaces.srv import QueryOperation
import pytest
from rclpy.action import ActionServer
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.task import Future

_CHECK_PERIOD_S = 0.5
_WAIT_S = 30.0


class _ResultlessRobot:
    """A robot whose results never arrive; queries answer from ``self.known``."""

    def __init__(self, ros, robot_id: str):
        node = ros.node
        self._ros = ros
        self.robot_id = robot_id
        self.known = {}  # operation_id -> OperationStatus the query answers with
        self.accepted = []
        self._never = Future()  # completed only by close()
        self._running = 0
        self._idle = threading.Condition()
        qos = {f'{kind}_service_qos_profile': intake_qos(100)
               for kind in ('goal', 'result', 'cancel')}
        group = ReentrantCallbackGroup()
        self._node = node
        self._server = ActionServer(node, CaptureImage, f'/{robot_id}/capture_image',
                                    self._execute, callback_group=group, **qos)
        self._query = node.create_service(QueryOperation, f'/{robot_id}/query_operation',
                                          self._answer, callback_group=group)
        self._state_pub = node.create_publisher(RobotState, f'/{robot_id}/robot_state',
                                                STATE_QOS)
        self._timer = node.create_timer(
            0.1, lambda: self._state_pub.publish(RobotState(robot_id=robot_id, link_up=True)),
            callback_group=group)

    async def _execute(self, goal_handle):
        self.accepted.append(goal_handle.request.operation_id)
        with self._idle:
            self._running += 1
        try:
            await self._never  # the result is lost: it never comes
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
        goal_handle.abort()
        return CaptureImage.Result()

    def _answer(self, request, response):
        status = self.known.get(request.operation_id)
        response.found = status is not None
        response.operations = [status] if status is not None else []
        return response

    def close(self) -> None:
        # End the goals still held, so that nothing runs while the test's node goes away.
        self._never.set_result(None)
        self._ros.executor.wake()
        with self._idle:
            assert self._idle.wait_for(lambda: self._running == 0, _WAIT_S)
        self._node.destroy_timer(self._timer)
        self._node.destroy_service(self._query)
        self._node.destroy_publisher(self._state_pub)
        self._server.destroy()


@pytest.fixture
def robot(ros):
    made = _ResultlessRobot(ros, f'resultless_{uuid.uuid4().hex[:6]}')
    yield made
    made.close()


@pytest.fixture
def dispatcher(ros):
    made = ActionDispatcher(ros.node, discovery_timeout_s=_WAIT_S, link_timeout_s=3.0,
                            result_check_period_s=_CHECK_PERIOD_S)
    yield made
    made.close()


def _dispatch(dispatcher, robot, operation_id):
    box, done = {}, threading.Event()

    def on_done(outcome):
        box['outcome'] = outcome
        done.set()

    dispatcher.dispatch(DispatchRequest(robot_id=robot.robot_id, operation='capture_image',
                                        params={'count': 1}, operation_id=operation_id,
                                        timeout_s=0.0), on_done)
    return box, done


def test_a_lost_result_is_taken_from_the_robots_answer(dispatcher, robot):
    operation_id = f'lost_{uuid.uuid4().hex[:6]}'
    robot.known[operation_id] = OperationStatus(
        operation_id=operation_id, robot_id=robot.robot_id, operation='capture_image',
        state=OperationStatus.STATE_SUCCEEDED, elapsed_s=0.2)
    box, done = _dispatch(dispatcher, robot, operation_id)
    assert done.wait(_WAIT_S), 'a dispatch whose result was lost never ended'
    assert robot.accepted == [operation_id]
    outcome = box['outcome']
    assert outcome.code == ErrorCode.NONE, outcome
    assert 'result' in outcome.message and 'query_operation' in outcome.message, outcome


def test_an_operation_the_robot_forgot_ends_outcome_unknown(dispatcher, robot):
    operation_id = f'forgotten_{uuid.uuid4().hex[:6]}'
    box, done = _dispatch(dispatcher, robot, operation_id)
    assert done.wait(_WAIT_S), 'a dispatch the robot no longer knows never ended'
    outcome = box['outcome']
    # Reconciled by the engine (same id), not retried under a new one.
    assert outcome.code == ErrorCode.OUTCOME_UNKNOWN, outcome
    assert not outcome.retryable
    assert operation_id in outcome.message, outcome


def test_a_running_operation_is_left_alone(dispatcher, robot):
    operation_id = f'running_{uuid.uuid4().hex[:6]}'
    robot.known[operation_id] = OperationStatus(
        operation_id=operation_id, robot_id=robot.robot_id, operation='capture_image',
        state=OperationStatus.STATE_RUNNING)
    box, done = _dispatch(dispatcher, robot, operation_id)
    # Several check periods: each query says RUNNING, so the dispatch stays open.
    assert not done.wait(_CHECK_PERIOD_S * 6), box
    robot.known[operation_id] = OperationStatus(
        operation_id=operation_id, robot_id=robot.robot_id, operation='capture_image',
        state=OperationStatus.STATE_FAILED, error_code=ErrorCode.PLATFORM_REJECTED,
        error_msg='camera fault')
    assert done.wait(_WAIT_S)
    assert box['outcome'].code == ErrorCode.PLATFORM_REJECTED
    assert 'camera fault' in box['outcome'].message
