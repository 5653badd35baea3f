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
What a robot remembers of its operation ids: a bounded live history over a durable record.

The in-memory history (``history_size``, a ring of ended records plus every running one)
serves live records, progress and the "list everything" query. The durable
:class:`~brain_execution.core.operation_store.OperationStore`, when given, answers for every
id it accepted, however old (up to its retention) and across restarts, so idempotency never
depends on the history's size. Without a store (unit tests, tools) the history alone is the
memory, as before.
"""

import collections
import threading
import typing

from .operation import OperationRecord, OperationState, Outcome
from .operation_store import OperationStore, StoredOperation

__all__ = ['OperationMemory']


class OperationMemory:
    """
    The robot runtime's memory of operations.

    :param history_size: ended records kept in memory.
    :param store: the durable record; None = memory only.
    :param logger: receives (level, message).
    """

    def __init__(self, *, history_size: int, store: typing.Optional[OperationStore] = None,
                 logger: typing.Callable[[str, str], None] = None):
        if history_size < 1:
            raise ValueError(f'history_size={history_size} must be at least 1')
        self._history_size = history_size
        self.store = store
        self._log = logger or (lambda level, message: None)
        self._records: 'collections.OrderedDict[str, OperationRecord]' = (
            collections.OrderedDict())
        # Ids being written to the store by an intake that released the runtime's lock.
        self._intake: typing.Set[str] = set()
        # Signalled when an intake ends, for a second goal of the same id waiting to attach.
        self._intake_done = threading.Condition()

    @property
    def durable(self) -> bool:
        return self.store is not None

    def get(self, operation_id: str) -> typing.Optional[OperationRecord]:
        """
        Return the record of an id: live or in the history, else from the durable record.

        :raises OperationRecordError: the durable record cannot be read.
        """
        record = self._records.get(operation_id)
        if record is not None or self.store is None:
            return record
        stored = self.store.get(operation_id)
        return None if stored is None else _record_of(stored)

    def records(self) -> typing.List[OperationRecord]:
        return list(self._records.values())

    def remember(self, record: OperationRecord) -> None:
        self._records[record.operation_id] = record
        excess = len(self._records) - self._history_size
        if excess <= 0:
            return
        # Running operations are never forgotten (their ids must stay idempotent); the oldest
        # ended ones go, however long a running one has been at the head of the history.
        for old_id in [i for i, r in self._records.items() if r.done][:excess]:
            del self._records[old_id]

    # --- intake reservations ---------------------------------------------------------

    def reserve(self, operation_id: str) -> bool:
        """Mark an id as being recorded; False if another intake of it is under way."""
        with self._intake_done:
            if operation_id in self._intake:
                return False
            self._intake.add(operation_id)
            return True

    def accepting(self, operation_id: str) -> bool:
        """Whether an intake of this id is being written to the store right now."""
        with self._intake_done:
            return operation_id in self._intake

    def release(self, operation_id: str) -> None:
        with self._intake_done:
            self._intake.discard(operation_id)
            self._intake_done.notify_all()

    def wait_intake(self, operation_id: str, timeout_s: float) -> bool:
        """Wait until no intake of this id is under way; False if one still is at timeout_s."""
        with self._intake_done:
            return self._intake_done.wait_for(
                lambda: operation_id not in self._intake, timeout_s)

    # --- durable writes --------------------------------------------------------------

    def record_accepted(self, operation_id: str, name: str,
                        content: typing.Mapping[str, typing.Any], *,
                        wait: bool = True) -> None:
        """
        Store an accepted operation as started, before the robot acts on it.

        Stored as started because the platform may be commanded any moment after: a crash
        between this write and the first command must read as "may have acted".

        :param wait: commit now (raising on failure); False queues it (emergencies, which
            must never wait behind a commit).
        :raises OperationRecordError: ``wait`` and not stored.
        """
        if self.store is None:
            return
        stored = StoredOperation(operation_id=operation_id, operation=name, content=content,
                                 started=True, state=OperationState.RUNNING)
        if wait:
            self.store.insert(stored)
        else:
            self.store.insert_later(stored)

    def forget_accepted(self, operation_id: str) -> None:
        """Remove an id stored at intake whose operation was then refused before acting."""
        if self.store is None:
            return
        try:
            self.store.delete(operation_id)
        except Exception as error:  # noqa: B902 - logged: the row then reads as interrupted
            self._log('error', f'{error}; {operation_id} will read as started after a restart')

    def record_outcome(self, record: OperationRecord) -> None:
        """
        Store an ended record's outcome, then run its done callbacks.

        Without a store the callbacks run at once. A failed write is logged and the callbacks
        still run: the operation did end, and its caller must hear so.
        """
        if self.store is None or not record.started:
            record._notify()
            return
        outcome = record.outcome

        def on_done(error: typing.Optional[str]) -> None:
            if error is not None:
                self._log('error', f'{error}; the outcome of {record.operation_id} '
                                   f'({outcome.code}) is not durable: after a restart it '
                                   'reads INTERRUPTED')
            record._notify()

        self.store.finish_later(record.operation_id, state=int(record.state), code=outcome.code,
                                message=outcome.message, retryable=outcome.retryable,
                                result=outcome.result, elapsed_s=outcome.elapsed_s,
                                on_done=on_done)

    def close_interrupted(self, message: str) -> typing.List[str]:
        """Close operations a dead executor left running (see OperationStore)."""
        if self.store is None:
            return []
        return self.store.close_interrupted(message)


def _record_of(stored: StoredOperation) -> OperationRecord:
    """Return a record rebuilt from a stored row."""
    if stored.ended:
        outcome = Outcome(code=stored.code, message=stored.message, retryable=stored.retryable,
                          result=dict(stored.result), elapsed_s=stored.elapsed_s)
        record = OperationRecord.ended(
            operation_id=stored.operation_id, name=stored.operation, content=stored.content,
            started=stored.started, outcome=outcome)
        # The stored state, not one re-derived from the code (they agree today).
        record.state = OperationState(stored.state)
        return record
    # Accepted and not ended, yet not live in this process: only possible between an
    # intake's commit and its start (another thread's), since restarts close such rows.
    record = OperationRecord(operation_id=stored.operation_id, name=stored.operation,
                             priority=0, created_s=0.0, content=stored.content)
    record.started = stored.started
    record.state = OperationState.RUNNING
    return record
