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
``fleet_sim``: many simulated robots in one process, for simulation and benchmarks.

    fleet_sim --count 10 --prefix drone                   # /drone1 .. /drone10
    fleet_sim --count 30 --platform mixed --param state_rate_hz=2.0
    fleet_sim --fleet config/fleets/demo.yaml             # a fleet file's robots

Every robot is a full :class:`~brain_execution.ros.robot_executor.RobotExecutorNode`, named
``robot_executor`` in its own namespace, with the parameters a robot of its own process gets
(``--params-file config/<platform>.yaml`` of the package, or the fleet file's params file and
settings), so it serves the same topics, actions, services and parameters. All of them are
spun by one :class:`~brain_execution.ros.executor.FleetExecutor`: waiting never holds a thread
in the executor, so a few threads serve every robot. Arguments after ``--ros-args`` apply to
every robot (``--log-level``, ``--params-file`` with ``/**`` or per-node keys such as
``/drone1/robot_executor``, ``-p``), except the namespace and node-name remappings, which
would put every robot at one name: those are left out, with a note on stderr (``launch_ros``
passes them for every Node action, so a launch file can start fleet_sim). Prints
``fleet_sim: ready <N>`` once every robot exists; SIGINT or SIGTERM stops it cleanly. Exit
status 2 for invalid arguments or parameters.
"""

import argparse
import dataclasses
import sys
import typing

import yaml

from .nodes import describe_robot
from ..core.errors import FleetFileError
from ..core.fleet_file import load_fleet

__all__ = ['FleetSim', 'SimRobot', 'main', 'parse_arguments', 'robots_from_arguments',
           'split_ros_arguments']

_PLATFORMS = ('drone', 'ground', 'surface')
# Remappings that would give every hosted robot the same namespace or node name.
_NAME_REMAPS = ('__ns', '__node', '__name')


@dataclasses.dataclass(frozen=True)
class SimRobot:
    """
    One robot to host: where it lives and what it is told.

    :param namespace: the node's namespace, e.g. ``/drone1``.
    :param params_files: parameters files given to this node alone, in order.
    :param parameters: name -> value, applied over the files.
    :param ros_arguments: ``--ros-args`` arguments of this node, after its files.
    """

    namespace: str
    params_files: typing.Tuple[str, ...] = ()
    parameters: typing.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    ros_arguments: typing.Tuple[str, ...] = ()


def split_ros_arguments(argv: typing.Sequence[str]
                        ) -> typing.Tuple[typing.List[str], typing.List[str]]:
    """
    Return the ``--ros-args`` arguments of argv for every robot, and the name remappings.

    :param argv: the whole command line, program name first.
    :return: (arguments without namespace and node-name remappings, those remappings).
    """
    kept, dropped, inside = [], [], False
    tokens = iter(argv[1:])
    for arg in tokens:
        if arg == '--ros-args':
            inside = True
        elif arg == '--' and inside:
            inside = False
        elif inside and arg in ('-r', '--remap'):
            rule = next(tokens, '')
            # "__ns:=/x" or, for one node, "robot_executor:__ns:=/x".
            target = rule.split(':=', 1)[0].rsplit(':', 1)[-1]
            (dropped if target in _NAME_REMAPS else kept).extend((arg, rule))
        elif inside:
            kept.append(arg)
    return kept, dropped


def _parse_param(text: str) -> typing.Tuple[str, typing.Any]:
    name, sep, value = text.partition('=')
    if not sep or not name:
        raise argparse.ArgumentTypeError(f'{text!r} is not NAME=VALUE')
    return name, yaml.safe_load(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='fleet_sim', description='Host many simulated robot executors in one process.')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--count', type=int, help='number of robots: /<prefix>1 .. /<prefix>N')
    source.add_argument('--fleet', metavar='FILE', help='a fleet file; hosts all its robots')
    parser.add_argument('--prefix', default='robot',
                        help='namespace prefix with --count (default: robot)')
    parser.add_argument('--platform', choices=[*_PLATFORMS, 'mixed'], default='drone',
                        help='platform with --count; mixed cycles drone, ground, surface')
    parser.add_argument('--params-file', action='append', default=[], dest='params_files',
                        metavar='FILE', help='parameters file of every robot with --count '
                        "(default: the package's config/<platform>.yaml)")
    parser.add_argument('--param', type=_parse_param, action='append', default=[],
                        metavar='NAME=VALUE', help='parameter set on every robot, over its '
                        'files (value parsed as YAML)')
    parser.add_argument('--use-sim-time', action='store_true',
                        help='with --fleet: follow /clock (as use_sim_time:=true)')
    parser.add_argument('--threads', type=int, default=4,
                        help='executor threads shared by every robot (default: 4)')
    return parser


def parse_arguments(argv: typing.Sequence[str]) -> argparse.Namespace:
    """
    Parse fleet_sim's own arguments (without ``--ros-args``).

    :raises SystemExit: status 2 with argparse's message, for invalid arguments.
    """
    parser = _parser()
    arguments = parser.parse_args(list(argv))
    if arguments.count is not None and arguments.count < 1:
        parser.error(f'--count {arguments.count}: at least 1 robot')
    if arguments.threads < 1:
        parser.error(f'--threads {arguments.threads}: at least 1 thread')
    return arguments


def robots_from_arguments(arguments: argparse.Namespace,
                          config_file: typing.Callable[[str], str]) -> typing.List[SimRobot]:
    """
    Return the robots that parsed arguments describe.

    :param config_file: returns the installed path of a file in the package's config/.
    :raises FleetFileError: the fleet file is invalid (naming file and key).
    """
    extra = dict(arguments.param)
    if arguments.fleet:
        fleet = load_fleet(arguments.fleet)
        robots = []
        for spec in fleet.robots:
            # The same description the launch files and fleet_runner turn into a process.
            node = describe_robot(spec, use_sim_time=arguments.use_sim_time,
                                  map_origin=fleet.map_origin)
            files = tuple(p for p in node.parameters if isinstance(p, str))
            values = {}
            for mapping in node.parameters:
                if not isinstance(mapping, str):
                    values.update(mapping)
            values.update(extra)
            robots.append(SimRobot(node.namespace, files, values))
        return robots
    robots = []
    for index in range(arguments.count):
        platform = (_PLATFORMS[index % len(_PLATFORMS)] if arguments.platform == 'mixed'
                    else arguments.platform)
        files = tuple(arguments.params_files) or (config_file(f'{platform}.yaml'),)
        robots.append(SimRobot(f'/{arguments.prefix}{index + 1}', files, dict(extra)))
    return robots


class FleetSim:
    """
    Robot executor nodes of many robots on one executor.

    :param robots: the robots to host.
    :param context: the rclpy context (default: the global one).
    :param num_threads: threads of the shared executor.
    :raises ValueError: a robot's parameters are invalid (the nodes made so far are
        destroyed).
    """

    def __init__(self, robots: typing.Sequence[SimRobot], *, context=None,
                 num_threads: int = 4):
        # rclpy only here, so that parsing and --help work without a ROS environment.
        from rclpy.parameter import Parameter

        from ..ros.executor import FleetExecutor
        from ..ros.robot_executor import RobotExecutorNode

        self.executor = FleetExecutor(num_threads=num_threads, context=context)
        self.nodes = []
        try:
            for robot in robots:
                cli_args = ['--ros-args']
                for path in robot.params_files:
                    cli_args += ['--params-file', path]
                cli_args += robot.ros_arguments
                try:
                    # The command line's --ros-args reach each node as its own (without the
                    # name remappings): global ones would rename every robot alike.
                    node = RobotExecutorNode(
                        namespace=robot.namespace, context=context, cli_args=cli_args,
                        use_global_arguments=False,
                        parameter_overrides=[Parameter(name, value=value)
                                             for name, value in robot.parameters.items()])
                except ValueError as error:
                    raise ValueError(f'{robot.namespace}: {error}') from error
                self.nodes.append(node)
                self.executor.add_node(node)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the executor and destroy every node (each ends its operations, holding)."""
        self.executor.shutdown()
        for node in self.nodes:
            node.destroy_node()
        self.nodes = []


def main(argv: typing.Optional[typing.Sequence[str]] = None) -> int:
    """Host the robots until SIGINT or SIGTERM; return the exit status."""
    argv = list(sys.argv if argv is None else argv)
    from rclpy.utilities import remove_ros_args

    arguments = parse_arguments(remove_ros_args(argv)[1:])
    ros_arguments, dropped = split_ros_arguments(argv)
    if dropped:
        print(f'fleet_sim: ignoring {" ".join(dropped)}: each robot keeps its namespace and '
              'the node name robot_executor', file=sys.stderr)
    from ..ros.processes import config_file
    try:
        robots = [dataclasses.replace(robot, ros_arguments=tuple(ros_arguments))
                  for robot in robots_from_arguments(arguments, config_file)]
    except FleetFileError as error:
        print(f'fleet_sim: {error}', file=sys.stderr)
        return 2

    import rclpy

    from ..ros.robot_executor import stop_gracefully
    from ..ros.spin import init_without_signal_handlers, spin_until_signal

    init_without_signal_handlers(argv)
    sim = None
    try:
        sim = FleetSim(robots, num_threads=arguments.threads)
        print(f'fleet_sim: ready {len(sim.nodes)}', flush=True)
        spin_until_signal(sim.executor)
        # As a robot in its own process does: end running goals with SHUTDOWN, command each
        # robot safe and let the results go out while the executor still spins.
        stop_gracefully(sim.nodes, sim.executor)
    except ValueError as error:
        print(f'fleet_sim: {error}', file=sys.stderr)
        return 2
    finally:
        if sim is not None:
            sim.close()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
