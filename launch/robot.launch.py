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
Launch one robot executor.

    ros2 launch brain_execution robot.launch.py robot_id:=drone1 platform:=drone
    ros2 launch brain_execution robot.launch.py robot_id:=rover1 platform:=ground \
        bridge:=nav2 params_file:=/path/to/rover1.yaml respawn:=true

The node is described by ``brain_execution.deploy.nodes.describe_robot``, the code
``fleet.launch.py`` and ``fleet_runner`` use for each robot of a fleet file; the arguments
and their descriptions are ``brain_execution.deploy.nodes.LAUNCH_ARGUMENTS``.
"""

from brain_execution.deploy.launch_nodes import (
    argument, declare_arguments, flag, launch_nodes)
from brain_execution.deploy.nodes import describe_robot, robot_from_arguments
from launch import LaunchDescription
from launch.actions import OpaqueFunction


def _robot(context):
    robot = robot_from_arguments(
        robot_id=argument(context, 'robot_id'), namespace=argument(context, 'namespace'),
        platform=argument(context, 'platform'), bridge=argument(context, 'bridge'),
        params_file=argument(context, 'params_file'))
    return launch_nodes([describe_robot(
        robot, use_sim_time=flag(context, 'use_sim_time'),
        log_level=argument(context, 'log_level'), respawn=flag(context, 'respawn'))])


def generate_launch_description():
    return LaunchDescription([
        *declare_arguments('robot_id', 'namespace', 'platform', 'bridge', 'params_file',
                           'use_sim_time', 'log_level', 'respawn'),
        OpaqueFunction(function=_robot),
    ])
