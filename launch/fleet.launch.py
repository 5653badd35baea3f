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
Launch robot executors for a mixed fleet on the built-in simulators.

    ros2 launch brain_execution fleet.launch.py
    ros2 launch brain_execution fleet.launch.py use_sim_time:=true

Each robot is one ``robot_executor`` in its own namespace with its platform's parameters file;
the coordinator runs under ``/execution``.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# (namespace, parameters file) of each robot.
FLEET = (
    ('drone1', 'drone.yaml'),
    ('rover1', 'ground.yaml'),
    ('boat1', 'surface.yaml'),
)


def generate_launch_description():
    config_dir = os.path.join(get_package_share_directory('brain_execution'), 'config')
    use_sim_time = LaunchConfiguration('use_sim_time')
    nodes = [
        Node(
            package='brain_execution',
            executable='robot_executor',
            namespace=namespace,
            name='robot_executor',
            parameters=[os.path.join(config_dir, params_file), {'use_sim_time': use_sim_time}],
            output='screen',
            emulate_tty=True,
        )
        for namespace, params_file in FLEET
    ]
    coordinator = Node(
        package='brain_execution',
        executable='coordinator',
        namespace='execution',
        name='coordinator',
        parameters=[os.path.join(config_dir, 'coordinator.yaml'),
                    {'use_sim_time': use_sim_time,
                     'journal_path': LaunchConfiguration('journal_path')}],
        output='screen',
        emulate_tty=True,
    )
    return LaunchDescription([
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='Follow /clock (Gazebo, SITL) instead of wall time.'),
        DeclareLaunchArgument('journal_path', default_value='brain_execution_journal.db',
                              description='Coordinator journal (SQLite); plans resume from it.'),
        *nodes,
        coordinator,
    ])
