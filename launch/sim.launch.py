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
Launch a fleet in simulation: its protocol simulators, the fleet, and RViz on request.

    ros2 launch brain_execution sim.launch.py rviz:=true
    ros2 launch brain_execution sim.launch.py fleet:=/path/to/my_fleet.yaml use_sim_time:=true

The simulators are the fleet file's ``simulators``; the nodes are described by
``brain_execution.deploy.nodes.describe_simulation``, which ``fleet_runner FILE --sim`` uses.
"""

from brain_execution.core.fleet_file import load_fleet
from brain_execution.deploy.launch_nodes import (
    argument, declare_arguments, flag, launch_nodes)
from brain_execution.deploy.nodes import describe_simulation, fleet_file
from launch import LaunchDescription
from launch.actions import OpaqueFunction


def _simulation(context):
    return launch_nodes(describe_simulation(
        load_fleet(fleet_file(argument(context, 'fleet'))), rviz=flag(context, 'rviz'),
        use_sim_time=flag(context, 'use_sim_time'), log_level=argument(context, 'log_level'),
        respawn=flag(context, 'respawn'), journal_path=argument(context, 'journal_path'),
        fleet_sim=flag(context, 'fleet_sim')))


def generate_launch_description():
    return LaunchDescription([
        *declare_arguments('fleet', 'rviz', 'use_sim_time', 'log_level', 'respawn',
                           'journal_path', 'fleet_sim'),
        OpaqueFunction(function=_simulation),
    ])
