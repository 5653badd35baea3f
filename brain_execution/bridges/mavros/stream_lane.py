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
The setpoint stream's own timer, on a node, executor and thread of its own.

PX4 fails safe one second after its OFFBOARD setpoints stop, and wants them faster than
2 Hz. On the robot executor's executor the bridge's timer shares the worker threads (and the
one thread that waits for work) with every goal's intake, record and result: a burst of
goals queued it behind them. A callback group of its own does not help, since groups only
order callbacks, they do not give them a thread. So the stream runs as the emergency lane
does (:mod:`brain_execution.ros.robot_emergency`): a companion node in the same namespace
with one timer, spun by a single-threaded executor on its own thread. Only the publishing
moves there; the procedures, the supervisor and every service call stay on the bridge's
group, so rclpy's clients are still used from one thread.
"""

import threading
import typing

from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

__all__ = ['StreamLane']


class StreamLane:
    """
    Call ``send`` every ``period_s`` (the parent's clock: sim time when it uses sim time).

    :param parent: the robot executor's node (its name, namespace, context and use_sim_time).
    :param send: publishes one setpoint if one is due; must not block.
    """

    def __init__(self, *, parent: Node, period_s: float, send: typing.Callable[[], None]):
        sim_time = parent.get_parameter('use_sim_time').value
        # Not the global arguments: they are the parent's (its params file, and a __node
        # remap that would give both nodes one name); the namespace is the parent's, remapped.
        self.node = Node(f'{parent.get_name()}_setpoints', namespace=parent.get_namespace(),
                         context=parent.context, use_global_arguments=False,
                         start_parameter_services=False,
                         parameter_overrides=[Parameter('use_sim_time', value=sim_time)])
        self._send = send
        self._failed = False
        self._timer = self.node.create_timer(period_s, self._on_timer)
        self._executor = SingleThreadedExecutor(context=parent.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name=self.node.get_name(),
                                        daemon=True)
        self._thread.start()

    def _on_timer(self) -> None:
        try:
            self._send()
            self._failed = False
        except Exception as error:  # noqa: B902 - one bad period must not end the stream
            if not self._failed:  # once per run of failures, not 20 times a second
                self.node.get_logger().error(
                    f'setpoint stream: {type(error).__name__}: {error}')
            self._failed = True

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except ExternalShutdownException:
            pass

    def close(self) -> None:
        """Stop the timer and the thread, then destroy the node."""
        self._executor.shutdown(timeout_sec=1.0)
        self._thread.join(timeout=2.0)
        self.node.destroy_timer(self._timer)
        self.node.destroy_node()
