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
The nodes a fleet file starts, described once for the launch files and the runner.

``launch/*.launch.py`` turn each :class:`NodeDescription` into a ``launch_ros.actions.Node``
(:mod:`brain_execution.deploy.launch_nodes`); :mod:`brain_execution.deploy.runner` turns the
same descriptions into command lines, exactly as ``launch_ros`` builds them. Both call the
functions below with the same inputs, so the two paths cannot start different nodes or
parameters (``test/deploy`` checks both).

This module imports neither rclpy nor launch: it can be used, and tested, anywhere.
"""

import dataclasses
import os
import typing

from ament_index_python.packages import get_package_share_directory
from brain_execution.core.fleet_file import (
    Fleet, GeoOrigin, robot_spec, RobotSpec, SimulatorSpec)
from brain_execution.core.state import Platform

__all__ = [
    'LAUNCH_ARGUMENTS',
    'LOG_LEVELS',
    'NodeDescription',
    'config_path',
    'coordinator_parameters',
    'default_journal_path',
    'describe_coordinator',
    'describe_fleet',
    'describe_fleet_sim',
    'describe_robot',
    'describe_rviz',
    'describe_simulation',
    'describe_simulators',
    'fleet_file',
    'parse_flag',
    'robot_from_arguments',
    'robot_parameters',
    'state_directory',
]

PACKAGE = 'brain_execution'
LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
_PLATFORMS = tuple(p.value for p in Platform)
_JOURNAL = ("Coordinator journal (SQLite); empty = the fleet file's, else "
            '$XDG_STATE_HOME/brain_execution/<fleet>/journal.db.')

#: The launch files' arguments: name -> (default or None if required, description, choices).
LAUNCH_ARGUMENTS: typing.Mapping[str, typing.Tuple[typing.Optional[str], str,
                                                   typing.Optional[typing.List[str]]]] = {
    'robot_id': (None, 'Robot name, e.g. drone1.', None),
    'namespace': ('', 'Node namespace; empty = /<robot_id>.', None),
    'platform': (None, 'Vehicle kind.', list(_PLATFORMS)),
    'bridge': ('sim', 'Platform bridge by entry-point name: sim, mavros, nav2, nmea, or a '
                      'bridge of your own.', None),
    'params_file': ('', "Executor parameters file; empty = the package's "
                        'config/<platform>.yaml.', None),
    'fleet': ('', 'Fleet file: robots, simulators, coordinator policies; empty = the '
                  "package's config/fleets/demo.yaml.", None),
    'rviz': ('false', 'Also start RViz with config/brain_execution.rviz.', None),
    'use_sim_time': ('false', 'Follow /clock (Gazebo, SITL, the simulators) instead of wall '
                              'time.', None),
    'log_level': ('info', 'Minimum severity the nodes log.', list(LOG_LEVELS)),
    'respawn': ('false', 'Start a robot executor again when it exits.', None),
    'journal_path': ('', _JOURNAL, None),
    'fleet_sim': ('false', 'Host every robot of the fleet file in one fleet_sim process '
                           '(simulation and benchmarks) instead of one process each.', None),
}


@dataclasses.dataclass(frozen=True)
class NodeDescription:
    """
    One node to start: the fields of a ``launch_ros.actions.Node`` of the same names.

    :param package: Package of the executable.
    :param executable: Executable in ``lib/<package>``.
    :param name: Node name (``-r __node:=``).
    :param namespace: Node namespace (``-r __ns:=``).
    :param parameters: Parameters files (str) and name -> value mappings, applied in order.
    :param arguments: Process arguments before ``--ros-args``.
    :param ros_arguments: Arguments after ``--ros-args`` (e.g. ``--log-level info``).
    :param respawn: Start the process again when it exits.
    :param respawn_delay_s: Seconds to wait before starting it again.
    """

    package: str
    executable: str
    name: str
    namespace: str
    parameters: typing.Tuple[typing.Union[str, typing.Mapping[str, typing.Any]], ...] = ()
    arguments: typing.Tuple[str, ...] = ()
    ros_arguments: typing.Tuple[str, ...] = ()
    respawn: bool = False
    respawn_delay_s: float = 0.0

    @property
    def label(self) -> str:
        """Return the node's full name, for logs: ``/drone1/robot_executor``."""
        return f'{self.namespace.rstrip("/")}/{self.name}'


def config_path(*names: str) -> str:
    """Return the installed path of a file under the package's ``config/`` directory."""
    return os.path.join(get_package_share_directory(PACKAGE), 'config', *names)


def state_directory(environ: typing.Mapping[str, str] = os.environ) -> str:
    """Return the per-user state directory: ``$XDG_STATE_HOME/brain_execution``."""
    base = environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, PACKAGE)


def default_journal_path(fleet_name: str,
                         environ: typing.Mapping[str, str] = os.environ) -> str:
    """Return the default journal of a fleet, under :func:`state_directory`."""
    return os.path.join(state_directory(environ), fleet_name, 'journal.db')


def parse_flag(name: str, text: str) -> bool:
    """
    Return a launch argument's boolean (true/false, 1/0, yes/no).

    :raises ValueError: naming the argument and the accepted values.
    """
    value = str(text).strip().lower()
    if value in ('true', '1', 'yes', 'on'):
        return True
    if value in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f'{name}:={text!r} is not a boolean; use true or false')


def robot_from_arguments(*, robot_id: str, namespace: str = '', platform: str,
                         bridge: str = 'sim', params_file: str = '') -> RobotSpec:
    """
    Return the robot that robot.launch.py's arguments describe.

    :param namespace: '' = ``/<robot_id>``.
    :param params_file: '' = the platform's installed ``config/<platform>.yaml``.
    :raises FleetFileError: an argument is invalid, naming it.
    """
    raw = {'id': robot_id, 'platform': platform, 'bridge': bridge}
    if namespace:
        raw['namespace'] = namespace
    if params_file or platform in _PLATFORMS:
        raw['params_file'] = params_file or config_path(f'{platform}.yaml')
    return robot_spec(raw, source='robot.launch.py', path='arguments')


def _ros_arguments(log_level: str) -> typing.Tuple[str, ...]:
    if log_level not in LOG_LEVELS:
        raise ValueError(f'log_level={log_level!r} is not one of {", ".join(LOG_LEVELS)}')
    return ('--log-level', log_level)


def robot_parameters(robot: RobotSpec, *, use_sim_time: bool = False,
                     map_origin: typing.Optional[GeoOrigin] = None
                     ) -> typing.Dict[str, typing.Any]:
    """Return the executor parameters a robot of a fleet file sets (over its params file)."""
    values: typing.Dict[str, typing.Any] = {
        'robot_id': robot.robot_id,
        'platform': robot.platform.value,
        'bridge': robot.bridge,
        'use_sim_time': bool(use_sim_time),
    }
    if robot.home is not None:
        values['home.latitude_deg'] = robot.home.latitude_deg
        values['home.longitude_deg'] = robot.home.longitude_deg
    values.update(robot.envelope)
    values.update({f'{robot.bridge}.{name}': value
                   for name, value in robot.bridge_settings.items()})
    if map_origin is not None:
        values['views.map_origin.latitude_deg'] = map_origin.latitude_deg
        values['views.map_origin.longitude_deg'] = map_origin.longitude_deg
    return values


def describe_robot(robot: RobotSpec, *, use_sim_time: bool = False, log_level: str = 'info',
                   respawn: bool = False, respawn_delay_s: float = 2.0,
                   map_origin: typing.Optional[GeoOrigin] = None) -> NodeDescription:
    """Return the robot executor node of one robot."""
    files = (robot.params_file,) if robot.params_file else ()
    return NodeDescription(
        package=PACKAGE, executable='robot_executor', name='robot_executor',
        namespace=robot.namespace,
        parameters=files + (robot_parameters(robot, use_sim_time=use_sim_time,
                                             map_origin=map_origin),),
        ros_arguments=_ros_arguments(log_level), respawn=bool(respawn),
        respawn_delay_s=float(respawn_delay_s))


def coordinator_parameters(fleet: Fleet, *, journal_path: str = '',
                           use_sim_time: bool = False) -> typing.Dict[str, typing.Any]:
    """
    Return the coordinator's parameters for a fleet.

    The fleet's robots are given in the coordinator's per-robot form, in fleet file order:
    ``robot_ids``, then ``robots.<id>.platform`` and ``robots.<id>.namespace`` for each,
    so that the coordinator reaches every robot in its namespace (``/site_a/drone1`` too).

    :param journal_path: '' = the fleet file's, else :func:`default_journal_path`.
    """
    values = dict(fleet.coordinator)
    values['robot_ids'] = [r.robot_id for r in fleet.robots]
    for robot in fleet.robots:
        values[f'robots.{robot.robot_id}.platform'] = robot.platform.value
        values[f'robots.{robot.robot_id}.namespace'] = robot.namespace
    values['journal_path'] = journal_path or values.get('journal_path') or ''
    if not values['journal_path']:
        # The per-user default is created here, so that both the launch files and the
        # runner find it in place before the coordinator opens its journal.
        values['journal_path'] = default_journal_path(fleet.name)
        os.makedirs(os.path.dirname(values['journal_path']), exist_ok=True)
    values['use_sim_time'] = bool(use_sim_time)
    return values


def describe_coordinator(fleet: Fleet, *, journal_path: str = '', use_sim_time: bool = False,
                         log_level: str = 'info') -> NodeDescription:
    """Return the coordinator node of a fleet, under ``/execution``."""
    return NodeDescription(
        package=PACKAGE, executable='coordinator', name='coordinator', namespace='/execution',
        parameters=(coordinator_parameters(fleet, journal_path=journal_path,
                                           use_sim_time=use_sim_time),),
        ros_arguments=_ros_arguments(log_level))


def fleet_file(path: str) -> str:
    """Return the fleet file a ``fleet`` launch argument names ('' = the demo fleet)."""
    return path or config_path('fleets', 'demo.yaml')


def describe_fleet_sim(fleet: Fleet, *, use_sim_time: bool = False, log_level: str = 'info',
                       respawn: bool = False, respawn_delay_s: float = 2.0) -> NodeDescription:
    """
    Return one ``fleet_sim`` process hosting every robot of a fleet file.

    fleet_sim builds each robot's parameters with :func:`describe_robot` itself, so its
    robots get what one process per robot would get.

    :raises ValueError: the fleet was not loaded from a file (fleet_sim reads the file).
    """
    if not fleet.source:
        raise ValueError(f'fleet {fleet.name}: fleet_sim needs a fleet file, not text')
    arguments = ('--fleet', fleet.source) + (('--use-sim-time',) if use_sim_time else ())
    return NodeDescription(
        package=PACKAGE, executable='fleet_sim', name='fleet_sim', namespace='/',
        arguments=arguments, ros_arguments=_ros_arguments(log_level), respawn=bool(respawn),
        respawn_delay_s=float(respawn_delay_s))


def describe_fleet(fleet: Fleet, *, use_sim_time: bool = False, log_level: str = 'info',
                   respawn: bool = False, journal_path: str = '',
                   fleet_sim: bool = False) -> typing.List[NodeDescription]:
    """
    Return every robot executor of a fleet, then its coordinator.

    :param fleet_sim: one ``fleet_sim`` process for all robots instead of one each.
    """
    if fleet_sim:
        nodes = [describe_fleet_sim(fleet, use_sim_time=use_sim_time, log_level=log_level,
                                    respawn=respawn)]
    else:
        nodes = [describe_robot(robot, use_sim_time=use_sim_time, log_level=log_level,
                                respawn=respawn, map_origin=fleet.map_origin)
                 for robot in fleet.robots]
    nodes.append(describe_coordinator(fleet, journal_path=journal_path,
                                      use_sim_time=use_sim_time, log_level=log_level))
    return nodes


def _simulator(spec: SimulatorSpec, *, use_sim_time: bool, log_level: str) -> NodeDescription:
    files = (spec.params_file,) if spec.params_file else ()
    values = dict(spec.parameters)
    values.setdefault('use_sim_time', bool(use_sim_time))
    return NodeDescription(
        package=spec.package, executable=spec.executable, name=spec.name,
        namespace=spec.namespace, parameters=files + (values,), arguments=spec.arguments,
        ros_arguments=_ros_arguments(log_level))


def describe_simulators(fleet: Fleet, *, use_sim_time: bool = False,
                        log_level: str = 'info') -> typing.List[NodeDescription]:
    """Return the simulators a fleet file names, in file order."""
    return [_simulator(spec, use_sim_time=use_sim_time, log_level=log_level)
            for spec in fleet.simulators]


def describe_rviz(config: str = '') -> NodeDescription:
    """Return RViz with the package's ``brain_execution.rviz`` (or another config)."""
    return NodeDescription(
        package='rviz2', executable='rviz2', name='rviz2', namespace='/',
        arguments=('-d', config or config_path('brain_execution.rviz')))


def describe_simulation(fleet: Fleet, *, rviz: bool = False, use_sim_time: bool = False,
                        log_level: str = 'info', respawn: bool = False,
                        journal_path: str = '',
                        fleet_sim: bool = False) -> typing.List[NodeDescription]:
    """Return a fleet's simulators, then the fleet, then RViz when asked."""
    nodes = describe_simulators(fleet, use_sim_time=use_sim_time, log_level=log_level)
    nodes += describe_fleet(fleet, use_sim_time=use_sim_time, log_level=log_level,
                            respawn=respawn, journal_path=journal_path, fleet_sim=fleet_sim)
    if rviz:
        nodes.append(describe_rviz())
    return nodes
