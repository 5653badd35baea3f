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
Compose operations in Python, checked against the catalog when they are built.

::

    from brain_execution.core import builders as ops

    mission = ops.sequence(
        ops.takeoff(altitude_m=15.0),
        ops.go_to(40.0, 10.0, altitude_m=15.0, speed_mps=4.0),
        ops.capture_image(count=3, interval_s=1.0),
        ops.return_home(),
        id_prefix='survey-7',
    )
    goal_fields = mission[1].to_goal_fields()   # {'target': {...}, 'speed_mps': 4.0, ...}

A mistake such as ``takeoff(altitude_m=500.0)`` raises
:class:`~brain_execution.core.errors.InvalidParametersError` here, in the caller's code, not
minutes later on the robot. What depends on the robot (envelope, state, home position) is
checked by :func:`~brain_execution.core.catalog.prepare` when the goal arrives.
"""

import collections.abc
import copy
import dataclasses
import types
import typing

from .catalog import CATALOG
from .errors import ErrorCode, UnsupportedOperationError
from .geo import GeoPoint, LocalPoint
from .params import FRAME_GEOGRAPHIC, FRAME_LOCAL_ENU, validate_params

__all__ = [
    'Operation',
    'broadcast_status',
    'capture_image',
    'dock',
    'dropoff',
    'emergency_land',
    'emergency_stop',
    'follow_waypoints',
    'geo_waypoint',
    'go_to',
    'go_to_geo',
    'hold',
    'hover',
    'land',
    'operation',
    'orbit',
    'pickup',
    'record_video',
    'return_home',
    'scan_area',
    'send_data',
    'sequence',
    'station_keep',
    'takeoff',
    'undock',
    'waypoint',
]


@dataclasses.dataclass(frozen=True)
class Operation:
    """
    One operation with its goal fields, validated against the catalog on construction.

    :param name: Operation name, e.g. ``'go_to'``.
    :param params: The operation's own goal fields; absent ones take their ``.action``
        default. A point may be a Waypoint mapping, a LocalPoint, a GeoPoint or an
        ``(x_m, y_m[, altitude_m])`` tuple. Stored normalized (waypoints as complete
        Waypoint mappings).
    :param operation_id: Idempotency key; empty = assigned by the executor.
    :param priority: 0 (lowest) .. 255 (highest).
    :param timeout_s: Seconds, 0 = adaptive.
    :raises UnsupportedOperationError: When no operation has that name.
    :raises InvalidParametersError: When a field fails its schema.
    """

    name: str
    params: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=dict, hash=False)
    operation_id: str = ''
    priority: int = 100
    timeout_s: float = 0.0

    def __post_init__(self):
        spec = CATALOG.get(self.name)
        if spec is None:
            raise UnsupportedOperationError(
                f'unknown operation {self.name!r}; known: {", ".join(CATALOG)}',
                code=ErrorCode.UNKNOWN_OPERATION)
        raw = dict(self.params or {})
        for param in spec.params:
            if param.name in raw and param.kind == 'waypoint':
                raw[param.name] = _as_waypoint(raw[param.name])
            elif param.name in raw and param.kind == 'waypoints':
                raw[param.name] = _as_waypoints(raw[param.name])
        common = {'operation_id': self.operation_id, 'priority': self.priority,
                  'timeout_s': self.timeout_s}
        clash = sorted(set(raw) & set(common))
        if clash:
            raise TypeError(f'pass {", ".join(clash)} as keyword arguments, not in params')
        checked = validate_params(spec.params, {**raw, **common}, operation=self.name,
                                  convert_waypoints=False)
        for key in common:
            object.__setattr__(self, key, checked.pop(key))
        object.__setattr__(self, 'params', types.MappingProxyType(checked))

    def to_goal_fields(self) -> typing.Dict[str, typing.Any]:
        """
        Return every goal field, common options included, as a fresh dict.

        Waypoints are dicts with the keys of ``Waypoint.msg``; uint8[] fields are bytes.
        """
        fields = copy.deepcopy(dict(self.params))
        fields.update(operation_id=self.operation_id, priority=self.priority,
                      timeout_s=self.timeout_s)
        return fields

    def with_options(self, **options) -> 'Operation':
        """Return a copy with other ``operation_id``, ``priority`` or ``timeout_s``."""
        return dataclasses.replace(self, **options)


def operation(name: str, params: typing.Mapping[str, typing.Any] = None,
              **options) -> Operation:
    """Return any operation by name; ``options`` are operation_id, priority, timeout_s."""
    return Operation(name, dict(params or {}), **options)


def waypoint(x_m: float, y_m: float, altitude_m: float = 0.0, *,
             yaw_rad: typing.Optional[float] = None) -> typing.Dict[str, typing.Any]:
    """Return a local ENU waypoint mapping (metres from home; yaw None keeps the heading)."""
    return {'frame': FRAME_LOCAL_ENU, 'x_m': x_m, 'y_m': y_m, 'altitude_m': altitude_m,
            'has_yaw': yaw_rad is not None, 'yaw_rad': 0.0 if yaw_rad is None else yaw_rad}


def geo_waypoint(latitude_deg: float, longitude_deg: float, altitude_m: float = 0.0, *,
                 yaw_rad: typing.Optional[float] = None) -> typing.Dict[str, typing.Any]:
    """Return a geographic waypoint mapping (WGS-84 degrees, metres above home)."""
    return {'frame': FRAME_GEOGRAPHIC, 'latitude_deg': latitude_deg,
            'longitude_deg': longitude_deg, 'altitude_m': altitude_m,
            'has_yaw': yaw_rad is not None, 'yaw_rad': 0.0 if yaw_rad is None else yaw_rad}


def _as_waypoint(value: typing.Any) -> typing.Any:
    """Turn the usual spellings of a point into a waypoint mapping; leave others to fail."""
    if isinstance(value, collections.abc.Mapping):
        return dict(value)
    if isinstance(value, LocalPoint):
        return waypoint(value.x_m, value.y_m, value.z_m, yaw_rad=value.yaw_rad)
    if isinstance(value, GeoPoint):
        return geo_waypoint(value.latitude_deg, value.longitude_deg, value.altitude_m)
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        return waypoint(*value)
    return value


def _as_waypoints(values: typing.Any) -> typing.Any:
    if isinstance(values, (str, bytes, collections.abc.Mapping)) or \
            not isinstance(values, collections.abc.Iterable):
        return values
    return [_as_waypoint(value) for value in values]


def takeoff(altitude_m: float = 10.0, climb_speed_mps: float = 1.5, **options) -> Operation:
    """Arm and climb to altitude_m metres above home (drones)."""
    return Operation('takeoff', {'altitude_m': altitude_m,
                                 'climb_speed_mps': climb_speed_mps}, **options)


def land(descent_speed_mps: float = 0.7, **options) -> Operation:
    """Descend, touch down and disarm (drones)."""
    return Operation('land', {'descent_speed_mps': descent_speed_mps}, **options)


def go_to(x_m: float, y_m: float, altitude_m: float = 0.0, *,
          yaw_rad: typing.Optional[float] = None, speed_mps: float = 0.0,
          acceptance_radius_m: float = 1.0, **options) -> Operation:
    """Move to a local ENU point; speed_mps 0 = cruise speed."""
    return Operation('go_to', {'target': waypoint(x_m, y_m, altitude_m, yaw_rad=yaw_rad),
                               'speed_mps': speed_mps,
                               'acceptance_radius_m': acceptance_radius_m}, **options)


def go_to_geo(latitude_deg: float, longitude_deg: float, altitude_m: float = 0.0, *,
              yaw_rad: typing.Optional[float] = None, speed_mps: float = 0.0,
              acceptance_radius_m: float = 1.0, **options) -> Operation:
    """Move to a WGS-84 point (altitude in metres above home); speed_mps 0 = cruise."""
    target = geo_waypoint(latitude_deg, longitude_deg, altitude_m, yaw_rad=yaw_rad)
    return Operation('go_to', {'target': target, 'speed_mps': speed_mps,
                               'acceptance_radius_m': acceptance_radius_m}, **options)


def hover(duration_s: float = 5.0, **options) -> Operation:
    """Hold position in the air for duration_s seconds (drones)."""
    return Operation('hover', {'duration_s': duration_s}, **options)


def hold(duration_s: float = 5.0, **options) -> Operation:
    """Stop and hold position for duration_s seconds (ground robots)."""
    return Operation('hold', {'duration_s': duration_s}, **options)


def station_keep(duration_s: float = 30.0, radius_m: float = 5.0, **options) -> Operation:
    """Keep station within radius_m metres for duration_s seconds (surface vessels)."""
    return Operation('station_keep', {'duration_s': duration_s, 'radius_m': radius_m},
                     **options)


def orbit(center: typing.Any, radius_m: float = 10.0, speed_mps: float = 2.0,
          turns: float = 1.0, clockwise: bool = False, **options) -> Operation:
    """Circle a centre: a waypoint mapping, LocalPoint, GeoPoint or (x_m, y_m[, altitude_m])."""
    return Operation('orbit', {'center': center, 'radius_m': radius_m,
                               'speed_mps': speed_mps, 'turns': turns,
                               'clockwise': clockwise}, **options)


def follow_waypoints(waypoints: typing.Iterable[typing.Any], speed_mps: float = 0.0,
                     acceptance_radius_m: float = 1.0, **options) -> Operation:
    """Visit points in order; each as accepted by :func:`orbit`'s ``center``."""
    return Operation('follow_waypoints', {'waypoints': waypoints,
                                          'speed_mps': speed_mps,
                                          'acceptance_radius_m': acceptance_radius_m},
                     **options)


def scan_area(boundary: typing.Iterable[typing.Any], altitude_m: float = 20.0,
              line_spacing_m: float = 10.0, speed_mps: float = 0.0,
              capture_interval_s: float = 2.0, **options) -> Operation:
    """Cover a polygon (3..100 corners, one frame) with a lawnmower pattern."""
    return Operation('scan_area', {'boundary': boundary, 'altitude_m': altitude_m,
                                   'line_spacing_m': line_spacing_m, 'speed_mps': speed_mps,
                                   'capture_interval_s': capture_interval_s}, **options)


def capture_image(camera_id: str = '', count: int = 1, interval_s: float = 0.0,
                  **options) -> Operation:
    """Take count images interval_s seconds apart; camera_id empty = default camera."""
    return Operation('capture_image', {'camera_id': camera_id, 'count': count,
                                       'interval_s': interval_s}, **options)


def record_video(duration_s: float = 10.0, camera_id: str = '', **options) -> Operation:
    """Record duration_s seconds of video."""
    return Operation('record_video', {'camera_id': camera_id, 'duration_s': duration_s},
                     **options)


def pickup(payload_id: str, expected_mass_kg: float = 0.0, **options) -> Operation:
    """Attach a payload; expected_mass_kg 0 = unknown."""
    return Operation('pickup', {'payload_id': payload_id,
                                'expected_mass_kg': expected_mass_kg}, **options)


def dropoff(payload_id: str = '', **options) -> Operation:
    """Release the payload; payload_id empty = whatever the robot carries."""
    return Operation('dropoff', {'payload_id': payload_id}, **options)


def return_home(speed_mps: float = 0.0, land: bool = True, **options) -> Operation:
    """Go home; drones land there when land is true."""
    return Operation('return_home', {'speed_mps': speed_mps, 'land': land}, **options)


def dock(dock_id: str, **options) -> Operation:
    """Drive onto a dock or berth (ground robots and surface vessels)."""
    return Operation('dock', {'dock_id': dock_id}, **options)


def undock(distance_m: float = 1.0, **options) -> Operation:
    """Leave the dock by distance_m metres."""
    return Operation('undock', {'distance_m': distance_m}, **options)


def emergency_stop(reason: str = '', release: bool = False, **options) -> Operation:
    """Stop all motion and latch; release=True clears the latch."""
    return Operation('emergency_stop', {'reason': reason, 'release': release}, **options)


def emergency_land(reason: str = '', **options) -> Operation:
    """Land now where the drone is."""
    return Operation('emergency_land', {'reason': reason}, **options)


def send_data(destination: str, data: bytes = b'', content_type: str = '',
              **options) -> Operation:
    """Send at most 65536 bytes to a named destination over the robot's data link."""
    return Operation('send_data', {'destination': destination, 'content_type': content_type,
                                   'data': data}, **options)


def broadcast_status(message: str = '', repeat: int = 1, interval_s: float = 0.0,
                     **options) -> Operation:
    """Publish the robot's status repeat times, interval_s seconds apart."""
    return Operation('broadcast_status', {'message': message, 'repeat': repeat,
                                          'interval_s': interval_s}, **options)


def sequence(*operations: typing.Union[Operation, typing.Iterable[Operation]],
             id_prefix: str = '') -> typing.Tuple[Operation, ...]:
    """
    Return operations in order as a tuple, flattening nested sequences one level.

    :param id_prefix: When given, operations without an id get ``'<id_prefix>-<index>'``,
        so that sending the same sequence twice is idempotent.
    :raises TypeError: When an item is not an :class:`Operation`.
    """
    flat = []
    for item in operations:
        items = (item,) if isinstance(item, Operation) else tuple(item)
        for op in items:
            if not isinstance(op, Operation):
                raise TypeError(f'sequence items must be Operation, not {type(op).__name__}')
            flat.append(op)
    if id_prefix:
        flat = [op if op.operation_id else op.with_options(operation_id=f'{id_prefix}-{index}')
                for index, op in enumerate(flat)]
    return tuple(flat)
