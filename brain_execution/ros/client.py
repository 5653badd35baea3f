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

"""Client side of the robot executors' actions, for scripts, the demo and the coordinator."""

import threading
import time
import typing

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.core.catalog import CATALOG
import brain_execution_interfaces.action
from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node

from .conversions import checked_message
from .qos import intake_qos

__all__ = ['OperationClient', 'action_type_of', 'robot_name']


def action_type_of(operation: str):
    """
    Return the action type of an operation name, e.g. ``Takeoff`` for ``'takeoff'``.

    :raises KeyError: the operation is not in the catalog.
    """
    return getattr(brain_execution_interfaces.action, CATALOG[operation].action_type)


def robot_name(robot_id: str, leaf: str,
               namespaces: typing.Optional[typing.Mapping[str, str]] = None) -> str:
    """
    Return the full name of a robot's action, service or topic: ``<namespace>/<leaf>``.

    :param namespaces: robot id -> the namespace its executor runs in (e.g.
        ``/site_a/drone1``); a robot not in it is at ``/<robot_id>``.
    """
    namespace = (namespaces or {}).get(robot_id) or f'/{robot_id}'
    return f'{namespace.rstrip("/")}/{leaf}'


class OperationClient:
    """
    Send operations to robot executors by robot id and operation name.

    Action clients are created once per (robot, operation) and reused; they use the same
    deep intake QoS as the servers, so a burst of goals loses no response. The ``*_async``
    methods may be called from any thread: they run in the clients' callback group (see
    :mod:`brain_execution.bridges.serial_calls`).

    :param node: node owning the action clients; it must be spun by an executor.
    :param intake_queue_depth: depth of the goal, cancel and result service queues.
    :param callback_group: mutually exclusive group of the clients (default: the node's).
    :param namespaces: robot id -> its executor's namespace; default ``/<robot_id>``.
    """

    def __init__(self, node: Node, *, intake_queue_depth: int = 1000,
                 callback_group: typing.Optional[MutuallyExclusiveCallbackGroup] = None,
                 namespaces: typing.Optional[typing.Mapping[str, str]] = None):
        self._node = node
        self._namespaces = dict(namespaces or {})
        self._qos = intake_qos(intake_queue_depth)
        self._clients: typing.Dict[typing.Tuple[str, str], ActionClient] = {}
        self._lock = threading.Lock()
        self._serial = SerialCalls(node, callback_group)
        self.callback_group = self._serial.callback_group

    def name(self, robot_id: str, leaf: str) -> str:
        """Return the full name of a robot's action, service or topic (see robot_name)."""
        return robot_name(robot_id, leaf, self._namespaces)

    def client(self, robot_id: str, operation: str) -> ActionClient:
        """Return the action client of <robot namespace>/<operation>, creating it once."""
        with self._lock:
            key = (robot_id, operation)
            if key not in self._clients:
                self._clients[key] = ActionClient(
                    self._node, action_type_of(operation), self.name(robot_id, operation),
                    callback_group=self.callback_group,
                    goal_service_qos_profile=self._qos,
                    result_service_qos_profile=self._qos,
                    cancel_service_qos_profile=self._qos)
            return self._clients[key]

    def make_goal(self, operation: str, fields: typing.Mapping[str, typing.Any]):
        """Return the Goal message of an operation with the given fields set."""
        return checked_message(action_type_of(operation).Goal, fields, f'{operation} goal')

    def send_goal_async(self, robot_id: str, operation: str,
                        fields: typing.Mapping[str, typing.Any] = None,
                        feedback_callback: typing.Callable = None):
        """Send a goal; return the rclpy future of its goal handle."""
        goal = self.make_goal(operation, fields or {})
        return self._serial.call(self.client(robot_id, operation).send_goal_async,
                                 goal, feedback_callback=feedback_callback)

    def get_result_async(self, goal_handle):
        """Request a goal's result; return the rclpy future of the result response."""
        return self._serial.call(goal_handle.get_result_async)

    def cancel_goal_async(self, goal_handle):
        """Request a goal's cancellation; return the rclpy future of the cancel response."""
        return self._serial.call(goal_handle.cancel_goal_async)

    def wait_for_servers(self, robot_id: str, operations: typing.Iterable[str],
                         timeout_s: float) -> typing.List[str]:
        """Wait up to timeout_s in all for the action servers; return those that did not appear."""
        deadline = time.monotonic() + timeout_s
        return [op for op in operations if not self.client(robot_id, op).wait_for_server(
            timeout_sec=max(0.0, deadline - time.monotonic()))]

    def destroy(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.destroy()
            self._clients.clear()
        self._serial.destroy()
