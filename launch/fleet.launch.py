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
Launch every robot executor of a fleet file, and the coordinator.

    ros2 launch brain_execution fleet.launch.py
    ros2 launch brain_execution fleet.launch.py fleet:=/path/to/my_fleet.yaml respawn:=true

Each robot is one ``robot_executor`` in its namespace, the coordinator runs under
``/execution``. The nodes are described by ``brain_execution.deploy.nodes.describe_fleet``,
which ``fleet_runner FILE`` uses too.
"""

from brain_execution.core.fleet_file import load_fleet
from brain_execution.deploy.launch_nodes import (
    argument, declare_arguments, flag, launch_nodes)
from brain_execution.deploy.nodes import describe_fleet, fleet_file
from launch import LaunchDescription
from launch.actions import OpaqueFunction


def _fleet(context):
    return launch_nodes(describe_fleet(
        load_fleet(fleet_file(argument(context, 'fleet'))),
        use_sim_time=flag(context, 'use_sim_time'), log_level=argument(context, 'log_level'),
        respawn=flag(context, 'respawn'), journal_path=argument(context, 'journal_path'),
        fleet_sim=flag(context, 'fleet_sim')))


def generate_launch_description():
    return LaunchDescription([
        *declare_arguments('fleet', 'use_sim_time', 'log_level', 'respawn', 'journal_path',
                           'fleet_sim'),
        OpaqueFunction(function=_fleet),
    ])
