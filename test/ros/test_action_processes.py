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
Real action round trips between two processes over the middleware.

``action_server_process.py`` runs as a subprocess, started the way ``launch_ros`` starts a
node (``--ros-args -r __ns:=/<namespace>``); the test process talks to it with an
``ActionClient`` on a node of its own ``Context``. Every test gets its own namespace, and the
session its own ROS domain (derived from the pid), so parallel runs do not cross; discovery is
kept on this host.
"""

import math
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
import uuid

from action_msgs.msg import GoalStatus
from action_msgs.srv import CancelGoal
from brain_execution_interfaces.action import Takeoff
from brain_execution_interfaces.msg import ErrorCode
import pytest
import rclpy
from rclpy.action import ActionClient
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

_SERVER_SCRIPT = Path(__file__).resolve().parent / 'action_server_process.py'
# Fast DDS accepts domain ids up to 232; stay in 1..100 and away from the default 0.
_DOMAIN_ID = 1 + os.getpid() % 100
_DISCOVERY_TIMEOUT_S = 30.0
_RESULT_TIMEOUT_S = 15.0
# A first goal response later than this was lost (see Client.send_goal).
_FIRST_RESPONSE_S = 5.0
_STOP_TIMEOUT_S = 10.0
# Simulated climb: 0.02 s of wall time per step, ten times faster than real time.
_SERVER_ARGS = ('--step-s', '0.02', '--time-scale', '10')


class ServerProcess:
    """The action server subprocess and where to reach it."""

    def __init__(self, process, namespace, log_path):
        self.process = process
        self.namespace = namespace
        self.log_path = log_path

    @property
    def action_name(self):
        return '/%s/takeoff' % self.namespace

    def log(self):
        return self.log_path.read_text(encoding='utf-8', errors='replace')

    def stop(self):
        """Send SIGINT, wait with a timeout, then kill; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                # Stacks into the log (faulthandler), for the failure message; then kill.
                self.process.send_signal(signal.SIGUSR1)
                try:
                    self.process.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    pass
                self.process.kill()
                self.process.wait(timeout=_STOP_TIMEOUT_S)
        return self.process.returncode


@pytest.fixture
def server(tmp_path, repo_root):
    namespace = 'be_test_%d_%s' % (os.getpid(), uuid.uuid4().hex[:8])
    env = dict(os.environ)  # the workspace is sourced already
    env.update({
        'ROS_DOMAIN_ID': str(_DOMAIN_ID),
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'PYTHONUNBUFFERED': '1',
    })
    log_path = tmp_path / 'server.log'
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(
            [sys.executable, str(_SERVER_SCRIPT), *_SERVER_ARGS,
             '--ros-args', '-r', '__ns:=/' + namespace],
            cwd=repo_root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, namespace, log_path)
    try:
        yield server
    finally:
        server.stop()


class Client:
    """An ActionClient on a node of its own Context, spun by the test itself."""

    def __init__(self, server):
        self.server = server
        self.context = Context()
        rclpy.init(context=self.context, domain_id=_DOMAIN_ID)
        self.node = rclpy.create_node(
            'takeoff_client_%s' % uuid.uuid4().hex[:8], context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.action_client = ActionClient(self.node, Takeoff, server.action_name)
        self.feedback = []

    def close(self):
        self.action_client.destroy()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def spin_until(self, condition, timeout_s, what):
        """Spin until ``condition()`` holds; fail with the server's log otherwise."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.server.process.poll() is not None:
                pytest.fail('server exited (%s) while waiting for %s:\n%s' % (
                    self.server.process.returncode, what, self.server.log()))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail('no %s within %.0f s; server log:\n%s' % (
                    what, timeout_s, self.server.log()))
            self.executor.spin_once(timeout_sec=min(0.1, remaining))

    def _send(self, goal):
        return self.action_client.send_goal_async(
            goal, feedback_callback=lambda message: self.feedback.append(message.feedback))

    def _spin_for(self, condition, timeout_s) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.1)
        return condition()

    def wait_for_server(self):
        self.spin_until(self.action_client.server_is_ready, _DISCOVERY_TIMEOUT_S,
                        'action server %s' % self.server.action_name)

    def send_goal(self, goal):
        future = self._send(goal)
        if not self._spin_for(future.done, _FIRST_RESPONSE_S):
            # A new client's first request can be answered before the server has discovered
            # the client's response reader; Fast DDS then drops the response ("client will
            # not receive response"). A loaded machine hit this once; the goal is sent again.
            future = self._send(goal)
        self.spin_until(future.done, _RESULT_TIMEOUT_S, 'goal response')
        goal_handle = future.result()
        assert goal_handle.accepted
        return goal_handle

    def result(self, goal_handle):
        future = goal_handle.get_result_async()
        self.spin_until(future.done, _RESULT_TIMEOUT_S, 'result')
        return future.result()


@pytest.fixture
def client(server, monkeypatch):
    # The client's participant reads the discovery range when its context starts.
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    client = Client(server)
    try:
        client.wait_for_server()
        yield client
    finally:
        client.close()


def test_goal_round_trip(client, server):
    operation_id = 'op-%s' % uuid.uuid4().hex
    goal_handle = client.send_goal(
        Takeoff.Goal(altitude_m=5.0, climb_speed_mps=2.5, operation_id=operation_id))
    response = client.result(goal_handle)

    assert response.status == GoalStatus.STATUS_SUCCEEDED
    result = response.result
    assert result.error_code == ErrorCode.NONE
    assert result.error_msg == ''
    assert result.retryable is False
    assert result.altitude_m == pytest.approx(5.0)
    assert result.operation_id == operation_id
    assert 0.0 < result.elapsed_s < _RESULT_TIMEOUT_S

    # 0.5 m per step: ten feedback messages; all of them arrive before the result here,
    # but a late one may be dropped by the middleware, so only ask for several.
    altitudes = [feedback.altitude_m for feedback in client.feedback]
    assert len(altitudes) >= 2, altitudes
    assert altitudes == sorted(set(altitudes)), altitudes
    assert 0.0 < altitudes[0] and altitudes[-1] <= 5.0
    for feedback in client.feedback:
        assert feedback.phase == 'climbing'
        assert feedback.progress == pytest.approx(feedback.altitude_m / 5.0, rel=1e-6)
        assert feedback.distance_remaining_m == pytest.approx(5.0 - feedback.altitude_m)
        assert feedback.eta_s == pytest.approx((5.0 - feedback.altitude_m) / 2.5)

    # The server shuts down cleanly on SIGINT, as under launch.
    assert server.stop() == 0, server.log()


def test_cancel_reaches_the_server(client, server):
    # 0.1 m per step up to 120 m: 24 s if nobody cancels.
    goal_handle = client.send_goal(Takeoff.Goal(altitude_m=120.0, climb_speed_mps=0.5))
    client.spin_until(lambda: client.feedback, _RESULT_TIMEOUT_S, 'feedback')

    cancel_future = goal_handle.cancel_goal_async()
    client.spin_until(cancel_future.done, _RESULT_TIMEOUT_S, 'cancel response')
    cancel = cancel_future.result()
    assert cancel.return_code == CancelGoal.Response.ERROR_NONE
    assert [bytes(g.goal_id.uuid) for g in cancel.goals_canceling] == [
        bytes(goal_handle.goal_id.uuid)]

    response = client.result(goal_handle)
    assert response.status == GoalStatus.STATUS_CANCELED
    result = response.result
    assert result.error_code == ErrorCode.CANCELED
    assert result.error_msg
    assert result.operation_id  # assigned by the server when the goal had none
    last_feedback = client.feedback[-1].altitude_m
    assert last_feedback <= result.altitude_m < 120.0
    assert result.elapsed_s < 12.0  # well before the climb would have ended

    assert server.stop() == 0, server.log()


@pytest.mark.parametrize('goal,field,limits', [
    (Takeoff.Goal(altitude_m=500.0), 'altitude_m', '1..120'),
    (Takeoff.Goal(altitude_m=10.0, climb_speed_mps=math.nan), 'climb_speed_mps', '0.5..5'),
], ids=['altitude_out_of_range', 'climb_speed_nan'])
def test_invalid_goal_ends_with_invalid_parameters(client, goal, field, limits):
    goal_handle = client.send_goal(goal)
    response = client.result(goal_handle)

    assert response.status == GoalStatus.STATUS_ABORTED
    result = response.result
    assert result.error_code == ErrorCode.INVALID_PARAMETERS
    assert field in result.error_msg and limits in result.error_msg, result.error_msg
    assert result.retryable is False
    assert client.feedback == []
