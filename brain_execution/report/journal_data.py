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
A plan as its coordinator journaled it, read without disturbing the coordinator.

The journal is opened read-only through a ``mode=ro`` URI, never through
:class:`~brain_execution.core.journal.Journal`: that class takes the journal's lock file
and writes its schema, and a report must be writable while the coordinator runs (SQLite's
WAL lets this reader see a consistent snapshot without blocking the writer). Every query of
one :func:`read_plan` call runs in one read transaction, so the steps, operations and dead
letters all come from the same instant.

Times are the coordinator's clock in seconds (sim time under ``use_sim_time``).
"""

import dataclasses
import json
import os
import sqlite3
import typing
import urllib.parse

from ..core.errors import code_name
from ..core.journal import SCHEMA_VERSION

__all__ = ['DeadLetterSummary', 'JournalReadError', 'MissionRecord', 'OperationRecord',
           'STATE_NAMES',
           'StepSummary', 'UnknownPlanError', 'list_plans', 'read_plan']

# OperationStatus.STATE_* (core/scheduler.StepState has the same values).
STATE_NAMES = {0: 'UNKNOWN', 1: 'PENDING', 2: 'RUNNING', 3: 'RETRYING', 4: 'SUCCEEDED',
               5: 'FAILED', 6: 'CANCELED', 7: 'SKIPPED', 8: 'DEAD_LETTER', 9: 'COMPENSATED'}
_TABLES = {'plans', 'steps', 'operations', 'dead_letters'}
# Operation ids of compensations end so (core/coordination.py): they share the step's id.
_UNDO_SUFFIX = '~undo'


class JournalReadError(Exception):
    """Raised when the journal is missing, unreadable, corrupt or of an unknown schema."""


class UnknownPlanError(JournalReadError, LookupError):
    """Raised when the journal holds no plan of the id asked for (or no plan at all)."""


@dataclasses.dataclass(frozen=True)
class OperationRecord:
    """One journaled operation: a step's operation (last attempt) or a compensation."""

    operation_id: str
    robot_id: str
    operation: str
    params: str
    attempt: int
    created_s: float
    dispatched_s: typing.Optional[float]
    code: typing.Optional[int]
    message: str
    finished_s: typing.Optional[float]

    @property
    def compensation(self) -> bool:
        return self.operation_id.endswith(_UNDO_SUFFIX)


@dataclasses.dataclass(frozen=True)
class StepSummary:
    """One plan step: what was asked, its last journaled state, and its operations."""

    step_id: str
    robot_id: str
    operation: str
    parameters: typing.Any
    depends_on: typing.Tuple[str, ...]
    timeout_s: float
    max_attempts: int
    state: str
    attempt: int
    code: int
    message: str
    updated_s: typing.Optional[float]
    operation_record: typing.Optional[OperationRecord]
    compensation: typing.Optional[OperationRecord]

    @property
    def error(self) -> str:
        return '' if not self.code else code_name(self.code)

    @property
    def started_s(self) -> typing.Optional[float]:
        """When the first attempt was journaled (about to be sent); None if never."""
        return None if self.operation_record is None else self.operation_record.created_s

    @property
    def ended_s(self) -> typing.Optional[float]:
        record = self.operation_record
        if record is not None and record.finished_s is not None:
            return record.finished_s
        return self.updated_s if self.started_s is not None else None

    @property
    def duration_s(self) -> typing.Optional[float]:
        if self.started_s is None or self.ended_s is None:
            return None
        return max(0.0, self.ended_s - self.started_s)


@dataclasses.dataclass(frozen=True)
class DeadLetterSummary:
    """A dead letter of the plan, as journaled."""

    operation_id: str
    step_id: str
    robot_id: str
    operation: str
    attempts: int
    error_code: int
    error_msg: str
    first_attempt_s: float
    dead_letter_s: float


@dataclasses.dataclass(frozen=True)
class MissionRecord:
    """A journaled plan with its steps (in plan order), dead letters and outcome."""

    journal_path: str
    plan_id: str
    received_s: float
    finished_s: typing.Optional[float]
    outcome: typing.Optional[typing.Mapping[str, typing.Any]]
    steps: typing.Tuple[StepSummary, ...]
    dead_letters: typing.Tuple[DeadLetterSummary, ...]

    @property
    def robots(self) -> typing.List[str]:
        """Robot ids in the order they first appear in the plan."""
        return list(dict.fromkeys(s.robot_id for s in self.steps))

    @property
    def outcome_name(self) -> str:
        if self.outcome is None:
            return 'RUNNING'
        return STATE_NAMES.get(self.outcome.get('state'), str(self.outcome.get('state')))


def _connect(path: str) -> sqlite3.Connection:
    if not os.path.isfile(path):
        raise JournalReadError(f'no journal at {path} (the coordinator writes it to its '
                               'journal_path parameter; pass --journal PATH)')
    uri = 'file:%s?mode=ro' % urllib.parse.quote(os.path.abspath(path))
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
    except sqlite3.Error as e:
        raise JournalReadError(f'cannot open journal {path}: {e}') from e
    conn.row_factory = sqlite3.Row
    return conn


def _check(conn: sqlite3.Connection, path: str) -> None:
    version = conn.execute('PRAGMA user_version').fetchone()[0]
    tables = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version > SCHEMA_VERSION:
        raise JournalReadError(f'journal {path} has schema version {version}, newer than '
                               f'version {SCHEMA_VERSION} known here; upgrade brain_execution')
    if not _TABLES <= tables:
        raise JournalReadError(f'{path} is an SQLite database but not a brain_execution '
                               f'journal (tables missing: {", ".join(sorted(_TABLES - tables))})')


def _read(path: str, work: typing.Callable[[sqlite3.Connection], typing.Any]):
    path = os.fspath(path)
    conn = _connect(path)
    try:
        # One read transaction: a consistent snapshot while the coordinator keeps writing.
        conn.execute('BEGIN')
        try:
            _check(conn, path)
            return work(conn)
        finally:
            conn.execute('COMMIT')
    except sqlite3.DatabaseError as e:
        raise JournalReadError(f'journal {path} is unreadable (corrupt or not a '
                               f'database?): {e}') from e
    finally:
        conn.close()


def list_plans(path: typing.Union[str, os.PathLike]) -> typing.List[typing.Tuple[str, float]]:
    """Return ``(plan_id, received_s)`` of every journaled plan, oldest first."""
    return _read(os.fspath(path), lambda conn: [
        (row['plan_id'], row['received_s'])
        for row in conn.execute('SELECT plan_id, received_s FROM plans ORDER BY seq')])


def _operation(row) -> OperationRecord:
    return OperationRecord(
        operation_id=row['operation_id'], robot_id=row['robot_id'],
        operation=row['operation'], params=row['params'], attempt=row['attempt'],
        created_s=row['created_s'], dispatched_s=row['dispatched_s'], code=row['code'],
        message=row['message'], finished_s=row['finished_s'])


def _json(path: str, what: str, text: typing.Optional[str]):
    try:
        return None if text is None else json.loads(text)
    except ValueError as e:
        raise JournalReadError(f'journal {path}: {what} is not valid JSON: {e}') from e


def _mission(path: str, conn: sqlite3.Connection, plan_id: typing.Optional[str]
             ) -> MissionRecord:
    if plan_id:
        row = conn.execute('SELECT * FROM plans WHERE plan_id = ?', (plan_id,)).fetchone()
    else:
        row = conn.execute('SELECT * FROM plans ORDER BY seq DESC LIMIT 1').fetchone()
    if row is None:
        known = [r[0] for r in conn.execute(
            'SELECT plan_id FROM plans ORDER BY seq DESC LIMIT 5')]
        if not plan_id:
            raise UnknownPlanError(f'journal {path} holds no plan yet')
        raise UnknownPlanError(f'journal {path} holds no plan {plan_id!r} (latest: '
                               f'{", ".join(known) or "none"})')
    plan_id = row['plan_id']
    plan = _json(path, f'plan {plan_id!r}', row['plan'])
    states = {r['step_id']: r for r in conn.execute(
        'SELECT * FROM steps WHERE plan_id = ?', (plan_id,))}
    operations: typing.Dict[str, typing.List[OperationRecord]] = {}
    for r in conn.execute('SELECT * FROM operations WHERE plan_id = ? ORDER BY seq',
                          (plan_id,)):
        operations.setdefault(r['step_id'], []).append(_operation(r))
    steps = []
    for raw in plan.get('steps', ()):
        step_id = raw['step_id']
        state = states.get(step_id)
        ops = operations.get(step_id, [])
        main = [o for o in ops if not o.compensation]
        undo = [o for o in ops if o.compensation]
        steps.append(StepSummary(
            step_id=step_id, robot_id=raw.get('robot_id', ''),
            operation=raw.get('operation', ''), parameters=raw.get('parameters'),
            depends_on=tuple(raw.get('depends_on', ())),
            timeout_s=float(raw.get('timeout_s') or 0.0),
            max_attempts=int((raw.get('retry') or {}).get('max_attempts', 0) or 0),
            state=STATE_NAMES.get(state['state'], str(state['state'])) if state else 'PENDING',
            attempt=state['attempt'] if state else 0, code=state['code'] if state else 0,
            message=state['message'] if state else '',
            updated_s=state['updated_s'] if state else None,
            operation_record=main[-1] if main else None,
            compensation=undo[-1] if undo else None))
    letters = tuple(DeadLetterSummary(
        operation_id=r['operation_id'], step_id=r['step_id'], robot_id=r['robot_id'],
        operation=r['operation'], attempts=r['attempts'], error_code=r['error_code'],
        error_msg=r['error_msg'], first_attempt_s=r['first_attempt_s'],
        dead_letter_s=r['dead_letter_s']) for r in conn.execute(
            'SELECT * FROM dead_letters WHERE plan_id = ? ORDER BY seq', (plan_id,)))
    return MissionRecord(
        journal_path=path, plan_id=plan_id, received_s=row['received_s'],
        finished_s=row['finished_s'],
        outcome=_json(path, f'outcome of plan {plan_id!r}', row['outcome']),
        steps=tuple(steps), dead_letters=letters)


def read_plan(path: typing.Union[str, os.PathLike],
              plan_id: typing.Optional[str] = None) -> MissionRecord:
    """
    Read one plan from a journal, read-only.

    :param path: the coordinator's journal (its ``journal_path`` parameter).
    :param plan_id: the plan; None for the most recently received one.
    :raises JournalReadError: the journal is missing, corrupt or of a newer schema.
    :raises UnknownPlanError: no such plan is journaled.
    """
    path = os.fspath(path)
    return _read(path, lambda conn: _mission(path, conn, plan_id))
