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
The launch_ros side of the node descriptions: what ``launch/*.launch.py`` hand to ``launch``.

Only the launch files import this module (``launch`` and ``launch_ros`` are not installable
everywhere; the runner needs neither). Every node of a launch file is built here from a
:class:`~brain_execution.deploy.nodes.NodeDescription`, so the launch files and
``fleet_runner`` start the same nodes with the same parameters.
"""

import typing

from launch.actions import DeclareLaunchArgument
from launch.launch_context import LaunchContext
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from .nodes import LAUNCH_ARGUMENTS, NodeDescription, parse_flag

__all__ = ['argument', 'declare_arguments', 'flag', 'launch_node', 'launch_nodes']


def declare_arguments(*names: str) -> typing.List[DeclareLaunchArgument]:
    """Return the declarations of these launch arguments (nodes.LAUNCH_ARGUMENTS)."""
    declared = []
    for name in names:
        default, description, choices = LAUNCH_ARGUMENTS[name]
        options = {'description': description}
        if default is not None:
            options['default_value'] = default
        if choices is not None:
            options['choices'] = choices
        declared.append(DeclareLaunchArgument(name, **options))
    return declared


def launch_node(description: NodeDescription) -> Node:
    """Return the launch_ros Node action of one description."""
    return Node(
        package=description.package,
        executable=description.executable,
        name=description.name,
        namespace=description.namespace,
        parameters=[p if isinstance(p, str) else dict(p) for p in description.parameters],
        arguments=list(description.arguments),
        ros_arguments=list(description.ros_arguments),
        respawn=description.respawn,
        respawn_delay=description.respawn_delay_s,
        output='screen',
        emulate_tty=True,
    )


def launch_nodes(descriptions: typing.Iterable[NodeDescription]) -> typing.List[Node]:
    """Return the Node actions of descriptions, in order."""
    return [launch_node(d) for d in descriptions]


def argument(context: LaunchContext, name: str) -> str:
    """Return a launch argument's value as text."""
    return LaunchConfiguration(name).perform(context)


def flag(context: LaunchContext, name: str) -> bool:
    """Return a boolean launch argument (true/false)."""
    return parse_flag(name, argument(context, name))
