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

from glob import glob
import os
import xml.etree.ElementTree as ElementTree

from setuptools import find_packages, setup

package_name = 'brain_execution'
here = os.path.dirname(os.path.abspath(__file__))
# package.xml is the one version source; setup.py reads it instead of repeating it.
version = ElementTree.parse(os.path.join(here, 'package.xml')).getroot().findtext('version')

setup(
    name=package_name,
    version=version,
    packages=find_packages(include=[package_name, package_name + '.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml') + glob('config/*.rviz')),
        ('share/' + package_name + '/config/fleets', glob('config/fleets/*.yaml')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='brain_execution maintainers',
    maintainer_email='maintainers@brain-execution.invalid',
    description='Execution layer for heterogeneous robot fleets.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'robot_executor = brain_execution.ros.robot_executor:main',
            'coordinator = brain_execution.ros.coordinator:main',
            'sim_nmea_autopilot = brain_execution.sim.nmea_autopilot.main:main',
            'sim_nav2 = brain_execution.sim.nav2.node:main',
            'sim_mavros = brain_execution.sim.mavros.node:main',
            'fleet_runner = brain_execution.deploy.runner:main',
            'fleet_sim = brain_execution.deploy.fleet_sim:main',
            'brain-execution = brain_execution.cli.commands:main',
        ],
        # Platform bridges by the name the executor's `bridge` parameter gives; other
        # packages add theirs to the same group (see brain_execution/bridges/registry.py).
        'brain_execution.bridges': [
            'sim = brain_execution.sim.plugin:create_bridge',
            'nmea = brain_execution.bridges.nmea:create_bridge',
            'nav2 = brain_execution.bridges.nav2:create_bridge',
            'mavros = brain_execution.bridges.mavros:create_bridge',
        ],
        # `ros2 execution <verb>` (ros2cli's extension points; see ros2execution/).
        'ros2cli.command': [
            'execution = brain_execution.ros2execution.command:ExecutionCommand',
        ],
        'ros2cli.extension_point': [
            'brain_execution.verb = brain_execution.ros2execution.verb:VerbExtension',
        ],
        'brain_execution.verb': [
            'run = brain_execution.ros2execution.verb:RunVerb',
            'status = brain_execution.ros2execution.verb:StatusVerb',
            'cancel = brain_execution.ros2execution.verb:CancelVerb',
            'dead-letters = brain_execution.ros2execution.verb:DeadLettersVerb',
            'estop = brain_execution.ros2execution.verb:EstopVerb',
            'circuits = brain_execution.ros2execution.verb:CircuitsVerb',
            'report = brain_execution.ros2execution.verb:ReportVerb',
        ],
    },
)
