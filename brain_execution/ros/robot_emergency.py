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
A robot's emergency actions on a node, executor and thread of their own.

The robot executor's other actions share its executor's threads with the tick and with every
goal in flight; 500 sensing goals arriving at once keep them busy. ``emergency_stop`` and
``emergency_land`` are therefore served by a companion node in the same namespace (so their
names are unchanged, ``/<robot>/emergency_stop``), spun by its own executor on its own
threads, with its own reentrant callback group: a stop never waits for a free worker of the
main node, nor for another stop. The goals reach the runtime through
:meth:`~brain_execution.core.runtime.RobotRuntime.submit_urgent`, which never waits for the
runtime's lock.
"""

import threading
import typing

from rclpy.action import ActionServer
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from .executor import FleetExecutor

__all__ = ['EmergencyServers']

# A stop and a land at the same moment each get a thread.
_THREADS = 2


class EmergencyServers:
    """
    The emergency action servers of one robot, off the main node's executor.

    :param parent: the robot executor node (its name, namespace and context are used).
    :param servers: (name, action type, execute callback, goal callback, cancel callback)
        for each emergency operation of the platform.
    :param server_options: further ``ActionServer`` keyword arguments (QoS, result timeout).
    """

    def __init__(self, *, parent: Node, servers: typing.Sequence[tuple],
                 server_options: typing.Mapping[str, typing.Any]):
        # Global arguments are the main node's (its params file, its __node remap, which
        # would give both nodes one name); the namespace is taken from it as remapped.
        self.node = Node(f'{parent.get_name()}_emergency', namespace=parent.get_namespace(),
                         context=parent.context, use_global_arguments=False,
                         start_parameter_services=False)
        #: Trigger it after completing a future an emergency goal awaits, to wake its executor.
        self.wake = self.node.create_guard_condition(lambda: None)
        group = ReentrantCallbackGroup()
        self._servers = [
            ActionServer(self.node, action_type, name, execute_callback=execute,
                         goal_callback=accept, cancel_callback=cancel, callback_group=group,
                         **server_options)
            for name, action_type, execute, accept, cancel in servers]
        self._executor = FleetExecutor(num_threads=_THREADS, context=parent.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name=f'{self.node.get_name()}',
                                        daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except Exception as error:  # noqa: B902 - logged; the main node decides what next
            if self.node.context.ok():
                self.node.get_logger().error(
                    f'emergency executor ended: {type(error).__name__}: {error}')

    def close(self) -> None:
        """Stop the executor and destroy the servers and the node."""
        self._executor.shutdown()
        self._thread.join(timeout=5.0)
        for server in self._servers:
            server.destroy()
        self.node.destroy_node()
