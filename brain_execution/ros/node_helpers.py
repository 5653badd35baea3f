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

"""Small helpers both nodes share: the node clock in seconds and the core's log callback."""

from rclpy.node import Node

__all__ = ['log_at', 'now_s']


def now_s(node: Node) -> float:
    """Return the node clock in seconds (sim time when use_sim_time is set)."""
    return node.get_clock().now().nanoseconds * 1e-9


def log_at(node: Node, level: str, message: str) -> None:
    """Log a core message ('debug', 'info', 'warn' or 'error') on the node's logger."""
    # One call site per severity: rclpy refuses a call site whose severity changes.
    logger = node.get_logger()
    if level == 'error':
        logger.error(message)
    elif level == 'warn':
        logger.warning(message)
    elif level == 'info':
        logger.info(message)
    else:
        logger.debug(message)
