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
MAV_RESULT values, as MAVROS's ``cmd/*`` services return them, mapped to error codes.

MAVROS answers ``success = (result == ACCEPTED)``; when no COMMAND_ACK came within its 5 s it
answers ``success=false, result=0``, which is not a refusal: the autopilot may still carry the
command out, so the caller reads the vehicle's state before deciding (see
:func:`command_outcome`).
"""

import enum
import typing

from brain_execution.core.errors import ErrorCode, ExecutionError

__all__ = ['MavResult', 'command_error', 'command_outcome']


class MavResult(enum.IntEnum):
    """MAVLink MAV_RESULT (common.xml)."""

    ACCEPTED = 0
    TEMPORARILY_REJECTED = 1
    DENIED = 2
    UNSUPPORTED = 3
    FAILED = 4
    IN_PROGRESS = 5
    CANCELLED = 6


_CODES = {
    MavResult.TEMPORARILY_REJECTED: ErrorCode.COMMAND_TEMPORARILY_REJECTED,
    MavResult.DENIED: ErrorCode.COMMAND_DENIED,
    MavResult.UNSUPPORTED: ErrorCode.COMMAND_UNSUPPORTED,
    MavResult.FAILED: ErrorCode.COMMAND_FAILED,
    MavResult.CANCELLED: ErrorCode.COMMAND_CANCELLED,
}


def command_error(command: str, result: int, autopilot: str,
                  reason: str = '') -> ExecutionError:
    """
    Return the error of a command the autopilot refused with MAV_RESULT ``result``.

    :param command: what was asked, e.g. ``'arming'``.
    :param reason: the autopilot's own words (STATUSTEXT), when it sent any.
    """
    try:
        name = MavResult(result).name
        code = _CODES.get(MavResult(result), ErrorCode.PLATFORM_REJECTED)
    except ValueError:
        name, code = 'unknown MAV_RESULT', ErrorCode.PLATFORM_REJECTED
    because = f': {reason}' if reason else ' (the autopilot sent no reason)'
    return ExecutionError(f'{autopilot} refused {command}: {name} ({result}){because}',
                          code=code)


def command_outcome(success: bool, result: int) -> typing.Optional[str]:
    """
    Classify a ``cmd/*`` answer: ``'accepted'``, ``'unknown'`` (read the state) or None.

    None means refused: build the error with :func:`command_error`. ``'unknown'`` covers
    MAVROS's own ACK timeout (``success=false, result=0``) and IN_PROGRESS, whose outcome shows
    later in the vehicle's state.
    """
    if success:
        return 'accepted'
    if result in (MavResult.ACCEPTED, MavResult.IN_PROGRESS):
        return 'unknown'
    return None
