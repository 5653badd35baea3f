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
Generic conversions between ROS messages and the plain values the core works with.

Goals become dicts with the same field names, so the catalog (which has no ROS imports)
validates every operation the same way, and goals, results and feedback are built from dicts
by field name, checked, so that a wrong value raises instead of aborting the process in C.
"""

import array
import importlib
import typing

from brain_execution_interfaces.msg import OperationStatus
from builtin_interfaces.msg import Time
import numpy
from rosidl_parser.definition import AbstractSequence, BasicType, NamespacedType

__all__ = [
    'checked_message', 'COMMON_GOAL_FIELDS', 'goal_to_params', 'message_to_dict',
    'record_status',
]

COMMON_GOAL_FIELDS = ('operation_id', 'priority', 'timeout_s')
_FLOAT_TYPES = ('float', 'double')
_TIME = ('builtin_interfaces', 'msg', 'Time')


def message_to_dict(msg: typing.Any) -> typing.Dict[str, typing.Any]:
    """Return a message's fields as a dict, recursively; uint8[] becomes bytes."""
    out = {}
    for field in msg.get_fields_and_field_types():
        out[field] = _plain(getattr(msg, field))
    return out


def _plain(value: typing.Any) -> typing.Any:
    if hasattr(value, 'get_fields_and_field_types'):
        return message_to_dict(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, array.array) and value.typecode == 'B':
        return value.tobytes()
    if isinstance(value, (list, tuple, array.array, numpy.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    return value


def goal_to_params(goal: typing.Any) -> typing.Tuple[dict, str, int, float]:
    """Split a goal into (operation params, operation_id, priority, timeout_s)."""
    params = message_to_dict(goal)
    common = [params.pop(name) for name in COMMON_GOAL_FIELDS]
    return (params, *common)


def _message_class(slot: NamespacedType):
    return getattr(importlib.import_module('.'.join(slot.namespaces)), slot.name)


def _as_float(value):
    # An int in a float field is what a caller means; rclpy's C conversion would abort on it.
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _is_time(slot) -> bool:
    return isinstance(slot, NamespacedType) and slot.namespaced_name() == _TIME


def checked_message(msg_type, values: typing.Mapping[str, typing.Any], path: str, *,
                    skip_unknown: bool = False):
    """
    Return a msg_type filled from values, recursively, every field type- and range-checked.

    Jazzy's generated messages check field types only with ``ROS_PYTHON_CHECK_FIELDS=1``;
    without the check a wrong type (a dict among ``Waypoint[]``, an int in a float field)
    reaches the C conversion, whose assert aborts the whole process. Messages built with
    ``check_fields=True`` raise AssertionError instead, turned into ValueError here. Float
    seconds become ``builtin_interfaces/Time`` (the core keeps times as seconds of the node
    clock).

    :param path: where msg_type sits, for the messages (an operation name, ``goal.target``).
    :param skip_unknown: ignore names msg_type does not have (a program may report more than
        one action's feedback carries, e.g. ``position`` during a takeoff).
    :raises ValueError: a field has a wrong type or is out of range.
    :raises KeyError: values names a field msg_type does not have (unless skip_unknown).
    """
    msg = msg_type(check_fields=True)
    names = list(msg.get_fields_and_field_types())
    unknown = sorted(set(values) - set(names))
    if unknown and not skip_unknown:
        raise KeyError(f'{path} has no field(s) {unknown}')
    for name, slot in zip(names, msg_type.SLOT_TYPES):
        if name not in values:
            continue
        value, where = values[name], f'{path}.{name}'
        element = slot.value_type if isinstance(slot, AbstractSequence) else None
        if _is_time(slot) and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = Time(sec=int(value // 1), nanosec=int(value % 1 * 1e9))
        elif isinstance(slot, NamespacedType) and isinstance(value, typing.Mapping):
            value = checked_message(_message_class(slot), value, where,
                                    skip_unknown=skip_unknown)
        elif isinstance(element, NamespacedType) and isinstance(value, (list, tuple)):
            value = [checked_message(_message_class(element), v, f'{where}[{i}]',
                                     skip_unknown=skip_unknown)
                     if isinstance(v, typing.Mapping) else v for i, v in enumerate(value)]
        elif isinstance(slot, BasicType) and slot.typename in _FLOAT_TYPES:
            value = _as_float(value)
        elif (isinstance(element, BasicType) and element.typename in _FLOAT_TYPES and
              isinstance(value, (list, tuple))):
            value = [_as_float(v) for v in value]
        try:
            setattr(msg, name, value)
        except AssertionError as error:
            raise ValueError(f'{where}: {error}') from None
    return msg


def record_status(record, *, robot_id: str, stamp=None) -> OperationStatus:
    """Return the OperationStatus message of a runtime OperationRecord."""
    status = OperationStatus()
    if stamp is not None:
        status.header.stamp = stamp
    status.operation_id = record.operation_id
    status.robot_id = robot_id
    status.operation = record.name
    status.state = int(record.state)
    status.attempt = 1
    status.started = bool(record.started)
    status.progress = float(record.progress.progress)
    status.phase = record.progress.phase
    if record.outcome is not None:
        status.error_code = int(record.outcome.code)
        status.error_msg = record.outcome.message
        status.retryable = record.outcome.retryable
        status.elapsed_s = float(record.outcome.elapsed_s)
    return status
