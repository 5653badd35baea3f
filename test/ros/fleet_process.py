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
Many robot executors in one process, on one two-thread executor (a load-test helper).

Usage::

    python fleet_process.py COUNT PREFIX [--platform drone|mixed] [--param NAME=VALUE ...]

starts COUNT :class:`~brain_execution.ros.robot_executor.RobotExecutorNode` instances in the
namespaces ``/<PREFIX>_0`` .. ``/<PREFIX>_<COUNT-1>``, with the parameters of
``config/<platform>.yaml`` given as parameter overrides (``mixed`` cycles drone, ground,
surface), all spun by a single two-thread ``FleetExecutor``: the worst case for
an executor whose waits must never hold a thread. ``--param`` adds or replaces a parameter on
every robot (``--param history_size=500``; the value is parsed as YAML). The ROS domain is
``ROS_DOMAIN_ID``. Prints ``ready <COUNT>`` once every node exists; SIGINT stops it cleanly.
"""

import argparse
import sys
import typing

from brain_execution.ros.executor import FleetExecutor
from brain_execution.ros.processes import config_file
from brain_execution.ros.robot_executor import RobotExecutorNode
from brain_execution.ros.spin import init_without_signal_handlers, spin_until_signal
import rclpy
from rclpy.parameter import Parameter
from rclpy.utilities import remove_ros_args
import yaml


def platform_parameters(platform: str) -> typing.Dict[str, typing.Any]:
    """Return the parameters of config/<platform>.yaml, as installed with the package."""
    with open(config_file(f'{platform}.yaml'), encoding='utf-8') as stream:
        return dict(yaml.safe_load(stream)['/**']['ros__parameters'])


_MIXED = ('drone', 'ground', 'surface')


def platform_of(index: int, platform: str) -> str:
    """Return the platform of robot number index (``mixed`` cycles through all three)."""
    return _MIXED[index % len(_MIXED)] if platform == 'mixed' else platform


def overrides(values: typing.Mapping[str, typing.Any]) -> typing.List[Parameter]:
    """Return rclpy parameter overrides for a name -> value mapping."""
    return [Parameter(name, value=value) for name, value in values.items()]


def _parse_param(text: str) -> typing.Tuple[str, typing.Any]:
    name, sep, value = text.partition('=')
    if not sep or not name:
        raise argparse.ArgumentTypeError(f'{text!r} is not NAME=VALUE')
    return name, yaml.safe_load(value)


def _arguments(argv: typing.Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('count', type=int, help='number of robot executors')
    parser.add_argument('prefix', help='namespace prefix: robots are /<prefix>_<i>')
    parser.add_argument('--platform', choices=[*_MIXED, 'mixed'],
                        default='drone')
    parser.add_argument('--param', type=_parse_param, action='append', default=[],
                        metavar='NAME=VALUE', help='parameter set on every robot')
    arguments = parser.parse_args(list(argv))
    if arguments.count < 1:
        parser.error('count must be at least 1')
    return arguments


def main(argv: typing.Sequence[str] = None) -> int:
    """Run the fleet until SIGINT."""
    argv = sys.argv if argv is None else argv
    arguments = _arguments(remove_ros_args(argv)[1:])
    # ROS_DOMAIN_ID from the environment is honoured by rcl itself.
    init_without_signal_handlers(argv)
    nodes = []
    executor = FleetExecutor(num_threads=2)
    try:
        for index in range(arguments.count):
            values = platform_parameters(platform_of(index, arguments.platform))
            values.update(dict(arguments.param))
            node = RobotExecutorNode(namespace=f'/{arguments.prefix}_{index}',
                                     parameter_overrides=overrides(values))
            nodes.append(node)
            executor.add_node(node)
        print(f'ready {len(nodes)}', flush=True)
        spin_until_signal(executor)
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
