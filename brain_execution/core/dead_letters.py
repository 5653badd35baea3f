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
Dead letters: operations whose retries are exhausted, or whose outcome stayed unknown.

:class:`DeadLetterOffice` turns such a step into a :class:`DeadLetterRecord`, stores it (in the
journal, or without one in :class:`MemoryDeadLetters`), tells the listener, and serves the
coordinator's dead-letter API: page, count, retry under a new id, purge.
"""

import collections
import json
import typing

from .attempt_ids import retry_operation_id
from .errors import code_name, ErrorCode, ExecutionError
from .journal import DeadLetterRecord
from .plan import PlanStep
from .plan_codec import jsonable
from .scheduler import StepStatus

__all__ = ['DeadLetterOffice', 'MemoryDeadLetters']


class MemoryDeadLetters:
    """Dead letters when there is no journal: the journal's API, bounded, oldest dropped."""

    def __init__(self, limit: int, log: typing.Callable[[str, str], None]):
        self._limit = limit
        self._log = log
        self._records: 'collections.OrderedDict[str, DeadLetterRecord]' = (
            collections.OrderedDict())

    def add_dead_letter(self, record: DeadLetterRecord) -> None:
        self._records.pop(record.operation_id, None)
        self._records[record.operation_id] = record
        while len(self._records) > self._limit:
            dropped, _ = self._records.popitem(last=False)
            self._log('warn', f'dead letter {dropped} dropped: more than {self._limit} held '
                              f'without a journal')

    def list_dead_letters(self, robot_id: str = '', max_entries: int = 0, offset: int = 0):
        found = [r for r in self._records.values() if robot_id in ('', r.robot_id)][offset:]
        return found[:max_entries] if max_entries else found

    def dead_letter_count(self, robot_id: str = '') -> int:
        if robot_id:
            return sum(1 for r in self._records.values() if r.robot_id == robot_id)
        return len(self._records)

    def take_dead_letters(self, operation_ids):
        ids = list(dict.fromkeys(operation_ids))
        missing = [i for i in ids if i not in self._records]
        if missing:
            raise ExecutionError(f'not listed as dead letters: {", ".join(missing)}',
                                 code=ErrorCode.INVALID_PARAMETERS)
        return [self._records.pop(i) for i in ids]

    def purge_dead_letters(self, operation_ids=(), all=False):  # noqa: A002 - journal's API
        ids = list(dict.fromkeys(operation_ids))
        if bool(ids) == bool(all):
            raise ValueError('purge_dead_letters needs either operation_ids or all=True')
        if all:
            count = len(self._records)
            self._records.clear()
            return count
        self.take_dead_letters(ids)
        return len(ids)


class DeadLetterOffice:
    """
    Files dead letters and serves them back; called under the engine lock only.

    :param store: The journal, or a :class:`MemoryDeadLetters` (the same API).
    :param on_store_failure: Called with (what, error) when the store failed a write.
    :param log: Receives (level, message).
    :param on_added: Called with each record filed (to tell the listener).
    """

    def __init__(self, store: typing.Any, *,
                 on_store_failure: typing.Callable[[str, Exception], None],
                 log: typing.Callable[[str, str], None],
                 on_added: typing.Callable[[DeadLetterRecord], None]):
        self._store = store
        self._on_store_failure = on_store_failure
        self._log = log
        self._on_added = on_added

    def file(self, plan_id: str, step: PlanStep, status: StepStatus, *, code: int,
             message: str, first_attempt_s: float, now: float) -> DeadLetterRecord:
        """
        File the step's operation as a dead letter (the caller then marks the step).

        A store that fails the write is reported, not raised: the step still ends as a dead
        letter, and the journal fault closes intake.
        """
        record = DeadLetterRecord(
            operation_id=status.operation_id, robot_id=step.robot_id,
            operation=step.operation,
            parameters=json.dumps(jsonable(step.parameters), sort_keys=True),
            attempts=status.attempt, error_code=code, error_msg=message,
            first_attempt_s=first_attempt_s, dead_letter_s=now, plan_id=plan_id,
            step_id=step.step_id)
        try:
            self._store.add_dead_letter(record)
        except (ExecutionError, ValueError) as e:
            self._on_store_failure(f'dead letter {status.operation_id}', e)
        self._log('warn', f'{status.operation_id} on {step.robot_id} is a dead letter '
                          f'after {status.attempt} attempt(s): {code_name(code)}: {message}')
        self._on_added(record)
        return record

    def page(self, robot_id: str, max_entries: int,
             offset: int) -> typing.List[DeadLetterRecord]:
        """Return one page of dead letters, oldest first."""
        return list(self._store.list_dead_letters(robot_id, max_entries, offset))

    def count(self, robot_id: str = '') -> int:
        """Return how many dead letters are held (of one robot with ``robot_id``)."""
        return self._store.dead_letter_count(robot_id)

    def retry(self, operation_ids: typing.Sequence[str],
              submit: typing.Callable[..., typing.Any]) -> typing.List[typing.Any]:
        """
        Take dead letters off the list and pass each to ``submit`` under a new operation id.

        :param submit: ``submit(robot_id, operation, params, operation_id=...)``, returning
            a handle.
        :return: One handle per dead letter, in the order given.
        :raises ExecutionError: When an id is not listed (then nothing is taken), or submit
            raised (then the dead letters not yet resubmitted are listed again).
        """
        records = self._store.take_dead_letters(list(operation_ids))
        handles = []
        for index, record in enumerate(records):
            try:
                params = json.loads(record.parameters) if record.parameters else {}
                handles.append(submit(record.robot_id, record.operation, params,
                                      operation_id=retry_operation_id(record.operation_id)))
            except Exception:
                # Put back what was not resubmitted, so nothing is lost.
                for unsent in records[index:]:
                    self._store.add_dead_letter(unsent)
                raise
        return handles

    def purge(self, operation_ids: typing.Sequence[str], *, everything: bool) -> int:
        """Remove dead letters for good; return how many were removed."""
        return self._store.purge_dead_letters(list(operation_ids), all=everything)
