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
Build and set up the platform bridge named by the executor's ``bridge`` parameter.

The bridge is looked up by name in the ``brain_execution.bridges`` entry-point group, so this
module knows no bridge: a robot without a platform's message packages (no MAVROS on a ground
robot) still runs the bridges it has, and a team's own bridge needs no change here.
"""

import typing

from brain_execution.bridges.registry import create_bridge
from brain_execution.core.bridge import BridgeContext, PlatformBridge
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node

from .config import ExecutorConfig, NodeParameters

__all__ = ['make_bridge']


def make_bridge(node: Node, config: ExecutorConfig, *,
                request_tick: typing.Callable[[], None] = lambda: None) -> PlatformBridge:
    """
    Return the configured platform's bridge, its parameters declared and its setup done.

    The bridge gets a mutually exclusive callback group of its own: its callbacks never run
    two at a time (so it needs no lock of its own between them) and never wait behind an
    operation's goal callbacks.

    :param request_tick: what the bridge calls to have the operations advanced soon.
    :raises BridgeUnavailableError: a ValueError naming the bridge and what is missing.
    """
    context = BridgeContext(
        robot_id=config.robot_id,
        platform=config.platform,
        home=config.home,
        envelope=config.envelope,
        parameters=NodeParameters(node, config.bridge),
        request_tick=request_tick,
    )
    bridge = create_bridge(config.bridge, context)
    bridge.setup(node=node, callback_group=MutuallyExclusiveCallbackGroup())
    return bridge
