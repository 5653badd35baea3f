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
validates every operation the same way, and results are filled from dicts by field name.
"""

import array
import typing

from brain_execution_interfaces.msg import OperationStatus
from builtin_interfaces.msg import Time
import numpy

__all__ = [
    'COMMON_GOAL_FIELDS', 'fill_message', 'goal_to_params', 'message_to_dict', 'record_status',
]

COMMON_GOAL_FIELDS = ('operation_id', 'priority', 'timeout_s')


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


def fill_message(msg: typing.Any, values: typing.Mapping[str, typing.Any]) -> typing.Any:
    """
    Set the fields of msg named in values (recursively for nested messages); return msg.

    Names the message does not have are skipped: a program may report more than one
    action's feedback carries (e.g. ``position`` during a takeoff).
    """
    fields = msg.get_fields_and_field_types()
    for name, value in values.items():
        if name not in fields:
            continue
        current = getattr(msg, name)
        if hasattr(current, 'get_fields_and_field_types') and isinstance(value, typing.Mapping):
            fill_message(current, value)
        elif isinstance(current, Time) and isinstance(value, float):
            # The core keeps times as float seconds of the node clock.
            setattr(msg, name, Time(sec=int(value // 1), nanosec=int(value % 1 * 1e9)))
        elif fields[name] in ('float', 'double') and isinstance(value, int):
            # Without ROS_PYTHON_CHECK_FIELDS, rclpy does not check types on assignment and an
            # int reaching a float field aborts the process in C at publish time.
            setattr(msg, name, float(value))
        else:
            setattr(msg, name, value)
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
    status.progress = float(record.progress.progress)
    status.phase = record.progress.phase
    if record.outcome is not None:
        status.error_code = int(record.outcome.code)
        status.error_msg = record.outcome.message
        status.retryable = record.outcome.retryable
        status.elapsed_s = float(record.outcome.elapsed_s)
    return status
