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
Fleet files: the robots, the simulators and the coordinator's policies in one YAML file.

:func:`load_fleet` reads and validates a fleet file (``config/fleets/*.yaml``); the launch
files and the launch-free runner turn the result into nodes (:mod:`brain_execution.deploy`).
Every problem found is reported at once, each as ``<file>: <key path>: <problem>``::

    name: demo                        # fleet name: journal file name, log prefix
    map_origin: {latitude_deg: 47.3977, longitude_deg: 8.5456}   # optional: origin of the
                                      # shared "map" frame; default = the first robot's home
    robots:
      - id: drone1                    # robot id: the coordinator's name for it
        namespace: /drone1            # optional; default /<id>; e.g. /site_a/drone1: the
                                      # executor runs, and the coordinator reaches it, there
        platform: drone               # drone, ground or surface
        bridge: sim                   # a bridge name, or {name: sim, settings: {...}}: the
                                      # settings become the executor's <bridge>.* parameters
        params_file: drone.yaml       # optional; relative to this file; applied before the
                                      # values below
        home: {latitude_deg: 47.3977, longitude_deg: 8.5456}
        envelope:                     # executor parameters of the same names
          geofence: {polygon_xy: [-200, -200, 200, -200, 200, 200], altitude_ceiling_m: 100}
          limits: {max_speed_mps: 12.0, cruise_speed_mps: 5.0}
          battery: {min_takeoff_percent: 30, min_departure_percent: 25,
                    return_home_percent: 25, auto_return_home: true}
          payload: {max_mass_kg: 2.0}
    simulators:                       # started only in simulation (sim.launch.py, --sim)
      - name: sim_mavros_drone1       # node name, unique
        executable: sim_mavros        # console script of package (default brain_execution)
        package: brain_execution
        namespace: /drone1            # optional; default /
        arguments: []                 # process arguments before --ros-args
        parameters: {}                # ROS parameters (nested mappings join with '.')
        params_file: sim.yaml         # optional; relative to this file
    coordinator:                      # the coordinator's parameters of the same names
      max_concurrency: 16
      retry: {max_attempts: 3, initial_backoff_s: 1.0}
      breaker: {failure_threshold: 5}

Numbers of the envelope, home and coordinator are checked against the ranges the nodes
declare, and converted to the parameter's type (``100`` for a float parameter is 100.0).
Bridge settings and simulator parameters are passed as written: ROS parameter types follow
YAML, so write ``95.0`` for a float parameter, as in a ROS parameters file.
"""

import dataclasses
import difflib
import math
import os
import re
import types
import typing

import yaml

from .errors import FleetFileError
from .state import Platform

__all__ = [
    'COORDINATOR_POLICIES',
    'ENVELOPE_PARAMETERS',
    'Fleet',
    'GeoOrigin',
    'RobotSpec',
    'SimulatorSpec',
    'load_fleet',
    'robot_spec',
]

_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
_NAMESPACE = re.compile(r'^(/[A-Za-z][A-Za-z0-9_]*)+$')
_PACKAGE = re.compile(r'^[a-z][a-z0-9_]*$')
_MAX_FILE_CHARS = 4 << 20

# Parameter name -> bool, str, (int lo, int hi) or (float lo, float hi): what the robot
# executor declares (brain_execution/ros/config.py); a test keeps the two in step.
ENVELOPE_PARAMETERS: typing.Mapping[str, typing.Any] = types.MappingProxyType({
    'geofence.polygon_xy': 'polygon',
    'geofence.altitude_ceiling_m': (1.0, 10000.0),
    'limits.max_speed_mps': (0.1, 100.0),
    'limits.cruise_speed_mps': (0.1, 100.0),
    'battery.min_takeoff_percent': (0.0, 100.0),
    'battery.min_departure_percent': (0.0, 100.0),
    'battery.return_home_percent': (0.0, 100.0),
    'battery.auto_return_home': bool,
    'payload.max_mass_kg': (0.0, 1000.0),
})

# The coordinator's policies (brain_execution/ros/coordinator.py), same conventions.
COORDINATOR_POLICIES: typing.Mapping[str, typing.Any] = types.MappingProxyType({
    'journal_path': str,
    'max_concurrency': (1, 10000),
    'max_per_robot': (1, 100),
    'max_pending_steps': (1, 1000000),
    'retry.max_attempts': (1, 20),
    'retry.initial_backoff_s': (0.01, 600.0),
    'retry.max_backoff_s': (0.01, 3600.0),
    'retry.multiplier': (1.0, 10.0),
    'retry.jitter': (0.0, 1.0),
    'breaker.failure_threshold': (1, 1000),
    'breaker.reset_timeout_s': (0.1, 86400.0),
    'link_timeout_s': (0.5, 600.0),
    'discovery_timeout_s': (0.5, 600.0),
    'reconcile_deadline_s': (1.0, 86400.0),
    'reconcile_interval_s': (0.1, 600.0),
    'journal.retention_s': (1.0, 31536000.0),
    'journal.prune_period_s': (1.0, 86400.0),
    'tick_rate_hz': (1.0, 200.0),
    'diagnostics_rate_hz': (0.1, 50.0),
    'feedback_rate_hz': (0.5, 50.0),
    'intake_queue_depth': (10, 100000),
    'result_timeout_s': (1, 86400),
    'metrics_port': (0, 65535),
    'metrics_address': str,
    'tracing_exporter': str,
})

_FLEET_KEYS = ('name', 'map_origin', 'robots', 'simulators', 'coordinator')
_ROBOT_KEYS = ('id', 'namespace', 'platform', 'bridge', 'params_file', 'home', 'envelope')
_BRIDGE_KEYS = ('name', 'settings')
_GEO_KEYS = ('latitude_deg', 'longitude_deg')
_SIMULATOR_KEYS = ('name', 'executable', 'package', 'namespace', 'arguments', 'parameters',
                   'params_file')

Scalar = typing.Union[bool, int, float, str]


@dataclasses.dataclass(frozen=True)
class GeoOrigin:
    """A WGS-84 position in degrees (a robot's home, the map frame's origin)."""

    latitude_deg: float
    longitude_deg: float


@dataclasses.dataclass(frozen=True)
class RobotSpec:
    """
    One robot of a fleet: what its executor node is started with.

    :param robot_id: The coordinator's name for the robot.
    :param namespace: The executor's namespace, e.g. ``/drone1`` or ``/site_a/drone1``.
    :param platform: drone, ground or surface.
    :param bridge: Bridge name (entry point of ``brain_execution.bridges``).
    :param bridge_settings: The bridge's parameters, without the ``<bridge>.`` prefix.
    :param params_file: Absolute path of a parameters file applied first; empty = none.
    :param home: Home position; None = the executor's default or the params file's.
    :param envelope: Executor parameters of the safety envelope, by full name.
    """

    robot_id: str
    namespace: str
    platform: Platform
    bridge: str
    bridge_settings: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    params_file: str = ''
    home: typing.Optional[GeoOrigin] = None
    envelope: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))


@dataclasses.dataclass(frozen=True)
class SimulatorSpec:
    """
    A process started in simulation only, e.g. a protocol simulator for a bridge.

    :param name: Node name, unique in the fleet file.
    :param executable: Console script of ``package`` (in ``lib/<package>``).
    :param package: Package installing the executable.
    :param namespace: Node namespace.
    :param arguments: Process arguments before ``--ros-args``.
    :param parameters: ROS parameters by full name.
    :param params_file: Absolute path of a parameters file; empty = none.
    """

    name: str
    executable: str
    package: str = 'brain_execution'
    namespace: str = '/'
    arguments: typing.Tuple[str, ...] = ()
    parameters: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    params_file: str = ''


@dataclasses.dataclass(frozen=True)
class Fleet:
    """
    A validated fleet file.

    :param name: Fleet name.
    :param source: Absolute path of the file it was loaded from ('' for text).
    :param robots: The robots, in file order.
    :param simulators: Processes to start in simulation.
    :param coordinator: The coordinator's parameters by full name (no fleet: the description
        code derives ``robot_ids`` and ``robots.<id>.platform``/``namespace`` from ``robots``).
    :param map_origin: Origin of the shared ``map`` frame.
    """

    name: str
    source: str
    robots: typing.Tuple[RobotSpec, ...]
    simulators: typing.Tuple[SimulatorSpec, ...] = ()
    coordinator: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))
    map_origin: typing.Optional[GeoOrigin] = None

    def robot(self, robot_id: str) -> RobotSpec:
        """
        Return the robot with this id.

        :raises KeyError: the fleet has no such robot.
        """
        for robot in self.robots:
            if robot.robot_id == robot_id:
                return robot
        raise KeyError(robot_id)


class _Problems:
    """Problems found so far, each prefixed with the file name and the key path."""

    def __init__(self, source: str):
        self.source = source
        self.items: typing.List[str] = []

    def add(self, path: str, problem: str) -> None:
        self.items.append(f'{self.source}: {path}: {problem}' if path else
                          f'{self.source}: {problem}')

    def raise_if_any(self) -> None:
        if self.items:
            raise FleetFileError(self.items)


def _short(value: typing.Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _mapping(problems: _Problems, path: str, value: typing.Any,
             allowed: typing.Sequence[str]) -> typing.Dict[str, typing.Any]:
    """Return value as a dict after reporting a wrong type or unknown keys; {} if unusable."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(path, f'has type {type(value).__name__}; expected a mapping')
        return {}
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ''
            problems.add(f'{path}.{key}' if path else str(key),
                         f'unknown key; {hint}expected one of {", ".join(allowed)}')
    return value


def _is_number(value: typing.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked(problems: _Problems, path: str, value: typing.Any, kind: typing.Any) -> typing.Any:
    """Return value converted to the parameter's type, or None after reporting a problem."""
    if kind is bool or kind is str:
        if not isinstance(value, kind):
            problems.add(path, f'{_short(value)} is not a {kind.__name__}')
            return None
        return value
    if kind == 'polygon':
        return _polygon(problems, path, value)
    lo, hi = kind
    integer = isinstance(lo, int)
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        problems.add(path, f'{_short(value)} is not an integer')
        return None
    if not integer and (not _is_number(value) or not math.isfinite(value)):
        problems.add(path, f'{_short(value)} is not a finite number')
        return None
    if not lo <= value <= hi:
        problems.add(path, f'{value} is outside {lo}..{hi}')
        return None
    return int(value) if integer else float(value)


def _polygon(problems: _Problems, path: str, value: typing.Any) -> typing.Any:
    if not isinstance(value, list) or not all(
            _is_number(v) and math.isfinite(v) for v in value):
        problems.add(path, 'expected a list of finite numbers x0, y0, x1, y1, ... (m)')
        return None
    if len(value) % 2 or len(value) < 6:
        problems.add(path, f'has {len(value)} numbers; expected at least 3 x, y pairs')
        return None
    return [float(v) for v in value]


def _flatten(problems: _Problems, path: str, value: typing.Any,
             prefix: str = '') -> typing.Dict[str, typing.Any]:
    """Return nested mappings as parameter name -> value, checking that values are ROS types."""
    out = {}
    for key, item in (value or {}).items():
        where, name = f'{path}.{key}', f'{prefix}{key}'
        if not isinstance(key, str) or not _NAME.match(key):
            problems.add(where, 'is not a parameter name (letters, digits, underscores)')
        elif isinstance(item, dict):
            out.update(_flatten(problems, where, item, f'{name}.'))
        elif isinstance(item, list):
            kinds = {bool if isinstance(v, bool) else float if isinstance(v, float) else
                     int if isinstance(v, int) else str if isinstance(v, str) else None
                     for v in item}
            if None in kinds or len(kinds) > 1:
                problems.add(where, 'a list parameter holds values of one type: booleans, '
                                    'integers, floats or strings')
            else:
                out[name] = list(item)
        elif isinstance(item, (bool, int, float, str)):
            out[name] = item
        else:
            problems.add(where, f'{_short(item)} is not a parameter value')
    return out


def _flatten_known(problems: _Problems, path: str, value: typing.Any,
                   table: typing.Mapping[str, typing.Any]) -> typing.Dict[str, typing.Any]:
    """Return nested mappings as parameters of table, each checked and converted."""
    groups = sorted({name.split('.')[0] for name in table})
    out = {}
    for key, item in _mapping(problems, path, value, groups).items():
        if key not in groups:
            continue
        names = [name for name in table if name.split('.')[0] == key]
        if key in table:
            checked = _checked(problems, f'{path}.{key}', item, table[key])
            if checked is not None:
                out[key] = checked
            continue
        leaves = [name.split('.', 1)[1] for name in names]
        for leaf, leaf_value in _mapping(problems, f'{path}.{key}', item, leaves).items():
            if leaf in leaves:
                checked = _checked(problems, f'{path}.{key}.{leaf}', leaf_value,
                                   table[f'{key}.{leaf}'])
                if checked is not None:
                    out[f'{key}.{leaf}'] = checked
    return out


def _name(problems: _Problems, path: str, value: typing.Any, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        problems.add(path, f'{_short(value)} is not a valid {what} (a letter, then letters, '
                           'digits or underscores)')
        return ''
    return value


def _namespace(problems: _Problems, path: str, value: typing.Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not _NAMESPACE.match(value):
        problems.add(path, f'{_short(value)} is not an absolute ROS namespace such as /drone1 '
                           'or /site_a/drone1')
        return default
    return value


def _geo(problems: _Problems, path: str, value: typing.Any) -> typing.Optional[GeoOrigin]:
    if value is None:
        return None
    value = _mapping(problems, path, value, _GEO_KEYS)
    missing = [key for key in _GEO_KEYS if key not in value]
    if missing:
        problems.add(path, f'missing {", ".join(missing)}')
        return None
    lat = _checked(problems, f'{path}.latitude_deg', value['latitude_deg'], (-90.0, 90.0))
    lon = _checked(problems, f'{path}.longitude_deg', value['longitude_deg'], (-180.0, 180.0))
    return None if lat is None or lon is None else GeoOrigin(lat, lon)


def _file(problems: _Problems, path: str, value: typing.Any, base_dir: str) -> str:
    if value is None:
        return ''
    if not isinstance(value, str) or not value:
        problems.add(path, f'{_short(value)} is not a file name')
        return ''
    full = os.path.normpath(os.path.join(base_dir, os.path.expanduser(value)))
    if not os.path.isfile(full):
        problems.add(path, f'{full} does not exist')
        return ''
    return full


def _bridge(problems: _Problems, path: str,
            value: typing.Any) -> typing.Tuple[str, typing.Dict[str, typing.Any]]:
    if isinstance(value, dict):
        value = _mapping(problems, path, value, _BRIDGE_KEYS)
        name = _name(problems, f'{path}.name', value.get('name'), 'bridge name')
        settings = value.get('settings') or {}
        if not isinstance(settings, dict):
            problems.add(f'{path}.settings', f'has type {type(settings).__name__}; expected '
                                             "a mapping of the bridge's parameters")
            settings = {}
        return name, _flatten(problems, f'{path}.settings', settings)
    return _name(problems, path, value, 'bridge name (or a mapping with name and settings)'), {}


def robot_spec(raw: typing.Mapping[str, typing.Any], *, source: str = '<robot>',
               path: str = 'robot', base_dir: str = '.') -> RobotSpec:
    """
    Return the validated robot of one ``robots`` entry (also what robot.launch.py builds).

    :raises FleetFileError: naming ``source``, the key path and each problem.
    """
    problems = _Problems(source)
    spec = _robot(problems, path, raw, base_dir)
    problems.raise_if_any()
    return spec


def _entry(problems: _Problems, path: str, raw: typing.Any, allowed: typing.Sequence[str],
           required: typing.Sequence[str]) -> bool:
    """Report a list entry that is no mapping, has unknown keys or lacks required ones."""
    if not isinstance(raw, dict):
        problems.add(path, f'has type {type(raw).__name__}; expected a mapping with '
                           f'{", ".join(required)}')
        return False
    _mapping(problems, path, raw, allowed)
    for key in required:
        if key not in raw:
            problems.add(path, f'missing {key}')
    return True


def _robot(problems: _Problems, path: str, raw: typing.Any,
           base_dir: str) -> typing.Optional[RobotSpec]:
    if not _entry(problems, path, raw, _ROBOT_KEYS, ('id', 'platform', 'bridge')):
        return None
    robot_id = _name(problems, f'{path}.id', raw.get('id'), 'robot id')
    platform = None
    if 'platform' in raw:
        try:
            platform = Platform(raw['platform'])
        except ValueError:
            problems.add(f'{path}.platform', f'{_short(raw["platform"])} is not one of '
                                             f'{", ".join(p.value for p in Platform)}')
    bridge, settings = _bridge(problems, f'{path}.bridge', raw.get('bridge'))
    return RobotSpec(
        robot_id=robot_id,
        namespace=_namespace(problems, f'{path}.namespace', raw.get('namespace'),
                             f'/{robot_id}'),
        platform=platform,
        bridge=bridge,
        bridge_settings=types.MappingProxyType(settings),
        params_file=_file(problems, f'{path}.params_file', raw.get('params_file'), base_dir),
        home=_geo(problems, f'{path}.home', raw.get('home')),
        envelope=types.MappingProxyType(_flatten_known(
            problems, f'{path}.envelope', raw.get('envelope'), ENVELOPE_PARAMETERS)),
    )


def _simulator(problems: _Problems, path: str, raw: typing.Any,
               base_dir: str) -> typing.Optional[SimulatorSpec]:
    if not _entry(problems, path, raw, _SIMULATOR_KEYS, ('name', 'executable')):
        return None
    package = raw.get('package', 'brain_execution')
    if not isinstance(package, str) or not _PACKAGE.match(package):
        problems.add(f'{path}.package', f'{_short(package)} is not a ROS package name')
    executable = raw.get('executable')
    if 'executable' in raw and (not isinstance(executable, str) or not executable
                                or '/' in executable):
        problems.add(f'{path}.executable', f'{_short(executable)} is not an executable name')
    arguments = raw.get('arguments') or []
    if not isinstance(arguments, list) or not all(
            isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in arguments):
        problems.add(f'{path}.arguments', 'expected a list of strings or numbers')
        arguments = []
    parameters = raw.get('parameters') or {}
    if not isinstance(parameters, dict):
        problems.add(f'{path}.parameters', f'has type {type(parameters).__name__}; expected '
                                           'a mapping')
        parameters = {}
    return SimulatorSpec(
        name=_name(problems, f'{path}.name', raw.get('name'), 'node name'),
        executable=executable if isinstance(executable, str) else '',
        package=package if isinstance(package, str) else '',
        namespace=_namespace(problems, f'{path}.namespace', raw.get('namespace'), '/'),
        arguments=tuple(str(a) for a in arguments),
        parameters=types.MappingProxyType(_flatten(problems, f'{path}.parameters',
                                                   parameters)),
        params_file=_file(problems, f'{path}.params_file', raw.get('params_file'), base_dir),
    )


def _unique(problems: _Problems, path: str, values: typing.Sequence[str], what: str) -> None:
    seen = set()
    for index, value in enumerate(values):
        if value and value in seen:
            problems.add(f'{path}[{index}]', f'{what} {value!r} is used twice')
        seen.add(value)


def load_fleet(source: typing.Union[str, os.PathLike], *, text: str = None) -> Fleet:
    """
    Load and validate a fleet file.

    :param source: The file's path; with ``text``, only the name used in messages.
    :param text: The YAML document itself, instead of reading ``source`` (relative files
        are still found next to ``source``).
    :return: The fleet.
    :raises FleetFileError: the file cannot be read, is not YAML, or has problems; every
        problem is listed as ``<file>: <key path>: <problem>``.
    """
    name = os.fspath(source)
    problems = _Problems(name)
    from_file = text is None
    base_dir = os.path.dirname(os.path.abspath(name))
    if from_file:
        try:
            with open(name, encoding='utf-8') as stream:
                text = stream.read(_MAX_FILE_CHARS + 1)
        except (OSError, UnicodeDecodeError) as e:
            raise FleetFileError([f'{name}: cannot be read: {e}']) from e
    if len(text) > _MAX_FILE_CHARS:
        raise FleetFileError([f'{name}: more than {_MAX_FILE_CHARS} characters'])
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise FleetFileError([f'{name}: invalid YAML: {e}'.replace('\n', ' ')]) from e
    if not isinstance(document, dict):
        raise FleetFileError([f'{name}: the document is {type(document).__name__}; expected '
                              'a mapping with name and robots'])
    _mapping(problems, '', document, _FLEET_KEYS)
    fleet_name = _name(problems, 'name', document.get('name', os.path.splitext(
        os.path.basename(name))[0].replace('-', '_')), 'fleet name')
    robots, simulators = [], []
    raw_robots = document.get('robots')
    if not isinstance(raw_robots, list) or not raw_robots:
        problems.add('robots', 'missing' if raw_robots is None else
                     'expected a non-empty list of robots')
    else:
        robots = [_robot(problems, f'robots[{i}]', raw, base_dir)
                  for i, raw in enumerate(raw_robots)]
    raw_simulators = document.get('simulators') or []
    if not isinstance(raw_simulators, list):
        problems.add('simulators', 'expected a list of simulators')
    else:
        simulators = [_simulator(problems, f'simulators[{i}]', raw, base_dir)
                      for i, raw in enumerate(raw_simulators)]
    robots = [r for r in robots if r is not None]
    simulators = [s for s in simulators if s is not None]
    _unique(problems, 'robots', [r.robot_id for r in robots], 'id')
    _unique(problems, 'robots', [r.namespace for r in robots], 'namespace')
    _unique(problems, 'simulators', [s.name for s in simulators], 'name')
    coordinator = _flatten_known(problems, 'coordinator', document.get('coordinator'),
                                 COORDINATOR_POLICIES)
    map_origin = _geo(problems, 'map_origin', document.get('map_origin'))
    problems.raise_if_any()
    if map_origin is None:
        map_origin = next((r.home for r in robots if r.home is not None), None)
    return Fleet(name=fleet_name, source=os.path.abspath(name) if from_file else '',
                 robots=tuple(robots), simulators=tuple(simulators),
                 coordinator=types.MappingProxyType(coordinator), map_origin=map_origin)
