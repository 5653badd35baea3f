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
A bare rclpy action server doing zero work: the floor the benchmarks compare against.

It serves brain_execution_interfaces/action/CaptureImage (the type the executor benchmark
uses) with the same intake QoS and a MultiThreadedExecutor, and ends every goal at once.
"""

import sys

from brain_execution_interfaces.action import CaptureImage
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from ..ros.qos import intake_qos
from ..ros.spin import init_without_signal_handlers, spin_until_signal

__all__ = ['main']


def main(args=None) -> int:
    init_without_signal_handlers(args)
    node = Node('bare_action_server')
    qos = intake_qos(1000)

    def execute(goal_handle):
        goal_handle.succeed()
        return CaptureImage.Result()

    server = ActionServer(
        node, CaptureImage, 'capture_image', execute_callback=execute,
        goal_callback=lambda _: GoalResponse.ACCEPT,
        cancel_callback=lambda _: CancelResponse.ACCEPT,
        callback_group=ReentrantCallbackGroup(),
        goal_service_qos_profile=qos, result_service_qos_profile=qos,
        cancel_service_qos_profile=qos, result_timeout=10)
    executor = MultiThreadedExecutor(num_threads=3)
    executor.add_node(node)
    try:
        spin_until_signal(executor)
    finally:
        executor.shutdown()
        server.destroy()
        node.destroy_node()
    return 0


if __name__ == '__main__':
    sys.exit(main())
