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
The durable journal: plans, operations and dead letters in one SQLite database.

The coordinator journals before it acknowledges: every write method returns only once the
transaction holding the write has committed, so whatever a caller was told survives a SIGKILL
and a power loss. After a restart, :meth:`Journal.unfinished_plans` gives the plans to resume
and :meth:`Journal.unresolved_operations` the operations that were sent to a robot without a
known result; those are reconciled by asking the robot, unless declared safe to repeat.

Layout:

* One database file in WAL mode (readers never block the writer) with explicit pragmas that
  are read back on open; the schema carries its version in ``user_version``, and a database
  written by a newer brain_execution is refused rather than misread.
* One writer: every write is a small function run by a dedicated writer thread, fed through a
  bounded queue. A full queue makes the submitter wait up to ``submit_timeout_s`` and then
  raises :class:`JournalFullError` (a :class:`~brain_execution.core.errors.BusyError`, so the
  adapter refuses the goal as BUSY instead of losing it). Writes waiting together are
  committed in one transaction (group commit), each in its own savepoint, so one failing
  write does not undo the others and a burst costs one fsync, not one per write.
* Reads use their own connection (query-only), serialised by a lock.
* A lock file next to the database keeps a second process from opening the same journal: two
  coordinators resuming the same plans would send their operations twice.

Payloads (plans, outcomes, results) must be JSON-serialisable; they are stored as JSON text
and come back as parsed JSON (tuples come back as lists). Operation parameters given as text
(the YAML of a goal) are stored verbatim; given as a mapping they are stored as JSON, which is
also valid YAML.
"""

import collections
import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
import time
import typing

from .errors import BusyError, ErrorCode, ExecutionError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no inter-process lock, see _lock_file
    fcntl = None

__all__ = [
    'DeadLetterRecord',
    'Journal',
    'JournalError',
    'JournalFullError',
    'JournalSchemaError',
    'JournaledOperation',
    'PlanRecord',
    'SCHEMA_VERSION',
    'StepRecord',
    'UnfinishedPlan',
    'UnknownRecordError',
]

SCHEMA_VERSION = 1

# Writes committed in one transaction at most; bounds how long a caller whose write arrived
# last in a burst waits for its commit.
_MAX_BATCH = 64
# Bytes the WAL file is truncated back to after a checkpoint; without it the WAL keeps the
# size of its largest burst for good.
_JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024
# SQLite's own ceiling of max_page_count: what lifting a size cap sets it back to.
_MAX_PAGE_COUNT = 4294967294

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS plans (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL UNIQUE,
        plan TEXT NOT NULL,
        received_s REAL NOT NULL,
        finished_s REAL,
        outcome TEXT)""",
    'CREATE INDEX IF NOT EXISTS plans_finished ON plans (finished_s)',
    """CREATE TABLE IF NOT EXISTS steps (
        plan_id TEXT NOT NULL REFERENCES plans (plan_id) ON DELETE CASCADE,
        step_id TEXT NOT NULL,
        state INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        operation_id TEXT NOT NULL,
        code INTEGER NOT NULL,
        message TEXT NOT NULL,
        started INTEGER NOT NULL,
        updated_s REAL NOT NULL,
        PRIMARY KEY (plan_id, step_id)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS operations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        operation_id TEXT NOT NULL UNIQUE,
        robot_id TEXT NOT NULL,
        operation TEXT NOT NULL,
        params TEXT NOT NULL,
        safe_to_repeat INTEGER NOT NULL,
        plan_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        created_s REAL NOT NULL,
        attempt INTEGER NOT NULL,
        dispatched_s REAL,
        code INTEGER,
        message TEXT NOT NULL,
        result TEXT,
        finished_s REAL)""",
    'CREATE INDEX IF NOT EXISTS operations_plan ON operations (plan_id)',
    'CREATE INDEX IF NOT EXISTS operations_finished ON operations (finished_s)',
    """CREATE INDEX IF NOT EXISTS operations_unresolved ON operations (seq)
        WHERE dispatched_s IS NOT NULL AND code IS NULL""",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        operation_id TEXT NOT NULL UNIQUE,
        plan_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        robot_id TEXT NOT NULL,
        operation TEXT NOT NULL,
        parameters TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        error_code INTEGER NOT NULL,
        error_msg TEXT NOT NULL,
        first_attempt_s REAL NOT NULL,
        dead_letter_s REAL NOT NULL)""",
    'CREATE INDEX IF NOT EXISTS dead_letters_robot ON dead_letters (robot_id)',
    'CREATE INDEX IF NOT EXISTS dead_letters_age ON dead_letters (dead_letter_s)',
    # One row rewritten by probe(): a real write that tells whether the journal stores again.
    """CREATE TABLE IF NOT EXISTS probes (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        probed_s REAL NOT NULL)""",
)


class JournalError(ExecutionError):
    """Raised when the journal cannot be opened, is closed, or a write did not commit."""

    code = ErrorCode.INTERNAL_ERROR


class JournalFullError(JournalError, BusyError):
    """Raised when the write queue stayed full for the whole submit timeout."""

    code = ErrorCode.BUSY


class JournalSchemaError(JournalError):
    """Raised when the database was written with a newer, unknown schema version."""


class UnknownRecordError(JournalError, LookupError):
    """Raised when a plan, operation or dead letter named by the caller is not journaled."""

    code = ErrorCode.INVALID_PARAMETERS

    def __init__(self, message: str, *, ids: typing.Sequence[str] = ()):
        super().__init__(message)
        self.ids = tuple(ids)


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """Last journaled state of one plan step (``state`` as OperationStatus.STATE_*)."""

    plan_id: str
    step_id: str
    state: int
    attempt: int
    operation_id: str
    code: int
    message: str
    # Whether any attempt may have reached the robot; never goes back to False.
    started: bool
    updated_s: float


@dataclasses.dataclass(frozen=True)
class PlanRecord:
    """A journaled plan, its outcome once finished (None before) and its steps' states."""

    plan_id: str
    plan: typing.Mapping[str, typing.Any]
    received_s: float
    finished_s: typing.Optional[float]
    outcome: typing.Optional[typing.Mapping[str, typing.Any]]
    steps: typing.Mapping[str, StepRecord]

    @property
    def finished(self) -> bool:
        return self.finished_s is not None


class UnfinishedPlan(typing.NamedTuple):
    """A plan to resume after a restart: the plan as recorded and its steps' states."""

    plan: typing.Mapping[str, typing.Any]
    steps: typing.Mapping[str, StepRecord]


@dataclasses.dataclass(frozen=True)
class JournaledOperation:
    """
    A journaled operation (a single request or a plan step), keyed by its operation id.

    ``dispatched_s`` is set when an attempt is about to be sent to the robot; ``code`` (with
    ``message``, ``result`` and ``finished_s``) once that attempt's result is known.
    """

    operation_id: str
    robot_id: str
    operation: str
    params: str
    safe_to_repeat: bool
    plan_id: str
    step_id: str
    created_s: float
    attempt: int
    dispatched_s: typing.Optional[float]
    code: typing.Optional[int]
    message: str
    result: typing.Optional[typing.Any]
    finished_s: typing.Optional[float]

    @property
    def dispatched(self) -> bool:
        return self.dispatched_s is not None

    @property
    def resolved(self) -> bool:
        return self.code is not None

    @property
    def unresolved(self) -> bool:
        """Whether the robot may have started it and its result is unknown."""
        return self.dispatched_s is not None and self.code is None


@dataclasses.dataclass(frozen=True)
class DeadLetterRecord:
    """An operation given up on after its retries, as DeadLetter.msg (times in seconds)."""

    operation_id: str
    robot_id: str
    operation: str
    parameters: str = ''
    attempts: int = 0
    error_code: int = 0
    error_msg: str = ''
    first_attempt_s: float = 0.0
    dead_letter_s: float = 0.0
    plan_id: str = ''
    step_id: str = ''

    def __post_init__(self):
        if not self.operation_id:
            raise ValueError('a dead letter needs an operation_id')
        if not isinstance(self.parameters, str):
            raise ValueError('dead letter parameters must be YAML text, not %s'
                             % type(self.parameters).__name__)


class _Write:
    """One queued write: the function the writer runs, and how it ended."""

    __slots__ = ('work', 'done', 'result', 'error')

    def __init__(self, work):
        self.work = work
        self.done = threading.Event()
        self.result = None
        self.error = None


def _require_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError('%s must be a non-empty string, got %r' % (kind, value))
    return value


def _to_json(kind: str, value) -> str:
    # Serialised in the caller's thread so a bad payload fails there, before it is queued.
    try:
        return json.dumps(value, sort_keys=True, separators=(',', ':'))
    except (TypeError, ValueError) as e:
        raise ValueError('%s is not JSON-serialisable: %s' % (kind, e)) from e


def _from_json(text):
    return None if text is None else json.loads(text)


def _step_from_row(row) -> StepRecord:
    return StepRecord(
        plan_id=row['plan_id'], step_id=row['step_id'], state=row['state'],
        attempt=row['attempt'], operation_id=row['operation_id'], code=row['code'],
        message=row['message'], started=bool(row['started']), updated_s=row['updated_s'])


def _operation_from_row(row) -> JournaledOperation:
    return JournaledOperation(
        operation_id=row['operation_id'], robot_id=row['robot_id'],
        operation=row['operation'], params=row['params'],
        safe_to_repeat=bool(row['safe_to_repeat']), plan_id=row['plan_id'],
        step_id=row['step_id'], created_s=row['created_s'], attempt=row['attempt'],
        dispatched_s=row['dispatched_s'], code=row['code'], message=row['message'],
        result=_from_json(row['result']), finished_s=row['finished_s'])


def _dead_letter_from_row(row) -> DeadLetterRecord:
    return DeadLetterRecord(
        operation_id=row['operation_id'], plan_id=row['plan_id'], step_id=row['step_id'],
        robot_id=row['robot_id'], operation=row['operation'], parameters=row['parameters'],
        attempts=row['attempts'], error_code=row['error_code'], error_msg=row['error_msg'],
        first_attempt_s=row['first_attempt_s'], dead_letter_s=row['dead_letter_s'])


def _placeholders(count: int) -> str:
    return ','.join('?' * count)


def _chunks(ids: typing.Sequence[str], size: int = 500):
    # SQLite limits the number of bound parameters of one statement.
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _unique(ids: typing.Iterable[str], kind: str) -> typing.List[str]:
    if isinstance(ids, str):
        # A bare string would otherwise be taken as a sequence of one-letter ids.
        raise ValueError('%s must be a sequence of ids, not a string' % kind)
    return list(dict.fromkeys(_require_id(kind, i) for i in ids))


class Journal:
    """
    The durable journal of one coordinator, in one SQLite database file.

    All methods may be called from any thread. Write methods block until their write has
    committed (or raise); read methods see every write that has returned.

    :param path: the database file; created with its schema if missing. Its directory must
        exist. The file must be on a local file system (WAL needs shared memory).
    :param clock: returns the current time in seconds (the node clock in ROS); stamps
        dispatch, result, step and finish times.
    :param max_pending: writes that may wait in the queue before submitters are pushed back.
    :param submit_timeout_s: wall-clock seconds a submitter waits for room in a full queue
        before :class:`JournalFullError`.
    :param busy_timeout_ms: how long SQLite waits for a lock held by another connection (a
        backup or an operator's sqlite3 shell) before a write fails.
    :raises JournalSchemaError: if the database has a newer schema version.
    :raises JournalError: if the database cannot be opened, a pragma does not take effect, or
        another process has the journal open.
    """

    def __init__(self, path: str, *, clock: typing.Callable[[], float],
                 max_pending: int = 1024, submit_timeout_s: float = 5.0,
                 busy_timeout_ms: int = 5000):
        if max_pending < 1:
            raise ValueError('max_pending=%r must be at least 1' % (max_pending,))
        if not submit_timeout_s >= 0.0:
            raise ValueError('submit_timeout_s=%r must be >= 0' % (submit_timeout_s,))
        if busy_timeout_ms < 0:
            raise ValueError('busy_timeout_ms=%r must be >= 0' % (busy_timeout_ms,))
        self.path = os.fspath(path)
        if self.path in ('', ':memory:') or self.path.startswith('file:'):
            # Refused before anything touches the disk: a lock file named after a pseudo-path
            # would land in the working directory, and such a journal would not be durable.
            raise JournalError(f'journal path {self.path!r} is not a database file; a journal '
                               'must survive a restart')
        self._clock = clock
        self._max_pending = int(max_pending)
        self._submit_timeout_s = float(submit_timeout_s)
        self._busy_timeout_ms = int(busy_timeout_ms)

        self._cond = threading.Condition()
        # Per thread: the writes of the grouped() block in progress, else absent or None.
        self._group = threading.local()
        self._queue: typing.Deque[_Write] = collections.deque()
        self._closed = False
        self._writing = 0
        self._commits = 0
        self._failed_commits = 0
        self._last_commit_latency_s = 0.0
        self._max_commit_latency_s = 0.0
        self._read_lock = threading.Lock()

        self._lock_fd = None
        self._writer_conn = None
        self._reader_conn = None
        try:
            self._lock_fd = self._lock_file()
            self._writer_conn = self._connect(query_only=False)
            self._create_schema(self._writer_conn)
            self._reader_conn = self._connect(query_only=True)
        except BaseException:
            self._close_connections()
            raise
        self._thread = threading.Thread(
            target=self._writer_loop, name='journal-writer', daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ opening and closing

    def _lock_file(self):
        if fcntl is None:  # pragma: no cover - Windows: one coordinator per journal by setup
            return None
        lock_path = self.path + '.lock'
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # flock, not a lock on the database file: opening and closing another descriptor
            # of the database would drop SQLite's own POSIX locks on it.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise JournalError('journal %s is in use by another process (lock %s held): %s'
                               % (self.path, lock_path, e)) from e
        return fd

    def _connect(self, *, query_only: bool) -> sqlite3.Connection:
        try:
            # isolation_level=None: the writer issues BEGIN/COMMIT itself, and the reader must
            # not hold a read transaction open between queries (that would stall checkpoints).
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self._busy_timeout_ms / 1000.0)
        except sqlite3.Error as e:
            raise JournalError('cannot open journal %s: %s' % (self.path, e)) from e
        conn.row_factory = sqlite3.Row
        try:
            if not query_only:
                # Only settable before the first table exists; lets prune() give pages back.
                conn.execute('PRAGMA auto_vacuum = INCREMENTAL')
            self._set_pragma(conn, 'journal_mode', 'WAL', 'wal')
            # FULL, not NORMAL: in WAL mode NORMAL survives a process crash but may lose the
            # last commits on power loss or an OS crash, and a commit here is an
            # acknowledgement to a caller that must hold on a robot that loses power.
            self._set_pragma(conn, 'synchronous', 'FULL', 2)
            self._set_pragma(conn, 'foreign_keys', 'ON', 1)
            self._set_pragma(conn, 'busy_timeout', self._busy_timeout_ms, self._busy_timeout_ms)
            self._set_pragma(conn, 'journal_size_limit', _JOURNAL_SIZE_LIMIT,
                             _JOURNAL_SIZE_LIMIT)
            # The reader connection refuses writes: one writer, by construction.
            self._set_pragma(conn, 'query_only', 'ON' if query_only else 'OFF',
                             1 if query_only else 0)
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_pragma(self, conn, name, value, expected):
        try:
            conn.execute('PRAGMA %s = %s' % (name, value)).fetchall()
            actual = conn.execute('PRAGMA %s' % name).fetchone()[0]
        except sqlite3.Error as e:
            raise JournalError('journal %s: PRAGMA %s = %s failed: %s'
                               % (self.path, name, value, e)) from e
        if isinstance(actual, str):
            actual = actual.lower()
        if actual != expected:
            raise JournalError('journal %s: PRAGMA %s = %s did not take effect (it is %r); '
                               'is the file on a local file system?'
                               % (self.path, name, value, actual))

    def _create_schema(self, conn):
        self._check_version(conn.execute('PRAGMA user_version').fetchone()[0])
        try:
            conn.execute('BEGIN IMMEDIATE')
            try:
                # Read again under the write lock: another opener may have won the race.
                version = conn.execute('PRAGMA user_version').fetchone()[0]
                self._check_version(version)
                for statement in _SCHEMA:
                    conn.execute(statement)
                if version != SCHEMA_VERSION:
                    conn.execute('PRAGMA user_version = %d' % SCHEMA_VERSION)
                conn.execute('COMMIT')
            except BaseException:
                conn.execute('ROLLBACK')
                raise
        except sqlite3.Error as e:
            raise JournalError('cannot create the schema of journal %s: %s'
                               % (self.path, e)) from e

    def _check_version(self, version):
        if version > SCHEMA_VERSION:
            raise JournalSchemaError(
                'journal %s has schema version %d, newer than version %d known here; '
                'upgrade brain_execution or point the coordinator at another journal file'
                % (self.path, version, SCHEMA_VERSION))

    def close(self) -> None:
        """Commit every write already queued, stop the writer and close the database."""
        with self._cond:
            if self._closed and self._writer_conn is None:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        with self._read_lock:
            self._close_connections()

    def _close_connections(self):
        for name in ('_reader_conn', '_writer_conn'):
            conn = getattr(self, name)
            if conn is not None:
                setattr(self, name, None)
                # The last connection to close checkpoints the WAL into the database file.
                conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> 'Journal':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ writer

    @contextlib.contextmanager
    def grouped(self):
        """
        Commit the writes this thread makes inside the block together, with one wait.

        Inside, write calls return None at once (their return values are lost); the writer
        commits them in call order, normally in one transaction. The block exits once all
        are committed, raising the first write's error if one failed: nothing written inside
        may be acted on before the block has exited, and reads inside do not see it yet.
        Nested blocks join the outer one.
        """
        if getattr(self._group, 'items', None) is not None:
            yield
            return
        items = self._group.items = []
        try:
            yield
        finally:
            self._group.items = None
            for item in items:
                item.done.wait()
        for item in items:
            if item.error is not None:
                raise item.error

    def _submit(self, work: typing.Callable[[sqlite3.Connection], typing.Any]):
        """
        Run ``work(connection)`` on the writer thread and return its result once committed.

        :param work: runs inside a transaction (in its own savepoint); what it raises is
            raised here, and its changes are rolled back.
        :return: what ``work`` returned.
        :raises JournalFullError: if the queue stayed full for ``submit_timeout_s``.
        :raises JournalError: if the journal is closed or the transaction did not commit.
        """
        item = _Write(work)
        # Wall time, not the injected clock: this bounds a real wait on real I/O, and a paused
        # sim clock must not block a submitter for ever.
        deadline = time.monotonic() + self._submit_timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise JournalError('journal %s is closed' % self.path)
                if len(self._queue) < self._max_pending:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0.0:
                    raise JournalFullError(
                        'journal %s: write queue full (%d writes pending) for %.3g s; the disk '
                        'is too slow for the load' % (self.path, len(self._queue),
                                                      self._submit_timeout_s))
                self._cond.wait(remaining)
            self._queue.append(item)
            self._cond.notify_all()
        group = getattr(self._group, 'items', None)
        if group is not None:
            group.append(item)
            return None
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def _writer_loop(self):
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed, and every queued write has been committed
                batch = [self._queue.popleft()
                         for _ in range(min(len(self._queue), _MAX_BATCH))]
                self._writing = len(batch)
                # Submitters waiting for room may go on.
                self._cond.notify_all()
            try:
                self._write_batch(batch)
            finally:
                with self._cond:
                    self._writing = 0
                for item in batch:
                    item.done.set()

    def _write_batch(self, batch):
        conn = self._writer_conn
        started = time.monotonic()
        try:
            conn.execute('BEGIN IMMEDIATE')
            for item in batch:
                conn.execute('SAVEPOINT journal_write')
                try:
                    item.result = item.work(conn)
                except Exception as e:
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (disk full, I/O
                        # error): nothing of the batch is stored, and the cause must show.
                        raise
                    conn.execute('ROLLBACK TO journal_write')
                    item.error = e
                    if isinstance(e, sqlite3.Error):
                        # Callers catch JournalError, not the driver's exceptions.
                        item.error = JournalError(
                            'journal %s: write failed: %s' % (self.path, e))
                        item.error.__cause__ = e
                conn.execute('RELEASE journal_write')
            conn.execute('COMMIT')
        except BaseException as e:
            # Nothing of this batch is durable: no caller may be told otherwise.
            if conn.in_transaction:
                try:
                    conn.execute('ROLLBACK')
                except sqlite3.Error:
                    pass  # the connection already rolled back (e.g. disk full)
            failure = JournalError('journal %s: transaction not committed: %s' % (self.path, e))
            failure.__cause__ = e
            for item in batch:
                item.result = None
                item.error = failure
            with self._cond:
                self._failed_commits += 1
            return
        latency = time.monotonic() - started
        with self._cond:
            self._commits += 1
            self._last_commit_latency_s = latency
            self._max_commit_latency_s = max(self._max_commit_latency_s, latency)

    # ------------------------------------------------------------------ reader

    def _read(self, work: typing.Callable[[sqlite3.Connection], typing.Any]):
        with self._read_lock:
            conn = self._reader_conn
            # Reads stay possible while close() drains the queue, until the connections go.
            if conn is None:
                raise JournalError('journal %s is closed' % self.path)
            try:
                # One read transaction: the queries of one call see one snapshot.
                conn.execute('BEGIN')
                try:
                    return work(conn)
                finally:
                    conn.execute('COMMIT')
            except sqlite3.Error as e:
                raise JournalError('journal %s: read failed: %s' % (self.path, e)) from e

    # ------------------------------------------------------------------ plans

    def record_plan(self, plan_id: str, plan_dict: typing.Mapping[str, typing.Any],
                    received_s: float) -> bool:
        """
        Journal a plan accepted for execution.

        :param plan_id: the plan's idempotency key.
        :param plan_dict: the plan as JSON-serialisable data; if it has a ``plan_id`` key it
            must equal ``plan_id``.
        :param received_s: when the plan was received (clock seconds).
        :return: True if recorded now; False if the plan was already journaled (it is left
            unchanged: attach to the existing plan instead of running it twice).
        """
        _require_id('plan_id', plan_id)
        if plan_dict.get('plan_id', plan_id) != plan_id:
            raise ValueError('plan_dict names plan %r, not %r'
                             % (plan_dict.get('plan_id'), plan_id))
        text = _to_json('plan %r' % plan_id, plan_dict)

        def work(conn):
            cursor = conn.execute(
                'INSERT INTO plans (plan_id, plan, received_s) VALUES (?, ?, ?) '
                'ON CONFLICT (plan_id) DO NOTHING', (plan_id, text, float(received_s)))
            return cursor.rowcount == 1
        return self._submit(work)

    def record_step_state(self, plan_id: str, step_id: str, *, state: int, attempt: int = 0,
                          operation_id: str = '', code: int = 0, message: str = '',
                          started: bool = False) -> None:
        """
        Journal the current state of one step of a journaled plan.

        :param state: as OperationStatus.STATE_*.
        :param attempt: attempts started so far.
        :param started: whether the step may have reached the robot. Once True it stays True
            for the step, whatever later calls pass: the robot may have acted.
        :raises UnknownRecordError: if the plan is not journaled.
        """
        _require_id('plan_id', plan_id)
        _require_id('step_id', step_id)
        values = (plan_id, step_id, int(state), int(attempt), str(operation_id), int(code),
                  str(message), int(bool(started)), float(self._clock()))

        def work(conn):
            if conn.execute('SELECT 1 FROM plans WHERE plan_id = ?', (plan_id,)).fetchone() \
                    is None:
                raise UnknownRecordError('plan %r is not journaled' % plan_id, ids=[plan_id])
            conn.execute(
                'INSERT INTO steps (plan_id, step_id, state, attempt, operation_id, code, '
                'message, started, updated_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) '
                'ON CONFLICT (plan_id, step_id) DO UPDATE SET state = excluded.state, '
                'attempt = excluded.attempt, operation_id = excluded.operation_id, '
                'code = excluded.code, message = excluded.message, '
                'started = MAX(started, excluded.started), updated_s = excluded.updated_s',
                values)
        self._submit(work)

    def finish_plan(self, plan_id: str, outcome: typing.Mapping[str, typing.Any]) -> bool:
        """
        Journal how a plan ended.

        :param outcome: JSON-serialisable result of the plan (code, message, step states...).
        :return: True if finished now; False if it had already finished (the first outcome
            is kept, so every caller reports the one outcome).
        :raises UnknownRecordError: if the plan is not journaled.
        """
        _require_id('plan_id', plan_id)
        text = _to_json('outcome of plan %r' % plan_id, outcome)
        now = float(self._clock())

        def work(conn):
            row = conn.execute('SELECT finished_s FROM plans WHERE plan_id = ?',
                               (plan_id,)).fetchone()
            if row is None:
                raise UnknownRecordError('plan %r is not journaled' % plan_id, ids=[plan_id])
            if row['finished_s'] is not None:
                return False
            conn.execute('UPDATE plans SET finished_s = ?, outcome = ? WHERE plan_id = ?',
                         (now, text, plan_id))
            return True
        return self._submit(work)

    def plan(self, plan_id: str) -> typing.Optional[PlanRecord]:
        """Return the journaled plan with its steps' states, or None if unknown."""
        def work(conn):
            row = conn.execute('SELECT * FROM plans WHERE plan_id = ?', (plan_id,)).fetchone()
            if row is None:
                return None
            steps = {r['step_id']: _step_from_row(r) for r in conn.execute(
                'SELECT * FROM steps WHERE plan_id = ? ORDER BY step_id', (plan_id,))}
            return PlanRecord(
                plan_id=row['plan_id'], plan=json.loads(row['plan']),
                received_s=row['received_s'], finished_s=row['finished_s'],
                outcome=_from_json(row['outcome']), steps=steps)
        return self._read(work)

    def unfinished_plans(self) -> typing.List[UnfinishedPlan]:
        """
        Return the plans not finished yet, in the order they were received.

        :return: ``(plan_dict, {step_id: StepRecord})`` pairs, to resume after a restart.
        """
        def work(conn):
            plans = collections.OrderedDict(
                (row['plan_id'], UnfinishedPlan(json.loads(row['plan']), {}))
                for row in conn.execute(
                    'SELECT plan_id, plan FROM plans WHERE finished_s IS NULL ORDER BY seq'))
            for row in conn.execute(
                    'SELECT steps.* FROM steps JOIN plans USING (plan_id) '
                    'WHERE plans.finished_s IS NULL ORDER BY steps.step_id'):
                plans[row['plan_id']].steps[row['step_id']] = _step_from_row(row)
            return list(plans.values())
        return self._read(work)

    # ------------------------------------------------------------------ operations

    def record_operation(self, operation_id: str, robot_id: str, operation: str,
                         params: typing.Union[str, typing.Mapping[str, typing.Any]],
                         safe_to_repeat: bool, *, plan_id: str = '',
                         step_id: str = '') -> bool:
        """
        Journal an operation (a single request or a plan step) before it is started.

        :param operation_id: the idempotency key, shared by single requests and plan steps.
        :param params: goal fields as YAML text (stored verbatim) or a mapping (stored as
            JSON).
        :param safe_to_repeat: whether it may be sent again when it is not known if it ran.
        :param plan_id: the plan the operation is a step of ('' for a single request).
        :param step_id: the step it is, within ``plan_id``.
        :return: True if recorded now; False if the id was already journaled (it is left
            unchanged: the caller attaches to the existing operation).
        """
        _require_id('operation_id', operation_id)
        text = params if isinstance(params, str) else _to_json(
            'parameters of operation %r' % operation_id, params)
        values = (operation_id, str(robot_id), str(operation), text, int(bool(safe_to_repeat)),
                  str(plan_id), str(step_id), float(self._clock()))

        def work(conn):
            cursor = conn.execute(
                'INSERT INTO operations (operation_id, robot_id, operation, params, '
                'safe_to_repeat, plan_id, step_id, created_s, attempt, message) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, '') "
                'ON CONFLICT (operation_id) DO NOTHING', values)
            return cursor.rowcount == 1
        return self._submit(work)

    def mark_dispatched(self, operation_id: str, attempt: int) -> None:
        """
        Journal that an attempt is about to be sent to the robot; call it BEFORE sending.

        After a crash the operation then shows in :meth:`unresolved_operations`: it may have
        started. The result of an earlier attempt is cleared.

        :param attempt: the attempt being sent, 1 for the first; never below the last one.
        :raises UnknownRecordError: if the operation is not journaled.
        """
        _require_id('operation_id', operation_id)
        if int(attempt) < 1:
            raise ValueError('attempt=%r must be at least 1' % (attempt,))
        now = float(self._clock())

        def work(conn):
            row = conn.execute('SELECT attempt FROM operations WHERE operation_id = ?',
                               (operation_id,)).fetchone()
            if row is None:
                raise UnknownRecordError('operation %r is not journaled' % operation_id,
                                         ids=[operation_id])
            if int(attempt) < row['attempt']:
                raise ValueError('operation %r: attempt %d is below the journaled attempt %d'
                                 % (operation_id, attempt, row['attempt']))
            conn.execute(
                'UPDATE operations SET attempt = ?, dispatched_s = ?, code = NULL, '
                "message = '', result = NULL, finished_s = NULL WHERE operation_id = ?",
                (int(attempt), now, operation_id))
        self._submit(work)

    def mark_operation_result(self, operation_id: str, code: int, message: str = '',
                              result: typing.Any = None) -> None:
        """
        Journal the result of the operation's last attempt.

        :param code: ErrorCode of the attempt (0 on success).
        :param result: JSON-serialisable result fields, or None.
        :raises UnknownRecordError: if the operation is not journaled.
        """
        _require_id('operation_id', operation_id)
        text = None if result is None else _to_json(
            'result of operation %r' % operation_id, result)
        values = (int(code), str(message), text, float(self._clock()), operation_id)

        def work(conn):
            cursor = conn.execute(
                'UPDATE operations SET code = ?, message = ?, result = ?, finished_s = ? '
                'WHERE operation_id = ?', values)
            if cursor.rowcount != 1:
                raise UnknownRecordError('operation %r is not journaled' % operation_id,
                                         ids=[operation_id])
        self._submit(work)

    def operation(self, operation_id: str) -> typing.Optional[JournaledOperation]:
        """Return the journaled operation, or None if unknown."""
        def work(conn):
            row = conn.execute('SELECT * FROM operations WHERE operation_id = ?',
                               (operation_id,)).fetchone()
            return None if row is None else _operation_from_row(row)
        return self._read(work)

    def unresolved_operations(self) -> typing.List[JournaledOperation]:
        """Return the operations dispatched without a known result, oldest first."""
        def work(conn):
            return [_operation_from_row(row) for row in conn.execute(
                'SELECT * FROM operations WHERE dispatched_s IS NOT NULL AND code IS NULL '
                'ORDER BY seq')]
        return self._read(work)

    # ------------------------------------------------------------------ dead letters

    def add_dead_letter(self, record: DeadLetterRecord) -> None:
        """Journal a dead letter; one for the same operation id is replaced (and relisted)."""
        if not isinstance(record, DeadLetterRecord):
            raise TypeError('expected a DeadLetterRecord, got %s' % type(record).__name__)
        values = (record.operation_id, record.plan_id, record.step_id, record.robot_id,
                  record.operation, record.parameters, int(record.attempts),
                  int(record.error_code), record.error_msg, float(record.first_attempt_s),
                  float(record.dead_letter_s))

        def work(conn):
            # Delete and insert, so the entry takes its place at the end of the list.
            conn.execute('DELETE FROM dead_letters WHERE operation_id = ?', (values[0],))
            conn.execute(
                'INSERT INTO dead_letters (operation_id, plan_id, step_id, robot_id, '
                'operation, parameters, attempts, error_code, error_msg, first_attempt_s, '
                'dead_letter_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', values)
        self._submit(work)

    def list_dead_letters(self, robot_id: str = '', max_entries: int = 0,
                          offset: int = 0) -> typing.List[DeadLetterRecord]:
        """
        Return one page of dead letters, oldest first, read with LIMIT/OFFSET in SQL.

        :param robot_id: only this robot's; '' for all.
        :param max_entries: at most this many; 0 for all from ``offset`` on.
        :param offset: how many of the oldest to pass over.
        """
        if max_entries < 0 or offset < 0:
            raise ValueError('max_entries=%r and offset=%r must be >= 0' % (max_entries, offset))
        query = 'SELECT * FROM dead_letters'
        args = []
        if robot_id:
            query += ' WHERE robot_id = ?'
            args.append(robot_id)
        query += ' ORDER BY seq'
        if max_entries or offset:
            query += ' LIMIT ? OFFSET ?'
            args.extend((int(max_entries) if max_entries else -1, int(offset)))

        def work(conn):
            return [_dead_letter_from_row(row) for row in conn.execute(query, args)]
        return self._read(work)

    def dead_letter_count(self, robot_id: str = '') -> int:
        """Return how many dead letters are held (of one robot with ``robot_id``)."""
        if robot_id:
            return self._read(lambda conn: conn.execute(
                'SELECT COUNT(*) FROM dead_letters WHERE robot_id = ?',
                (robot_id,)).fetchone()[0])
        return self._read(
            lambda conn: conn.execute('SELECT COUNT(*) FROM dead_letters').fetchone()[0])

    def size_bytes(self) -> int:
        """Return the database's size: its pages times the page size (WAL not counted)."""
        return self._read(lambda conn: conn.execute('PRAGMA page_count').fetchone()[0] *
                          conn.execute('PRAGMA page_size').fetchone()[0])

    def set_max_size_bytes(self, limit: int) -> None:
        """
        Cap the database's size (SQLite ``max_page_count``); 0 lifts the cap.

        A write that would grow the database past the cap fails as on a full disk ("database
        or disk is full"), before anything of it is stored; a robot's small disk stays usable.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError('limit=%r must be an int >= 0' % (limit,))

        def work(conn):
            page = conn.execute('PRAGMA page_size').fetchone()[0]
            pages = -(-limit // page) if limit else _MAX_PAGE_COUNT
            conn.execute('PRAGMA max_page_count = %d' % pages).fetchall()
        self._submit(work)

    def probe(self) -> None:
        """
        Make one small real write and return once it is committed.

        :raises JournalError: when the journal cannot store it (disk full, I/O error, locked).
        """
        now = float(self._clock())

        def work(conn):
            conn.execute('INSERT OR REPLACE INTO probes (id, probed_s) VALUES (1, ?)', (now,))
        self._submit(work)

    def prune_older_than(self, cutoff_s: float) -> typing.Dict[str, int]:
        """
        Forget plans that ended, and dead letters listed, before ``cutoff_s`` (journal clock).

        Unfinished plans and unresolved operations are always kept; finished operations of
        plans no longer journaled go with them.

        :return: how many ``plans``, ``operations`` and ``dead_letters`` were removed.
        """
        cutoff = float(cutoff_s)

        def work(conn):
            plans = conn.execute('DELETE FROM plans WHERE finished_s IS NOT NULL AND '
                                 'finished_s < ?', (cutoff,)).rowcount
            operations = conn.execute(
                "DELETE FROM operations WHERE code IS NOT NULL AND ((plan_id != '' AND "
                'plan_id NOT IN (SELECT plan_id FROM plans)) OR '
                "(plan_id = '' AND finished_s < ?))", (cutoff,)).rowcount
            dead = conn.execute('DELETE FROM dead_letters WHERE dead_letter_s < ?',
                                (cutoff,)).rowcount
            conn.execute('PRAGMA incremental_vacuum').fetchall()
            return {'plans': plans, 'operations': operations, 'dead_letters': dead}
        return self._submit(work)

    def take_dead_letters(self, operation_ids: typing.Iterable[str]
                          ) -> typing.List[DeadLetterRecord]:
        """
        Remove dead letters to retry them, all in one transaction.

        :param operation_ids: the entries to take; duplicates count once.
        :return: the removed records, in the order of ``operation_ids``.
        :raises UnknownRecordError: naming the ids that are not listed; then nothing is
            removed.
        """
        ids = _unique(operation_ids, 'operation_ids')

        def work(conn):
            rows = self._dead_letter_rows(conn, ids)
            self._delete_dead_letters(conn, ids)
            return [_dead_letter_from_row(rows[i]) for i in ids]
        return self._submit(work) if ids else []

    def purge_dead_letters(self, operation_ids: typing.Iterable[str] = (),
                           all: bool = False) -> int:  # noqa: A002 - as PurgeDeadLetters.srv
        """
        Remove dead letters for good.

        :param operation_ids: the entries to remove; empty only together with ``all``.
        :param all: remove every entry.
        :return: how many entries were removed.
        :raises UnknownRecordError: naming the ids that are not listed; then nothing is
            removed.
        :raises ValueError: if both or neither of ``operation_ids`` and ``all`` are given.
        """
        ids = _unique(operation_ids, 'operation_ids')
        if bool(ids) == bool(all):
            raise ValueError('purge_dead_letters needs either operation_ids or all=True '
                             '(got %d ids and all=%r)' % (len(ids), all))

        def work(conn):
            if all:
                return conn.execute('DELETE FROM dead_letters').rowcount
            self._dead_letter_rows(conn, ids)
            return self._delete_dead_letters(conn, ids)
        return self._submit(work)

    @staticmethod
    def _dead_letter_rows(conn, ids):
        rows = {}
        for chunk in _chunks(ids):
            for row in conn.execute('SELECT * FROM dead_letters WHERE operation_id IN (%s)'
                                    % _placeholders(len(chunk)), chunk):
                rows[row['operation_id']] = row
        missing = [i for i in ids if i not in rows]
        if missing:
            raise UnknownRecordError('not listed as dead letters: %s' % ', '.join(missing),
                                     ids=missing)
        return rows

    @staticmethod
    def _delete_dead_letters(conn, ids):
        return sum(
            conn.execute('DELETE FROM dead_letters WHERE operation_id IN (%s)'
                         % _placeholders(len(chunk)), chunk).rowcount
            for chunk in _chunks(ids))

    # ------------------------------------------------------------------ housekeeping

    def prune(self, *, keep_finished_plans: int = 100,
              keep_finished_operations: int = 1000) -> typing.Dict[str, int]:
        """
        Forget old finished work, so the database stays bounded.

        Unfinished plans, unresolved operations and dead letters are always kept (dead letters
        leave only through :meth:`take_dead_letters` and :meth:`purge_dead_letters`).

        :param keep_finished_plans: the most recently finished plans kept (with their steps).
        :param keep_finished_operations: the most recently finished single operations kept.
            Finished operations of plans that are no longer journaled are removed.
        :return: how many ``plans`` and ``operations`` were removed.
        """
        if keep_finished_plans < 0 or keep_finished_operations < 0:
            raise ValueError('keep_finished_plans=%r and keep_finished_operations=%r must be '
                             '>= 0' % (keep_finished_plans, keep_finished_operations))

        def work(conn):
            plans = conn.execute(
                'DELETE FROM plans WHERE finished_s IS NOT NULL AND seq NOT IN ('
                ' SELECT seq FROM plans WHERE finished_s IS NOT NULL'
                ' ORDER BY finished_s DESC, seq DESC LIMIT ?)',
                (int(keep_finished_plans),)).rowcount
            operations = conn.execute(
                "DELETE FROM operations WHERE code IS NOT NULL AND plan_id != '' AND "
                'plan_id NOT IN (SELECT plan_id FROM plans)').rowcount
            operations += conn.execute(
                "DELETE FROM operations WHERE code IS NOT NULL AND plan_id = '' AND "
                'seq NOT IN ('
                " SELECT seq FROM operations WHERE code IS NOT NULL AND plan_id = ''"
                ' ORDER BY finished_s DESC, seq DESC LIMIT ?)',
                (int(keep_finished_operations),)).rowcount
            # Give the freed pages back to the file system rather than only reusing them.
            conn.execute('PRAGMA incremental_vacuum').fetchall()
            return {'plans': plans, 'operations': operations}
        return self._submit(work)

    def stats(self) -> typing.Dict[str, typing.Any]:
        """
        Return diagnostics of the journal.

        :return: ``queue_depth`` (writes waiting), ``max_pending``, ``writing`` (writes in
            the transaction being committed), ``commits``, ``failed_commits``,
            ``last_commit_latency_s`` and ``max_commit_latency_s`` (wall time of a
            transaction, BEGIN to COMMIT), ``db_bytes`` and ``wal_bytes`` (file sizes) and
            ``closed``.
        """
        with self._cond:
            stats = {
                'queue_depth': len(self._queue),
                'max_pending': self._max_pending,
                'writing': self._writing,
                'commits': self._commits,
                'failed_commits': self._failed_commits,
                'last_commit_latency_s': self._last_commit_latency_s,
                'max_commit_latency_s': self._max_commit_latency_s,
                'closed': self._closed,
            }
        for key, suffix in (('db_bytes', ''), ('wal_bytes', '-wal')):
            try:
                stats[key] = os.path.getsize(self.path + suffix)
            except OSError:
                stats[key] = 0
        return stats

    def pragmas(self) -> typing.Dict[str, typing.Dict[str, typing.Any]]:
        """
        Return the pragmas in effect, read back from the writer and the reader connections.

        :return: ``{'writer': {...}, 'reader': {...}}`` with ``journal_mode``,
            ``synchronous``, ``foreign_keys``, ``busy_timeout``, ``journal_size_limit``,
            ``query_only``, ``auto_vacuum`` and ``user_version``.
        """
        names = ('journal_mode', 'synchronous', 'foreign_keys', 'busy_timeout',
                 'journal_size_limit', 'query_only', 'auto_vacuum', 'user_version')

        def work(conn):
            return {name: conn.execute('PRAGMA %s' % name).fetchone()[0] for name in names}
        # The writer connection belongs to the writer thread; read it there.
        return {'writer': self._submit(work), 'reader': self._read(work)}
