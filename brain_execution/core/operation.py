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
One robot operation as the runtime and the coordinator see it: state, outcome, record.

Shared by the robot runtime (which runs operations), the coordinator (which reads robot
outcomes) and the robot's durable operation record (which rebuilds records after a restart).
"""

import dataclasses
import enum
import threading
import typing

from .errors import ErrorCode, ExecutionError
from .program import Progress

__all__ = ['OperationRecord', 'OperationState', 'Outcome', 'request_content']


class OperationState(enum.IntEnum):
    """Same values as OperationStatus.STATE_*."""

    PENDING = 1
    RUNNING = 2
    SUCCEEDED = 4
    FAILED = 5
    CANCELED = 6


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How an operation ended: a result code, a reason, and the result fields."""

    code: int
    message: str = ''
    retryable: bool = False
    result: typing.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.code == ErrorCode.NONE

    @classmethod
    def from_error(cls, error: ExecutionError, elapsed_s: float = 0.0) -> 'Outcome':
        return cls(code=error.code, message=str(error), retryable=error.retryable,
                   elapsed_s=elapsed_s)


def request_content(name: str, params: typing.Mapping[str, typing.Any]) -> dict:
    """
    Return what makes two requests under one operation id the same request.

    The operation and its goal fields; not priority or timeout_s, which say how to schedule
    the request, not what the robot does (a caller reattaching may recompute them).
    """
    return {'operation': name, 'parameters': dict(params)}


class OperationRecord:
    """One operation's identity, live progress and, once ended, its outcome."""

    def __init__(self, *, operation_id: str, name: str, priority: int, created_s: float,
                 content: typing.Optional[typing.Mapping[str, typing.Any]] = None):
        self.operation_id = operation_id
        self.name = name
        # The request's canonical content (see request_content): the same id with other
        # content is refused with OPERATION_ID_CONFLICT.
        self.content = content if content is not None else request_content(name, {})
        self.priority = priority
        self.created_s = created_s
        self.ended_s = None
        self.state = OperationState.PENDING
        # True once the program was started (it may have commanded the platform); a refusal
        # at intake never acted, so sending it again cannot make anything happen twice.
        self.started = False
        self.progress = Progress()
        self.outcome: typing.Optional[Outcome] = None
        self._done_callbacks = []
        # Done callbacks wait until the outcome is durable (see _finish), so that no caller
        # hears of an outcome a restart could turn into INTERRUPTED.
        self._notified = False
        self._callbacks_lock = threading.Lock()

    @classmethod
    def ended(cls, *, operation_id: str, name: str, content: typing.Mapping[str, typing.Any],
              started: bool, outcome: Outcome, created_s: float = 0.0,
              ended_s: float = 0.0) -> 'OperationRecord':
        """Return the record of an operation that ended earlier (e.g. read back from disk)."""
        record = cls(operation_id=operation_id, name=name, priority=0, created_s=created_s,
                     content=content)
        record.started = started
        record._finish(outcome, ended_s)
        return record

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def add_done_callback(self, callback: typing.Callable[['OperationRecord'], None]) -> None:
        """Call ``callback(record)`` once the operation ended and its outcome is recorded."""
        with self._callbacks_lock:
            if not self._notified:
                self._done_callbacks.append(callback)
                return
        callback(self)

    def _finish(self, outcome: Outcome, now_s: float, *, notify: bool = True) -> None:
        """End the record; ``notify=False`` leaves the callbacks to :meth:`_notify`."""
        self.outcome = outcome
        self.ended_s = now_s
        if outcome.succeeded:
            self.state = OperationState.SUCCEEDED
        elif outcome.code == ErrorCode.CANCELED:
            self.state = OperationState.CANCELED
        else:
            self.state = OperationState.FAILED
        if notify:
            self._notify()

    def _notify(self) -> None:
        with self._callbacks_lock:
            self._notified = True
            callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            callback(self)
