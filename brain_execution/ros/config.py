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
The robot executor's parameters: declared with descriptors, validated, frozen.

Every parameter is read-only: the executor's behaviour is fixed at start-up, from the
``--params-file`` a launch file or a user passes, and can be read back with
``ros2 param describe``. A bad value stops the node at start-up with a message naming the
parameter, rather than surfacing later as a refused goal.
"""

import dataclasses
import math
import os
import typing

from brain_execution.core.bridge import ArrayParameter
from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.geo import GeoPoint
from brain_execution.core.state import Platform
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter

__all__ = ['ExecutorConfig', 'NodeParameters', 'declare_all', 'declare_and_load',
           'default_record_path']


@dataclasses.dataclass(frozen=True)
class ExecutorConfig:
    """Frozen view of the robot executor's parameters."""

    robot_id: str
    platform: Platform
    bridge: str
    home: GeoPoint
    envelope: SafetyEnvelope
    auto_return_home: bool
    tick_rate_hz: float
    state_rate_hz: float
    feedback_rate_hz: float
    history_size: int
    result_timeout_s: int
    intake_queue_depth: int
    record_path: str
    record_retention_s: float
    record_synchronous: str
    shutdown_safe_action: str
    shutdown_timeout_s: float
    raise_in: typing.FrozenSet[str] = frozenset()


_ARRAY_TYPES = {
    ArrayParameter.BOOL: Parameter.Type.BOOL_ARRAY,
    ArrayParameter.INTEGER: Parameter.Type.INTEGER_ARRAY,
    ArrayParameter.DOUBLE: Parameter.Type.DOUBLE_ARRAY,
    ArrayParameter.STRING: Parameter.Type.STRING_ARRAY,
}


def _float_range(lo: float, hi: float) -> typing.List[FloatingPointRange]:
    return [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]


def _int_range(lo: int, hi: int) -> typing.List[IntegerRange]:
    return [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]


# name, default, description, (lo, hi) or None. Units are part of the names.
_PARAMETERS = (
    ('robot_id', '', 'Robot name; empty = the node namespace without its leading slash.', None),
    ('platform', 'drone', 'Vehicle kind: drone, ground or surface.', None),
    ('bridge', 'sim', 'Platform bridge, by its name in the brain_execution.bridges entry-point '
     'group: sim (built-in simulator), mavros, nav2, nmea; its own parameters are <bridge>.*.',
     None),
    ('home.latitude_deg', 47.397742, 'Home latitude, WGS-84 degrees (local frame origin).',
     (-90.0, 90.0)),
    ('home.longitude_deg', 8.545594, 'Home longitude, WGS-84 degrees.', (-180.0, 180.0)),
    ('geofence.polygon_xy', Parameter.Type.DOUBLE_ARRAY, 'Geofence vertices as x0, y0, x1, '
     'y1, ... in metres of the local ENU frame; unset = no fence.', None),
    ('geofence.altitude_ceiling_m', 120.0, 'Highest target altitude above home, m.',
     (1.0, 10000.0)),
    ('limits.max_speed_mps', 15.0, 'Highest speed a goal may request, m/s.', (0.1, 100.0)),
    ('limits.cruise_speed_mps', 5.0, 'Speed used when a goal asks for 0, m/s.', (0.1, 100.0)),
    ('battery.min_takeoff_percent', 30.0, 'Battery needed to take off, %.', (0.0, 100.0)),
    ('battery.min_departure_percent', 20.0, 'Battery a ground or surface robot needs to set '
     'off, %.', (0.0, 100.0)),
    ('battery.return_home_percent', 25.0, 'Battery below which the robot should go home, %.',
     (0.0, 100.0)),
    ('battery.auto_return_home', True, 'Send the robot home when the battery falls below '
     'battery.return_home_percent away from home.', None),
    ('payload.max_mass_kg', 2.0, 'Heaviest payload the robot may pick up, kg.', (0.0, 1000.0)),
    ('tick_rate_hz', 20.0, 'Rate at which running operations and the platform advance, Hz; '
     'the tick runs only while an operation runs.', (1.0, 200.0)),
    ('state_rate_hz', 10.0, 'Rate of robot_state (and fix, odom, tf) messages, Hz; while no '
     'operation runs, also the rate at which the platform advances and the battery failsafe '
     'is checked.', (0.5, 100.0)),
    ('feedback_rate_hz', 5.0, 'Rate of action feedback per goal, Hz.', (0.5, 50.0)),
    ('history_size', 1000, 'Ended operations remembered for idempotency and queries.',
     (1, 1000000)),
    # As on the coordinator: rclpy republishes the status of every goal it still holds on
    # each goal transition, so a long retention makes every publish grow with the goal rate.
    # A later client (the coordinator's lost-result lookups included) reads the ended
    # operation from query_operation, which the durable operation record answers.
    ('result_timeout_s', 30, 'Seconds an ended goal keeps its result for late clients '
     '(query_operation answers after that).', (1, 86400)),
    ('intake_queue_depth', 1000, 'Depth of the action services queues; a burst larger than '
     'this from one client can overflow DDS history.', (10, 100000)),
    ('operation_record.path', '', 'SQLite file of the durable operation record (every '
     'accepted operation id and its outcome, kept across restarts); empty = '
     '$ROS_HOME/brain_execution/<robot_id>/operations.db ($ROS_HOME defaults to ~/.ros).',
     None),
    ('operation_record.retention_s', 604800.0, 'Ended operations older than this are pruned '
     'from the operation record, s (default 7 days); the record is never capped by count.',
     (60.0, 3.2e8)),
    ('operation_record.synchronous', 'FULL', 'SQLite synchronous mode of the operation '
     'record: FULL (each accepted id survives a power cut; one fsync per intake and per '
     'outcome) or NORMAL (survives crashes and kills of the executor, not a power cut; '
     'faster on slow storage).', None),
    ('shutdown.safe_action', 'hold', 'What SIGINT/SIGTERM commands a robot whose motion it '
     'ends: hold (hover / stop in place) or land (drones only; others hold).', None),
    ('shutdown.timeout_s', 5.0, 'How long shutdown waits for the safe command and for the '
     'results of the goals it ended, s.', (0.5, 60.0)),
    ('fault_injection.raise_in', Parameter.Type.STRING_ARRAY, 'Test hook: operations whose '
     'goals raise while their result is built (they must still end INTERNAL_ERROR); never '
     'set on a robot.', None),
)

_SAFE_ACTIONS = ('hold', 'land')


def default_record_path(robot_id: str) -> str:
    """Return $ROS_HOME/brain_execution/<robot_id>/operations.db (ROS_HOME: ~/.ros)."""
    ros_home = os.environ.get('ROS_HOME') or os.path.join(os.path.expanduser('~'), '.ros')
    return os.path.join(ros_home, 'brain_execution', robot_id, 'operations.db')


def declare_and_load(node: Node) -> ExecutorConfig:
    """
    Declare every parameter on node and return the validated, frozen configuration.

    :raises ValueError: a parameter value is invalid; the message names it.
    """
    return _load(declare_all(node, _PARAMETERS), node.get_namespace())


def declare_all(node: Node, table) -> typing.Dict[str, typing.Any]:
    """
    Declare read-only parameters from (name, default, description, limits) rows.

    A default that is a ``Parameter.Type`` or an :class:`ArrayParameter` declares an array
    parameter by type, read back as an empty list when it is not set.

    :return: every parameter's value by name.
    """
    values = {}
    for name, default, description, limits in table:
        descriptor = ParameterDescriptor(description=description, read_only=True)
        if limits is not None and isinstance(default, float):
            descriptor.floating_point_range = _float_range(*limits)
        elif limits is not None and isinstance(default, int):
            descriptor.integer_range = _int_range(*limits)
        if isinstance(default, ArrayParameter):
            default = _ARRAY_TYPES[default]
        value = node.declare_parameter(name, default, descriptor).value
        # Array parameters are declared by type so that an absent one reads as empty.
        values[name] = [] if value is None else value
    return values


def _load(v: typing.Mapping[str, typing.Any], namespace: str) -> ExecutorConfig:
    robot_id = v['robot_id'] or namespace.strip('/').replace('/', '_')
    if not robot_id:
        raise ValueError('robot_id is empty and the node has no namespace; set one of them '
                         '(e.g. --ros-args -r __ns:=/drone1)')
    platform_name, bridge = v['platform'], v['bridge']
    try:
        platform = Platform(platform_name)
    except ValueError:
        raise ValueError(f'platform={platform_name!r} unknown; expected one of '
                         f'{[p.value for p in Platform]}') from None
    if not bridge:
        raise ValueError('bridge is empty; name a bridge, e.g. sim or mavros')
    for name in ('home.latitude_deg', 'home.longitude_deg'):
        if not math.isfinite(v[name]):
            raise ValueError(f'{name}={v[name]} must be finite')
    fence = list(v['geofence.polygon_xy'])
    if len(fence) % 2 or 0 < len(fence) < 6:
        raise ValueError(f'geofence.polygon_xy has {len(fence)} numbers; it needs at least 3 '
                         'x, y pairs')
    synchronous = v['operation_record.synchronous']
    if synchronous not in ('FULL', 'NORMAL'):
        raise ValueError(f'operation_record.synchronous={synchronous!r}; expected FULL or '
                         'NORMAL')
    if v['shutdown.safe_action'] not in _SAFE_ACTIONS:
        raise ValueError(f"shutdown.safe_action={v['shutdown.safe_action']!r}; expected one "
                         f'of {list(_SAFE_ACTIONS)}')
    envelope = SafetyEnvelope(
        geofence=tuple(zip(fence[0::2], fence[1::2])),
        altitude_ceiling_m=v['geofence.altitude_ceiling_m'],
        max_speed_mps=v['limits.max_speed_mps'],
        cruise_speed_mps=v['limits.cruise_speed_mps'],
        min_battery_takeoff_percent=v['battery.min_takeoff_percent'],
        min_battery_departure_percent=v['battery.min_departure_percent'],
        return_home_battery_percent=v['battery.return_home_percent'],
        max_payload_kg=v['payload.max_mass_kg'],
    )
    return ExecutorConfig(
        robot_id=robot_id,
        platform=platform,
        bridge=v['bridge'],
        home=GeoPoint(v['home.latitude_deg'], v['home.longitude_deg']),
        envelope=envelope,
        auto_return_home=v['battery.auto_return_home'],
        tick_rate_hz=v['tick_rate_hz'],
        state_rate_hz=v['state_rate_hz'],
        feedback_rate_hz=v['feedback_rate_hz'],
        history_size=v['history_size'],
        result_timeout_s=v['result_timeout_s'],
        intake_queue_depth=v['intake_queue_depth'],
        record_path=v['operation_record.path'] or default_record_path(robot_id),
        record_retention_s=v['operation_record.retention_s'],
        record_synchronous=v['operation_record.synchronous'],
        shutdown_safe_action=v['shutdown.safe_action'],
        shutdown_timeout_s=v['shutdown.timeout_s'],
        raise_in=frozenset(v['fault_injection.raise_in']),
    )


class NodeParameters:
    """
    A bridge's :class:`~brain_execution.core.bridge.ParameterSource`: the node's parameters.

    Read-only parameters of the executor node under ``<prefix>.``, declared with descriptors
    like the executor's own, so ``ros2 param describe`` documents them too.
    """

    def __init__(self, node: Node, prefix: str):
        self._node = node
        self._prefix = prefix

    def declare(self, name: str, default: typing.Any, description: str,
                limits: typing.Optional[typing.Tuple[float, float]] = None) -> typing.Any:
        full = f'{self._prefix}.{name}'
        return declare_all(self._node, ((full, default, description, limits),))[full]
