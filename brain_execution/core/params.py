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
Goal field schemas and their validation.

A goal arrives as a mapping with the field names of its ``.action`` file: from a ROS goal
message converted to a dict, or from the YAML of a plan step. A ``Waypoint`` is a mapping
with the keys of ``Waypoint.msg``, a ``uint8[]`` is bytes. :func:`validate_params` checks
every field against its :class:`ParamSpec` and returns plain Python values; anything it does
not accept raises :class:`~brain_execution.core.errors.InvalidParametersError` naming the
field (a dotted path such as ``waypoints[3].latitude_deg``), the value and the limits.

NaN and infinities are refused in every float field, including the coordinates a waypoint's
frame does not use: a NaN in a goal is nearly always a bug upstream, and letting it pass in
an unused field would let it reach the platform the day the frame changes.
"""

import array
import collections.abc
import dataclasses
import math
import typing

from .errors import InvalidParametersError, PreconditionFailedError
from .geo import geographic_to_local, GeoPoint, LocalPoint

__all__ = [
    'COMMON_PARAMS',
    'FRAME_GEOGRAPHIC',
    'FRAME_LOCAL_ENU',
    'KINDS',
    'ParamSpec',
    'WAYPOINT_KEYS',
    'default_waypoint',
    'validate_params',
]

#: Kinds of goal field a :class:`ParamSpec` may declare.
KINDS = frozenset({'float', 'int', 'str', 'bool', 'waypoint', 'waypoints', 'bytes'})

#: Values of ``Waypoint.frame``.
FRAME_LOCAL_ENU = 0
FRAME_GEOGRAPHIC = 1

#: Keys of a waypoint mapping, as in ``Waypoint.msg``.
WAYPOINT_KEYS = (
    'frame', 'x_m', 'y_m', 'latitude_deg', 'longitude_deg', 'altitude_m', 'has_yaw', 'yaw_rad')

_WAYPOINT_FLOATS = ('x_m', 'y_m', 'latitude_deg', 'longitude_deg', 'altitude_m', 'yaw_rad')

_MISSING = object()


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """
    Schema of one goal field.

    :param name: Field name, exactly as in the ``.action`` file.
    :param kind: One of :data:`KINDS`.
    :param unit: Unit of a number, e.g. ``'m'`` or ``'m/s'``; empty when unitless.
    :param minimum: Smallest accepted number (inclusive); None = unbounded.
    :param maximum: Largest accepted number (inclusive); None = unbounded.
    :param default: Value used when the field is absent; None with a waypoint kind makes the
        field required.
    :param description: One line for documentation and error messages.
    :param zero_means_default: 0 is a sentinel accepted below ``minimum`` (e.g. ``speed_mps``
        0 = cruise speed); ``default_meaning`` says what it stands for.
    :param default_meaning: What the sentinel 0 stands for, e.g. ``'cruise speed'``.
    :param max_length: Most characters (str), bytes (bytes) or items (waypoints).
    :param min_items: Fewest items of a waypoints list.
    :param required: A str field must not be empty (or blank).
    """

    name: str
    kind: str
    unit: str = ''
    minimum: typing.Optional[float] = None
    maximum: typing.Optional[float] = None
    default: typing.Any = None
    description: str = ''
    zero_means_default: bool = False
    default_meaning: str = ''
    max_length: typing.Optional[int] = None
    min_items: typing.Optional[int] = None
    required: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f'ParamSpec {self.name!r}: kind {self.kind!r} not in {sorted(KINDS)}')
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(
                f'ParamSpec {self.name!r}: minimum {self.minimum} > maximum {self.maximum}')
        if self.min_items is not None and self.max_length is not None \
                and self.min_items > self.max_length:
            raise ValueError(
                f'ParamSpec {self.name!r}: min_items {self.min_items} > '
                f'max_length {self.max_length}')

    @property
    def is_required(self) -> bool:
        """Whether the field must be given and not empty."""
        return self.required or (self.kind in ('waypoint', 'waypoints') and self.default is None)

    def limits_text(self) -> str:
        """Return the accepted range as text, e.g. ``'[1.0, 120.0] m'``."""
        low = '-inf' if self.minimum is None else repr(self.minimum)
        high = 'inf' if self.maximum is None else repr(self.maximum)
        text = f'[{low}, {high}]'
        if self.unit:
            text += f' {self.unit}'
        if self.zero_means_default:
            text += f' (or 0 = {self.default_meaning or "default"})'
        return text


#: Goal options every operation has (the "Common goal options" of each ``.action`` file).
COMMON_PARAMS = (
    ParamSpec('operation_id', 'str', default='', max_length=128,
              description='Idempotency key; empty = the executor assigns one.'),
    ParamSpec('priority', 'int', minimum=0, maximum=255, default=100,
              description='0 (lowest) .. 255 (highest).'),
    ParamSpec('timeout_s', 'float', unit='s', minimum=0.0, maximum=86400.0, default=0.0,
              description='Deadline of the goal; 0 = adaptive from the estimated duration.'),
)


def default_waypoint() -> typing.Dict[str, typing.Any]:
    """Return a waypoint mapping with the defaults of ``Waypoint.msg`` (all zero, local)."""
    return {
        'frame': FRAME_LOCAL_ENU, 'x_m': 0.0, 'y_m': 0.0, 'latitude_deg': 0.0,
        'longitude_deg': 0.0, 'altitude_m': 0.0, 'has_yaw': False, 'yaw_rad': 0.0,
    }


def _invalid(path: str, value: typing.Any, reason: str) -> InvalidParametersError:
    return InvalidParametersError(f'{path}={_show(value)} {reason}')


def _show(value: typing.Any) -> str:
    text = repr(value)
    # A 64 KiB payload in an error message would flood logs and the result message.
    return text if len(text) <= 60 else text[:57] + '...'


def _float(path: str, value: typing.Any, spec: ParamSpec = None) -> float:
    # bool is an int subclass; True as a speed is a caller bug, not 1.0 m/s.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(path, value, f'has type {type(value).__name__}; expected a number')
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _invalid(path, value, 'is not a finite number')
    if spec is not None:
        _check_range(path, number, spec)
    return number


def _int(path: str, value: typing.Any, spec: ParamSpec) -> int:
    # Strict like rclpy: an integer field set to 3.0 fails there too, so it fails here first.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(path, value, f'has type {type(value).__name__}; expected an integer')
    _check_range(path, value, spec)
    return int(value)


def _check_range(path: str, number, spec: ParamSpec) -> None:
    if spec.zero_means_default and number == 0:
        return
    if (spec.minimum is not None and number < spec.minimum) or \
            (spec.maximum is not None and number > spec.maximum):
        raise _invalid(path, number, f'out of range {spec.limits_text()}')


def _str(path: str, value: typing.Any, spec: ParamSpec) -> str:
    if not isinstance(value, str):
        raise _invalid(path, value, f'has type {type(value).__name__}; expected a string')
    if spec.max_length is not None and len(value) > spec.max_length:
        raise _invalid(path, value, f'is {len(value)} characters long; at most '
                                    f'{spec.max_length} allowed')
    if spec.required and not value.strip():
        raise _invalid(path, value, 'must not be empty')
    return value


def _bool(path: str, value: typing.Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid(path, value, f'has type {type(value).__name__}; expected true or false')
    return value


def _bytes(path: str, value: typing.Any, spec: ParamSpec) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, array.array) and value.typecode == 'B':
        data = value.tobytes()
    elif isinstance(value, (list, tuple)):
        # YAML has no bytes type: a list of integers 0..255 is how a plan step spells uint8[].
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 255:
                raise _invalid(f'{path}[{index}]', item, 'is not a byte (integer 0..255)')
        data = bytes(value)
    else:
        raise _invalid(path, value, f'has type {type(value).__name__}; expected bytes')
    if spec.max_length is not None and len(data) > spec.max_length:
        raise InvalidParametersError(
            f'{path} is {len(data)} bytes long; at most {spec.max_length} allowed')
    return data


def _waypoint(path: str, value: typing.Any) -> typing.Dict[str, typing.Any]:
    if not isinstance(value, collections.abc.Mapping):
        raise _invalid(path, value, f'has type {type(value).__name__}; expected a Waypoint '
                                    f'mapping with keys {", ".join(WAYPOINT_KEYS)}')
    unknown = sorted(str(key) for key in value if key not in WAYPOINT_KEYS)
    if unknown:
        raise InvalidParametersError(
            f'{path}: unknown field(s) {", ".join(unknown)}; a Waypoint has '
            f'{", ".join(WAYPOINT_KEYS)}')
    point = default_waypoint()
    frame = value.get('frame', FRAME_LOCAL_ENU)
    if isinstance(frame, bool) or not isinstance(frame, int) or \
            frame not in (FRAME_LOCAL_ENU, FRAME_GEOGRAPHIC):
        raise _invalid(f'{path}.frame', frame,
                       'is not a known frame (0 = LOCAL_ENU, 1 = GEOGRAPHIC)')
    point['frame'] = int(frame)
    for key in _WAYPOINT_FLOATS:
        if key in value:
            point[key] = _float(f'{path}.{key}', value[key])
    if 'has_yaw' in value:
        point['has_yaw'] = _bool(f'{path}.has_yaw', value['has_yaw'])
    if point['frame'] == FRAME_GEOGRAPHIC:
        if not -90.0 <= point['latitude_deg'] <= 90.0:
            raise _invalid(f'{path}.latitude_deg', point['latitude_deg'],
                           'out of range [-90.0, 90.0] deg')
        if not -180.0 <= point['longitude_deg'] <= 180.0:
            raise _invalid(f'{path}.longitude_deg', point['longitude_deg'],
                           'out of range [-180.0, 180.0] deg')
    return point


def _waypoints(path: str, value: typing.Any, spec: ParamSpec) -> typing.List[dict]:
    # A str is a Sequence too, but never a list of waypoints.
    if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Sequence):
        raise _invalid(path, value, f'has type {type(value).__name__}; expected a list of '
                                    f'Waypoint mappings')
    if spec.min_items is not None and len(value) < spec.min_items:
        raise InvalidParametersError(
            f'{path} has {len(value)} waypoints; at least {spec.min_items} required')
    if spec.max_length is not None and len(value) > spec.max_length:
        raise InvalidParametersError(
            f'{path} has {len(value)} waypoints; at most {spec.max_length} allowed')
    return [_waypoint(f'{path}[{index}]', item) for index, item in enumerate(value)]


def _check_one(spec: ParamSpec, value: typing.Any) -> typing.Any:
    path = spec.name
    if spec.kind == 'float':
        return _float(path, value, spec)
    if spec.kind == 'int':
        return _int(path, value, spec)
    if spec.kind == 'str':
        return _str(path, value, spec)
    if spec.kind == 'bool':
        return _bool(path, value)
    if spec.kind == 'bytes':
        return _bytes(path, value, spec)
    if spec.kind == 'waypoint':
        return _waypoint(path, value)
    return _waypoints(path, value, spec)


def _home_known(home: typing.Optional[GeoPoint]) -> bool:
    return home is not None and math.isfinite(home.latitude_deg) and \
        math.isfinite(home.longitude_deg)


def _to_local(path: str, point: dict, home: typing.Optional[GeoPoint]) -> LocalPoint:
    yaw = point['yaw_rad'] if point['has_yaw'] else None
    if point['frame'] == FRAME_LOCAL_ENU:
        return LocalPoint(point['x_m'], point['y_m'], point['altitude_m'], yaw)
    if not _home_known(home):
        raise PreconditionFailedError(
            f'{path} is geographic ({point["latitude_deg"]}, {point["longitude_deg"]}) but the '
            f'home position is unknown; send local ENU waypoints or wait for a position fix')
    return geographic_to_local(
        home, GeoPoint(point['latitude_deg'], point['longitude_deg'], point['altitude_m']), yaw)


def validate_params(specs: typing.Iterable[ParamSpec],
                    raw: typing.Optional[typing.Mapping[str, typing.Any]], *,
                    home: typing.Optional[GeoPoint] = None,
                    operation: str = '',
                    include_common: bool = True,
                    convert_waypoints: bool = True) -> typing.Dict[str, typing.Any]:
    """
    Check goal fields against their schema and return them normalized.

    Absent fields take their default. Floats come back as float, integers as int, uint8[]
    as bytes. Waypoints come back as :class:`~brain_execution.core.geo.LocalPoint` (a
    geographic one converted around ``home``), or, with ``convert_waypoints=False``, as
    complete waypoint mappings with every key of ``Waypoint.msg``.

    :param specs: The operation's own fields.
    :param raw: Goal fields by name; None is the same as an empty mapping.
    :param home: Geographic position of the local frame's origin; None when unknown.
    :param operation: Operation name, used in messages only.
    :param include_common: Also check :data:`COMMON_PARAMS` (operation_id, priority,
        timeout_s).
    :param convert_waypoints: Turn waypoints into local points (needs ``home`` for
        geographic ones).
    :return: A new dict with one entry per declared field.
    :raises InvalidParametersError: When a field is unknown, missing, of the wrong type, not
        finite, out of range, too long or empty although required.
    :raises PreconditionFailedError: When a waypoint is geographic and ``home`` is unknown.
    """
    specs = tuple(specs) + (COMMON_PARAMS if include_common else ())
    raw = {} if raw is None else raw
    where = f' for {operation}' if operation else ''
    if not isinstance(raw, collections.abc.Mapping):
        raise InvalidParametersError(
            f'goal fields{where} have type {type(raw).__name__}; expected a mapping')
    by_name = {spec.name: spec for spec in specs}
    unknown = sorted(str(key) for key in raw if key not in by_name)
    if unknown:
        raise InvalidParametersError(
            f'unknown field(s) {", ".join(unknown)}{where}; expected some of '
            f'{", ".join(by_name)}')
    result = {}
    for spec in specs:
        value = raw.get(spec.name, _MISSING)
        if value is _MISSING:
            if spec.is_required:
                raise InvalidParametersError(f'{spec.name} is required{where}')
            value = spec.default
        result[spec.name] = _check_one(spec, value)
    if convert_waypoints:
        # Converted only after every field passed, so that a bad field is reported as
        # INVALID_PARAMETERS even when the home position is unknown too.
        for spec in specs:
            if spec.kind == 'waypoint':
                result[spec.name] = _to_local(spec.name, result[spec.name], home)
            elif spec.kind == 'waypoints':
                result[spec.name] = tuple(
                    _to_local(f'{spec.name}[{index}]', point, home)
                    for index, point in enumerate(result[spec.name]))
    return result
