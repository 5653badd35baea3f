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
The coordinator's fleet parameters: which robots it coordinates, and where each one is.

Two forms, which may be mixed (each robot in one of them only):

* ``robots``, the short form: ``"robot_id:platform"`` strings; the robot's executor runs in
  ``/<robot_id>``;
* ``robot_ids`` with one parameter namespace per listed robot: ``robots.<id>.platform`` and
  ``robots.<id>.namespace`` (empty = ``/<id>``), e.g. ``/site_a/drone1``. ROS declares
  parameters by name, so the node is told which to declare (as Nav2's ``controller_plugins``
  does); declared with descriptors, ``ros2 param describe`` documents them. A
  ``robots.<id>.*`` value for an id that ``robot_ids`` does not list is refused: that robot
  would otherwise be left out of the fleet, fleet-wide emergency stops included.

Every problem raises a ValueError whose message starts with the parameter's name and names
the robot; ``run_node`` turns it into one line and exit status 2.
"""

import dataclasses
import typing

from brain_execution.core.state import Platform
from rclpy.exceptions import InvalidNamespaceException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.validate_namespace import validate_namespace

from .config import declare_all

__all__ = ['FLEET_PARAMETERS', 'FleetRobot', 'declare_fleet', 'parse_fleet',
           'robot_parameters']

_PLATFORMS = ', '.join(p.value for p in Platform)

# name, default, description, limits: the rows of config.declare_all. All read-only.
FLEET_PARAMETERS = (
    ('robots', Parameter.Type.STRING_ARRAY, 'Fleet, short form: "robot_id:platform" '
     'strings, e.g. "drone1:drone"; platform is drone, ground or surface; each robot\'s '
     'executor runs in /<robot_id>. For another namespace list the robot in robot_ids '
     'instead.', None),
    ('robot_ids', Parameter.Type.STRING_ARRAY, 'Robots given by robots.<id>.platform and '
     'robots.<id>.namespace (declared for these ids only), after those of robots; each '
     'robot is in one of the two lists.', None),
)


@dataclasses.dataclass(frozen=True)
class FleetRobot:
    """
    One robot of the coordinator's fleet.

    :param robot_id: the coordinator's name for it (plans' ``robot_id``).
    :param platform: its vehicle kind.
    :param namespace: where its executor runs, e.g. ``/drone1`` or ``/site_a/drone1``.
    """

    robot_id: str
    platform: Platform
    namespace: str


def robot_parameters(robot_id: str) -> tuple:
    """Return the declare_all rows of one robot listed in ``robot_ids``."""
    return (
        (f'robots.{robot_id}.platform', '', f'Vehicle kind of robot {robot_id}: drone, '
         'ground or surface.', None),
        (f'robots.{robot_id}.namespace', '', 'Absolute namespace the executor of robot '
         f'{robot_id} runs in, e.g. /site_a/{robot_id}; empty = /{robot_id}.', None),
    )


def _namespace_problem(namespace: str) -> str:
    """Return why namespace cannot hold a robot's executor, '' if it can."""
    if namespace == '/':
        return 'the root namespace would put its actions at /<operation>'
    try:
        validate_namespace(namespace)
    except InvalidNamespaceException as error:
        # Its first line; the rest draws a caret under the offending character.
        return str(error).split(':\n')[0].replace('Invalid namespace: ', '')
    return ''


def _check_robot_id(robot_id: str, where: str) -> None:
    # One name token: it is the default namespace and a part of parameter names.
    if not robot_id or '/' in robot_id or _namespace_problem(f'/{robot_id}'):
        raise ValueError(f'{where}: robot id {robot_id!r} is not a ROS name token (letters, '
                         'digits and underscores, not starting with a digit)')


def _short_form(entries: typing.Sequence[str]) -> typing.List[FleetRobot]:
    robots: typing.List[FleetRobot] = []
    for entry in entries:
        robot_id, _, platform = entry.partition(':')
        if platform not in [p.value for p in Platform]:
            raise ValueError(f'robots: entry {entry!r} is not "robot_id:platform" with '
                             f'platform one of {_PLATFORMS}')
        _check_robot_id(robot_id, f'robots: entry {entry!r}')
        if any(r.robot_id == robot_id for r in robots):
            raise ValueError(f'robots: robot {robot_id} is listed twice')
        robots.append(FleetRobot(robot_id, Platform(platform), f'/{robot_id}'))
    return robots


def parse_fleet(robots: typing.Sequence[str], robot_ids: typing.Sequence[str],
                per_robot: typing.Callable[[str], typing.Tuple[str, str]]
                ) -> typing.Dict[str, FleetRobot]:
    """
    Return the fleet (robot id -> robot, short form first, in order) from its parameters.

    :param robots: the ``robots`` parameter (short form).
    :param robot_ids: the ``robot_ids`` parameter.
    :param per_robot: robot id -> (``robots.<id>.platform``, ``robots.<id>.namespace``);
        called once for each id of robot_ids, after the ids are checked.
    :raises ValueError: naming the parameter and the robot: a malformed entry or id, a
        robot listed twice or in both forms, an unknown platform, an invalid namespace, a
        namespace two robots share, an empty fleet.
    """
    fleet = _short_form(robots)
    short = {r.robot_id: r for r in fleet}
    listed: typing.List[str] = []
    for robot_id in robot_ids:
        _check_robot_id(robot_id, 'robot_ids')
        if robot_id in listed:
            raise ValueError(f'robot_ids: robot {robot_id} is listed twice')
        if robot_id in short:
            raise ValueError(f'robot_ids: robot {robot_id} is also in robots '
                             f'("{robot_id}:{short[robot_id].platform.value}"); give each '
                             'robot in one form only')
        listed.append(robot_id)
    for robot_id in listed:
        prefix = f'robots.{robot_id}'
        platform, namespace = per_robot(robot_id)
        if platform not in [p.value for p in Platform]:
            raise ValueError(f'{prefix}.platform: {platform!r} is not one of {_PLATFORMS} '
                             f'(robot_ids lists {robot_id})')
        namespace = namespace or f'/{robot_id}'
        problem = _namespace_problem(namespace)
        if problem:
            raise ValueError(f'{prefix}.namespace: {namespace!r} is not an absolute ROS '
                             f'namespace such as /site_a/{robot_id}: {problem}')
        fleet.append(FleetRobot(robot_id, Platform(platform), namespace))
    if not fleet:
        raise ValueError('robots: the fleet is empty; list robots as "robot_id:platform" '
                         'strings, or their ids in robot_ids with robots.<id>.platform')
    owners: typing.Dict[str, str] = {}
    for robot in fleet:
        other = owners.setdefault(robot.namespace, robot.robot_id)
        if other != robot.robot_id:
            where = f'robots.{robot.robot_id}.namespace' if robot.robot_id in listed else \
                'robots'
            raise ValueError(f'{where}: robots {other} and {robot.robot_id} share the '
                             f'namespace {robot.namespace}')
    return {r.robot_id: r for r in fleet}


def _unlisted(overrides: typing.Iterable[str], listed: typing.Collection[str]) -> None:
    for name in sorted(overrides):
        robot_id, dot, leaf = name[len('robots.'):].partition('.')
        if name.startswith('robots.') and dot and robot_id not in listed:
            raise ValueError(f'{name}: set, but robot_ids does not list {robot_id}; list it '
                             'there (robots.<id>.* are read for the ids of robot_ids only)')


def declare_fleet(node: Node) -> typing.Dict[str, FleetRobot]:
    """
    Declare the fleet parameters on node and return the fleet (see :func:`parse_fleet`).

    :raises ValueError: as parse_fleet; also a ``robots.<id>.*`` value given for an id
        that robot_ids does not list.
    """
    v = declare_all(node, FLEET_PARAMETERS)
    for robot_id in v['robot_ids']:
        _check_robot_id(robot_id, 'robot_ids')
    # Before the fleet is judged: a forgotten id would otherwise read as an empty fleet.
    # rclpy has no public view of the overrides a node was given (params files, -p); a
    # future rclpy without this attribute only loses the check.
    _unlisted(getattr(node, '_parameter_overrides', {}), v['robot_ids'])

    def per_robot(robot_id: str) -> typing.Tuple[str, str]:
        values = declare_all(node, robot_parameters(robot_id))
        return (values[f'robots.{robot_id}.platform'],
                values[f'robots.{robot_id}.namespace'])

    return parse_fleet(v['robots'], v['robot_ids'], per_robot)
