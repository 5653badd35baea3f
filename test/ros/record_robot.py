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
A robot executor process restartable on one durable operation record, and its evidence.

Executions are counted from the robot's own reports: the ``operation started`` line its log
has once per program it starts (:func:`program_starts`, across restarts) and the start events
on its ``operation_events`` topic (:class:`Events`). A SIGKILLed robot is restarted on the
same record with the same robot id (:class:`Robot`).
"""

import signal
import threading
import time
import uuid

from brain_execution_interfaces.msg import ErrorCode, OperationStatus
from brain_execution_interfaces.srv import QueryOperation

from .conftest import DISCOVERY_TIMEOUT_S

__all__ = ['ALTITUDE_M', 'Events', 'FAST_CLIMB', 'new_id', 'program_starts', 'query_operation',
           'Robot']

ALTITUDE_M = 8.0
FAST_CLIMB = {'altitude_m': ALTITUDE_M, 'climb_speed_mps': 5.0}


def new_id(tag: str) -> str:
    return f'{tag}-{uuid.uuid4().hex[:10]}'


def program_starts(log: str, operation_id: str) -> int:
    """Programs the robot started for operation_id, from its own log."""
    return sum(1 for line in log.splitlines()
               if 'operation started:' in line and line.rstrip().endswith(f' {operation_id}'))


class Events:
    """The OperationStatus messages of /<robot>/operation_events, across restarts."""

    def __init__(self, ros, robot_id: str):
        self._messages = []
        self._changed = threading.Condition()
        self.topic = f'/{robot_id}/operation_events'
        self._node = ros.node
        self._subscription = ros.node.create_subscription(
            OperationStatus, self.topic, self._on_message, 100)

    def _on_message(self, msg: OperationStatus) -> None:
        with self._changed:
            self._messages.append(msg)
            self._changed.notify_all()

    def wait_connected(self, timeout_s: float = DISCOVERY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while self._node.count_publishers(self.topic) < 1:
            assert time.monotonic() < deadline, f'no publisher on {self.topic}'
            time.sleep(0.05)  # polling the graph: rclpy offers no matched-event wait here

    def starts(self, operation_id: str) -> int:
        with self._changed:
            return sum(1 for m in self._messages if m.operation_id == operation_id
                       and m.started and m.state == OperationStatus.STATE_RUNNING)

    def wait_for(self, predicate, timeout_s: float = 30.0) -> OperationStatus:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for m in self._messages:
                    if predicate(m):
                        return m
                remaining = deadline - time.monotonic()
                assert remaining > 0, f'no matching event on {self.topic}'
                self._changed.wait(remaining)


def query_operation(ros, robot_id: str, operation_id: str, timeout_s: float = 5.0):
    """
    Return the robot's answer about operation_id.

    After a restart the first requests may go to the dead process's endpoints (stale
    discovery), so it asks again with a new client until one answers.
    """
    deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
    while True:
        client = ros.node.create_client(QueryOperation, f'/{robot_id}/query_operation')
        try:
            assert client.wait_for_service(timeout_sec=DISCOVERY_TIMEOUT_S), 'no query service'
            done = threading.Event()
            future = client.call_async(QueryOperation.Request(operation_id=operation_id))
            future.add_done_callback(lambda f: done.set())
            if done.wait(timeout_s):
                return future.result()
        finally:
            ros.node.destroy_client(client)
        assert time.monotonic() < deadline, 'no query response in time'


class Robot:
    """One robot id, its record file and its executor process (restartable)."""

    def __init__(self, start_executor, ros, tmp_path, kind_parameters=None, **parameters):
        self._start = start_executor
        self.ros = ros
        self.robot_id = f'rec_{uuid.uuid4().hex[:6]}'
        self.record_path = str(tmp_path / self.robot_id / 'operations.db')
        self.parameters = {'operation_record.path': self.record_path,
                           **(kind_parameters or {}), **parameters}
        self.logs = []
        self.process = None
        self.events = Events(ros, self.robot_id)
        self.start()

    def start(self):
        self.process = self._start('drone', robot_id=self.robot_id, parameters=self.parameters)
        self.ros.wait_for_servers(self.process, ['takeoff', 'go_to', 'hover', 'capture_image',
                                                 'pickup', 'emergency_stop'])
        self.events.wait_connected()

    def log(self) -> str:
        return ''.join(self.logs) + (self.process.log() if self.process else '')

    def kill(self):
        self.process.process.send_signal(signal.SIGKILL)
        self.process.process.wait(timeout=10.0)
        self.logs.append(self.process.log())
        self.process = None

    def interrupt(self, timeout_s: float = 20.0) -> int:
        self.process.process.send_signal(signal.SIGINT)
        code = self.process.process.wait(timeout=timeout_s)
        self.logs.append(self.process.log())
        self.process = None
        return code

    def take_off(self):
        result = self.ros.run(self.robot_id, 'takeoff', FAST_CLIMB)
        assert result.error_code == ErrorCode.NONE, result.error_msg

    def wait_running(self, operation_id: str):
        state = self.ros.wait_for_state(
            self.robot_id, lambda s: operation_id in s.active_operations, timeout_s=30.0)
        assert state is not None, f'{operation_id} never ran; log:\n{self.log()}'
        return state
