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
Nav2's result codes (Jazzy) and the brain_execution errors they end an operation with.

A NavigateToPose result carries the code of whichever server failed inside the behaviour
tree (bt_navigator's ``error_code_names``: FollowPath 1xx and ComputePathToPose 2xx by
default; smoother 5xx and behaviours 7xx when a tree reports them). A FollowWaypoints result
keeps the navigation code per missed waypoint, and Jazzy leaves its own ``error_code`` 0. The
docking server has codes of its own. Every error message quotes the code, its Nav2 name and
Nav2's ``error_msg``, so nothing the navigation stack said is lost.
"""

import typing

from brain_execution.core.errors import (
    ExecutionError, NavigationFailedError, NoPathError, StuckError)

__all__ = ['NAVIGATION_CODES', 'DOCK_CODES', 'UNDOCK_CODES', 'nav2_error']

# Per-operation codes of brain_execution_interfaces/action/Dock.action and Undock.action.
_DOCK_NOT_FOUND = 1501
_DOCKING_FAILED = 1502
_NOT_DOCKED = 1601


class _Code(typing.NamedTuple):
    """A Nav2 code: the action that declares it, its constant name, what it becomes."""

    declared_by: str
    name: str
    error: typing.Callable[[str], ExecutionError]


def _with_code(code: int) -> typing.Callable[[str], ExecutionError]:
    return lambda message: ExecutionError(message, code=code, retryable=False)


_NF, _NP, _ST = NavigationFailedError, NoPathError, StuckError

#: Codes a navigate_to_pose (or a waypoint's) result can carry, by value.
NAVIGATION_CODES: typing.Mapping[int, _Code] = {
    100: _Code('FollowPath', 'UNKNOWN', _NF),
    101: _Code('FollowPath', 'INVALID_CONTROLLER', _NF),
    102: _Code('FollowPath', 'TF_ERROR', _NF),
    103: _Code('FollowPath', 'INVALID_PATH', _NP),
    104: _Code('FollowPath', 'PATIENCE_EXCEEDED', _ST),
    105: _Code('FollowPath', 'FAILED_TO_MAKE_PROGRESS', _ST),
    106: _Code('FollowPath', 'NO_VALID_CONTROL', _ST),
    107: _Code('FollowPath', 'CONTROLLER_TIMED_OUT', _NF),
    200: _Code('ComputePathToPose', 'UNKNOWN', _NF),
    201: _Code('ComputePathToPose', 'INVALID_PLANNER', _NF),
    202: _Code('ComputePathToPose', 'TF_ERROR', _NF),
    203: _Code('ComputePathToPose', 'START_OUTSIDE_MAP', _NF),
    204: _Code('ComputePathToPose', 'GOAL_OUTSIDE_MAP', _NP),
    205: _Code('ComputePathToPose', 'START_OCCUPIED', _NP),
    206: _Code('ComputePathToPose', 'GOAL_OCCUPIED', _NP),
    207: _Code('ComputePathToPose', 'TIMEOUT', _NP),
    208: _Code('ComputePathToPose', 'NO_VALID_PATH', _NP),
    500: _Code('SmoothPath', 'UNKNOWN', _NF),
    501: _Code('SmoothPath', 'INVALID_SMOOTHER', _NF),
    502: _Code('SmoothPath', 'TIMEOUT', _NF),
    503: _Code('SmoothPath', 'SMOOTHED_PATH_IN_COLLISION', _NP),
    504: _Code('SmoothPath', 'FAILED_TO_SMOOTH_PATH', _NF),
    505: _Code('SmoothPath', 'INVALID_PATH', _NF),
    600: _Code('FollowWaypoints', 'UNKNOWN', _NF),
    601: _Code('FollowWaypoints', 'TASK_EXECUTOR_FAILED', _NF),
    700: _Code('Spin', 'UNKNOWN', _NF),
    701: _Code('Spin', 'TIMEOUT', _ST),
    702: _Code('Spin', 'TF_ERROR', _NF),
    703: _Code('Spin', 'COLLISION_AHEAD', _ST),
    710: _Code('BackUp', 'UNKNOWN', _NF),
    711: _Code('BackUp', 'TIMEOUT', _ST),
    712: _Code('BackUp', 'TF_ERROR', _NF),
    713: _Code('BackUp', 'INVALID_INPUT', _NF),
    714: _Code('BackUp', 'COLLISION_AHEAD', _ST),
    720: _Code('DriveOnHeading', 'UNKNOWN', _NF),
    721: _Code('DriveOnHeading', 'TIMEOUT', _ST),
    722: _Code('DriveOnHeading', 'TF_ERROR', _NF),
    723: _Code('DriveOnHeading', 'COLLISION_AHEAD', _ST),
    724: _Code('DriveOnHeading', 'INVALID_INPUT', _NF),
}

#: DockRobot's codes; a dock the server does not know is the Dock operation's DOCK_NOT_FOUND.
DOCK_CODES: typing.Mapping[int, _Code] = {
    901: _Code('DockRobot', 'DOCK_NOT_IN_DB', _with_code(_DOCK_NOT_FOUND)),
    902: _Code('DockRobot', 'DOCK_NOT_VALID', _with_code(_DOCK_NOT_FOUND)),
    903: _Code('DockRobot', 'FAILED_TO_STAGE', _with_code(_DOCKING_FAILED)),
    904: _Code('DockRobot', 'FAILED_TO_DETECT_DOCK', _with_code(_DOCKING_FAILED)),
    905: _Code('DockRobot', 'FAILED_TO_CONTROL', _with_code(_DOCKING_FAILED)),
    906: _Code('DockRobot', 'FAILED_TO_CHARGE', _with_code(_DOCKING_FAILED)),
    999: _Code('DockRobot', 'UNKNOWN', _with_code(_DOCKING_FAILED)),
}

#: UndockRobot's codes; no dock to leave is the Undock operation's NOT_DOCKED.
UNDOCK_CODES: typing.Mapping[int, _Code] = {
    902: _Code('UndockRobot', 'DOCK_NOT_VALID', _with_code(_NOT_DOCKED)),
    905: _Code('UndockRobot', 'FAILED_TO_CONTROL', _ST),
    999: _Code('UndockRobot', 'UNKNOWN', _NF),
}

_TABLES = {
    'navigate_to_pose': NAVIGATION_CODES,
    'follow_waypoints': NAVIGATION_CODES,
    'dock_robot': DOCK_CODES,
    'undock_robot': UNDOCK_CODES,
}


def nav2_error(action: str, code: int, error_msg: str, *, context: str = '') -> ExecutionError:
    """
    Return the error an operation ends with when a Nav2 action aborted with code.

    :param action: the Nav2 action, e.g. ``navigate_to_pose``.
    :param code: the result's ``error_code`` (0: Nav2 gave none).
    :param error_msg: the result's ``error_msg``, quoted in the message.
    :param context: what the code refers to, e.g. ``waypoint 2 of 4``.
    """
    known = _TABLES[action].get(code)
    if code == 0:
        what = 'without an error code'
    elif known is None:
        what = f'with error_code {code}, which Nav2 Jazzy does not declare for {action}'
    else:
        what = f'with error_code {code} ({known.declared_by} {known.name})'
    where = f' at {context}' if context else ''
    said = f': {error_msg}' if error_msg else ' (no error_msg)'
    message = f'{action} aborted by Nav2{where} {what}{said}'
    return (known.error if known is not None else NavigationFailedError)(message)
