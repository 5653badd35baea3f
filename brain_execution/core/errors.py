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
Result codes and the exception hierarchy of brain_execution.

The codes mirror ``brain_execution_interfaces/msg/ErrorCode`` (the core may not import the
interfaces; a test checks that both lists agree). Every exception carries the code it maps to
and whether the same request may succeed if sent again, so adapters map exceptions to results
without a lookup table of their own.
"""

import enum
import typing

__all__ = [
    'AckTimeoutError',
    'AltitudeLimitError',
    'BusyError',
    'CanceledError',
    'CommunicationError',
    'EmergencyStopActiveError',
    'ErrorCode',
    'ExecutionError',
    'FleetFileError',
    'GeofenceViolationError',
    'InvalidParametersError',
    'JournalUnavailableError',
    'LinkCorruptedError',
    'ManualOverrideError',
    'ModeChangeFailedError',
    'NavigationDataUnavailableError',
    'NavigationFailedError',
    'NoPathError',
    'OperationIdConflictError',
    'OperationRecordError',
    'OperationTimeoutError',
    'PlatformFailsafeError',
    'PlatformNotReadyError',
    'PlatformRejectedError',
    'PositionLostError',
    'PostconditionFailedError',
    'PreconditionFailedError',
    'PreemptedError',
    'REQUEST_ERROR_CODES',
    'SpeedLimitError',
    'StuckError',
    'UnsupportedOperationError',
    'code_name',
    'is_retryable',
]


class ErrorCode(enum.IntEnum):
    """Shared result codes; per-operation codes start at 100 (see the action files)."""

    NONE = 0
    INTERNAL_ERROR = 1
    INVALID_PARAMETERS = 2
    PRECONDITION_FAILED = 3
    BUSY = 4
    PREEMPTED = 5
    CANCELED = 6
    TIMEOUT = 7
    PLATFORM_REJECTED = 8
    COMMUNICATION_FAILURE = 9
    UNSUPPORTED = 10
    GEOFENCE_VIOLATION = 11
    ALTITUDE_LIMIT_VIOLATION = 12
    SPEED_LIMIT_VIOLATION = 13
    EMERGENCY_STOP_ACTIVE = 14
    POSTCONDITION_FAILED = 15
    CIRCUIT_OPEN = 16
    DEPENDENCY_FAILED = 17
    UNKNOWN_ROBOT = 18
    UNKNOWN_OPERATION = 19
    INVALID_PLAN = 20
    SHUTDOWN = 21
    OUTCOME_UNKNOWN = 22
    OPERATION_ID_CONFLICT = 23
    JOURNAL_UNAVAILABLE = 24
    OPERATION_RECORD_FAILED = 27
    INTERRUPTED = 28
    # 30..39: autopilot outcomes (MAVROS: PX4, ArduPilot); the autopilot's text is quoted.
    MANUAL_OVERRIDE = 30
    PLATFORM_FAILSAFE = 31
    COMMAND_TEMPORARILY_REJECTED = 32
    COMMAND_DENIED = 33
    COMMAND_UNSUPPORTED = 34
    COMMAND_FAILED = 35
    COMMAND_CANCELLED = 36
    ACK_TIMEOUT = 37
    MODE_CHANGE_FAILED = 38
    POSITION_LOST = 39
    # 40..49: navigation outcomes (Nav2 and other navigation stacks).
    PLATFORM_NOT_READY = 40
    NO_PATH = 41
    STUCK = 42
    NAVIGATION_FAILED = 43
    LINK_CORRUPTED = 50
    NAVIGATION_DATA_UNAVAILABLE = 51


# Codes for which the same request may succeed later without any change by the caller.
_RETRYABLE = frozenset({
    ErrorCode.BUSY,
    ErrorCode.TIMEOUT,
    ErrorCode.COMMUNICATION_FAILURE,
    ErrorCode.CIRCUIT_OPEN,
    ErrorCode.SHUTDOWN,
    ErrorCode.OPERATION_RECORD_FAILED,
    ErrorCode.LINK_CORRUPTED,
    ErrorCode.NAVIGATION_DATA_UNAVAILABLE,
    ErrorCode.PLATFORM_NOT_READY,
    ErrorCode.JOURNAL_UNAVAILABLE,
    ErrorCode.COMMAND_TEMPORARILY_REJECTED,
    ErrorCode.ACK_TIMEOUT,
    ErrorCode.MODE_CHANGE_FAILED,
})


# Codes that blame the request, not the robot: the same request fails the same way, and a
# good one to the same robot would succeed.
REQUEST_ERROR_CODES = frozenset({
    ErrorCode.INVALID_PARAMETERS,
    ErrorCode.PRECONDITION_FAILED,
    ErrorCode.UNSUPPORTED,
    ErrorCode.GEOFENCE_VIOLATION,
    ErrorCode.ALTITUDE_LIMIT_VIOLATION,
    ErrorCode.SPEED_LIMIT_VIOLATION,
})


def is_retryable(code: int) -> bool:
    """Return whether a result with this shared code may succeed if sent again unchanged."""
    return code in _RETRYABLE


def code_name(code: int) -> str:
    """Return the shared code's name, or the number of an operation-specific code."""
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)


class ExecutionError(Exception):
    """Raised when an operation cannot start or does not complete; the base of all others."""

    code: int = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: int = None, retryable: bool = None):
        super().__init__(message)
        if code is not None:
            self.code = int(code)
        self.retryable = is_retryable(self.code) if retryable is None else bool(retryable)

    @property
    def message(self) -> str:
        return str(self)


class InvalidParametersError(ExecutionError):
    """Raised when a goal field is NaN, infinite, out of range, empty or of an unknown kind."""

    code = ErrorCode.INVALID_PARAMETERS


class PreconditionFailedError(ExecutionError):
    """Raised when the robot is not in a state to start the operation."""

    code = ErrorCode.PRECONDITION_FAILED


class BusyError(ExecutionError):
    """Raised when a goal is refused: work of higher priority runs, or a queue is full."""

    code = ErrorCode.BUSY


class PreemptedError(ExecutionError):
    """Raised when a running operation is ended by a newer goal or an emergency stop."""

    code = ErrorCode.PREEMPTED


class CanceledError(ExecutionError):
    """Raised when the caller canceled the operation."""

    code = ErrorCode.CANCELED


class OperationIdConflictError(ExecutionError):
    """Raised when an operation id or plan id is reused with different content."""

    code = ErrorCode.OPERATION_ID_CONFLICT


class OperationRecordError(ExecutionError):
    """Raised when the robot's durable operation record cannot store or read an operation."""

    code = ErrorCode.OPERATION_RECORD_FAILED


class OperationTimeoutError(ExecutionError):
    """Raised when an operation did not finish before its deadline."""

    code = ErrorCode.TIMEOUT


class PlatformRejectedError(ExecutionError):
    """Raised when the autopilot or navigation stack refuses a command."""

    code = ErrorCode.PLATFORM_REJECTED


class CommunicationError(ExecutionError):
    """Raised when the link to the platform (or to a robot executor) is lost."""

    code = ErrorCode.COMMUNICATION_FAILURE


class UnsupportedOperationError(ExecutionError):
    """Raised when the platform cannot perform the requested operation."""

    code = ErrorCode.UNSUPPORTED


class GeofenceViolationError(ExecutionError):
    """Raised when a target lies outside the geofence polygon."""

    code = ErrorCode.GEOFENCE_VIOLATION


class AltitudeLimitError(ExecutionError):
    """Raised when a target lies above the altitude ceiling."""

    code = ErrorCode.ALTITUDE_LIMIT_VIOLATION


class SpeedLimitError(ExecutionError):
    """Raised when a requested speed exceeds the robot's speed limit."""

    code = ErrorCode.SPEED_LIMIT_VIOLATION


class EmergencyStopActiveError(ExecutionError):
    """Raised when motion is requested while an emergency stop is latched."""

    code = ErrorCode.EMERGENCY_STOP_ACTIVE


class PostconditionFailedError(ExecutionError):
    """Raised when an operation ended but the robot is not in the state it should be."""

    code = ErrorCode.POSTCONDITION_FAILED


class LinkCorruptedError(ExecutionError):
    """Raised when data arrives from the platform but fails validation (checksums, framing)."""

    code = ErrorCode.LINK_CORRUPTED


class NavigationDataUnavailableError(ExecutionError):
    """Raised when the platform is connected but reports no valid position fix or heading."""

    code = ErrorCode.NAVIGATION_DATA_UNAVAILABLE


class PlatformNotReadyError(ExecutionError):
    """Raised when the navigation stack is not active yet, or its server is missing."""

    code = ErrorCode.PLATFORM_NOT_READY


class NoPathError(ExecutionError):
    """Raised when the navigation stack finds no way to the target."""

    code = ErrorCode.NO_PATH


class StuckError(ExecutionError):
    """Raised when the robot makes no progress, or an obstacle stops it."""

    code = ErrorCode.STUCK


class NavigationFailedError(ExecutionError):
    """Raised when the navigation stack abandons a goal for another reason."""

    code = ErrorCode.NAVIGATION_FAILED


class JournalUnavailableError(ExecutionError):
    """Raised when new work is refused because the journal failed to store a write."""

    code = ErrorCode.JOURNAL_UNAVAILABLE


class ManualOverrideError(ExecutionError):
    """Raised when a pilot (or another client) took the vehicle over by changing its mode."""

    code = ErrorCode.MANUAL_OVERRIDE


class PlatformFailsafeError(ExecutionError):
    """Raised when the autopilot entered a failsafe (return, land) by itself."""

    code = ErrorCode.PLATFORM_FAILSAFE


class AckTimeoutError(ExecutionError):
    """Raised when the autopilot did not acknowledge a command in time."""

    code = ErrorCode.ACK_TIMEOUT


class ModeChangeFailedError(ExecutionError):
    """Raised when the autopilot did not enter the requested mode in time."""

    code = ErrorCode.MODE_CHANGE_FAILED


class PositionLostError(ExecutionError):
    """Raised when the autopilot has no position: GPS or its local estimate lost."""

    code = ErrorCode.POSITION_LOST


class FleetFileError(ValueError):
    """Raised when a fleet file cannot be read or is invalid; lists every problem found."""

    def __init__(self, problems: typing.Sequence[str]):
        self.problems = tuple(problems)
        super().__init__('; '.join(self.problems))
