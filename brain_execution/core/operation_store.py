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
A robot's durable record of the operations it accepted (SQLite, WAL).

Why: operation ids are idempotency keys, and the coordinator reconciles a step whose outcome
it does not know by asking the robot about its id. The answer must survive a restart of the
executor and must not depend on how many operations fitted in the in-memory history: "never
seen" has to mean never seen. So every accepted id is written here *before* the robot acts
(a failed write refuses the goal with OPERATION_RECORD_FAILED; the robot never runs work it
did not record), and its outcome when it ends. Rows go only by age (``retention_s``).

At open, rows still marked running belong to an executor that died: they are closed as
INTERRUPTED (started, outcome unknown); they are never run again.

Writes of outcomes are queued to one writer thread, so that the runtime never holds its lock
across a commit (an emergency stop must never wait behind disk I/O); the intake write is
synchronous, made by the caller outside the runtime's lock. ``on_done`` callbacks report
when an outcome is durable (or why it is not).
"""

import dataclasses
import json
import os
import queue
import sqlite3
import threading
import time
import typing

from .content import canonical_json, content_hash
from .errors import ErrorCode, OperationRecordError

__all__ = ['OperationStore', 'StoredOperation', 'STATE_RUNNING', 'STATE_FAILED']

# Same values as OperationStatus.STATE_* (and runtime.OperationState).
STATE_RUNNING = 2
STATE_FAILED = 5

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
    operation_id TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    content TEXT NOT NULL,
    started INTEGER NOT NULL,
    state INTEGER NOT NULL,
    code INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    retryable INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}',
    elapsed_s REAL NOT NULL DEFAULT 0,
    accepted_wall_s REAL NOT NULL,
    ended_wall_s REAL
);
CREATE INDEX IF NOT EXISTS operations_by_end ON operations (ended_wall_s);
"""
_COLUMNS = ('operation_id', 'operation', 'content_hash', 'content', 'started', 'state', 'code',
            'message', 'retryable', 'result', 'elapsed_s', 'accepted_wall_s', 'ended_wall_s')
# How long the writer thread waits for work before it prunes old rows (s of wall time).
_PRUNE_INTERVAL_S = 600.0
_BUSY_TIMEOUT_MS = 5000
_WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class StoredOperation:
    """One row of the record: an accepted operation and, once ended, its outcome."""

    operation_id: str
    operation: str
    content: typing.Mapping[str, typing.Any]
    started: bool
    state: int = STATE_RUNNING
    code: int = ErrorCode.NONE
    message: str = ''
    retryable: bool = False
    result: typing.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    elapsed_s: float = 0.0
    accepted_wall_s: float = 0.0
    ended_wall_s: typing.Optional[float] = None

    @property
    def ended(self) -> bool:
        return self.ended_wall_s is not None


def _decode(value: typing.Any) -> typing.Any:
    """Undo canonical()'s tags (bytes and non-finite floats) in a stored result."""
    if isinstance(value, dict):
        if set(value) == {'__bytes__'}:
            return bytes.fromhex(value['__bytes__'])
        if set(value) == {'__float__'}:
            return float(value['__float__'])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class OperationStore:
    """
    The durable operation record of one robot.

    Opening never raises: a record that cannot be opened (read-only or missing directory,
    full disk, corrupt file) is reported by :attr:`error`, and every later :meth:`insert` and
    :meth:`get` retries the open and raises :class:`OperationRecordError` naming the path and
    the cause, so goals are refused with a reason until the disk is fixed.

    :param path: the SQLite file; its directory is created if missing.
    :param retention_s: ended operations older than this (wall time) are pruned.
    :param wall_clock: returns wall-clock seconds (timestamps and retention survive restarts,
        which the node clock, possibly sim time, does not).
    :param synchronous: SQLite ``synchronous`` pragma: FULL (default) makes every commit
        survive a power cut; NORMAL survives a process crash only.
    :param logger: receives (level, message) for failures of queued writes.
    """

    def __init__(self, path: str, *, retention_s: float,
                 wall_clock: typing.Callable[[], float] = time.time,
                 synchronous: str = 'FULL',
                 logger: typing.Callable[[str, str], None] = None):
        if retention_s <= 0:
            raise ValueError(f'retention_s={retention_s} must be positive')
        if synchronous not in ('FULL', 'NORMAL', 'EXTRA'):
            raise ValueError(f'synchronous={synchronous!r}: expected FULL, NORMAL or EXTRA')
        self.path = path
        self.retention_s = float(retention_s)
        self._wall = wall_clock
        self._synchronous = synchronous
        self._log = logger or (lambda level, message: None)
        # Writes (one connection) and reads (another) are serialised separately: in WAL mode
        # a reader never waits for a commit, so a lookup at intake never waits behind the
        # writer thread's fsync.
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._db: typing.Optional[sqlite3.Connection] = None
        self._reader: typing.Optional[sqlite3.Connection] = None
        self.error: typing.Optional[str] = None
        self._queue: 'queue.Queue' = queue.Queue()
        self._closed = False
        with self._lock:
            opened = self._open_locked()
        if opened:
            try:
                self.prune()
            except OperationRecordError as error:
                self._log('error', str(error))
        self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                        name='operation-record')
        self._writer.start()

    # --- opening ---------------------------------------------------------------------

    def _open_locked(self) -> bool:
        if self._db is not None:
            return True
        try:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000.0,
                                 isolation_level=None, check_same_thread=False)
            try:
                mode = db.execute('PRAGMA journal_mode=WAL').fetchone()[0]
                if mode.lower() != 'wal':
                    raise sqlite3.OperationalError(f'journal_mode is {mode}, WAL refused')
                db.execute(f'PRAGMA synchronous={self._synchronous}')
                db.execute(f'PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}')
                # The WAL is truncated back to this after checkpoints: bounded on disk.
                db.execute(f'PRAGMA journal_size_limit={_WAL_SIZE_LIMIT_BYTES}')
                db.executescript(_SCHEMA)
                db.execute('INSERT OR IGNORE INTO meta VALUES (?, ?)',
                           ('schema_version', str(_SCHEMA_VERSION)))
                version = db.execute("SELECT value FROM meta WHERE key='schema_version'"
                                     ).fetchone()[0]
                if int(version) != _SCHEMA_VERSION:
                    raise sqlite3.DatabaseError(
                        f'schema version {version}, this executor reads {_SCHEMA_VERSION}')
                reader = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000.0,
                                         isolation_level=None, check_same_thread=False)
            except BaseException:
                db.close()
                raise
        except (OSError, sqlite3.Error) as error:
            self.error = f'cannot open operation record {self.path}: {error}'
            return False
        with self._read_lock:
            self._reader = reader
        self._db = db
        self.error = None
        return True

    def _require_locked(self) -> sqlite3.Connection:
        if self._closed:
            raise OperationRecordError(f'operation record {self.path} is closed')
        if not self._open_locked():
            raise OperationRecordError(self.error)
        return self._db

    def _failed(self, action: str, error: Exception) -> OperationRecordError:
        self.error = f'operation record {self.path}: {action} failed: {error}'
        return OperationRecordError(self.error)

    # --- reading ---------------------------------------------------------------------

    def _read(self, action: str, work):
        """Run work(connection) on the read connection (opening the record if needed)."""
        if self._reader is None:
            with self._lock:
                self._require_locked()
        with self._read_lock:
            if self._closed or self._reader is None:
                raise OperationRecordError(f'operation record {self.path} is closed')
            try:
                return work(self._reader)
            except sqlite3.Error as error:
                raise self._failed(action, error) from error

    def get(self, operation_id: str) -> typing.Optional[StoredOperation]:
        """
        Return the stored operation of an id, or None if this robot never accepted it.

        :raises OperationRecordError: the record cannot be read (then "never accepted" is
            not known either).
        """
        row = self._read(f'reading {operation_id!r}', lambda db: db.execute(
            f'SELECT {", ".join(_COLUMNS)} FROM operations WHERE operation_id = ?',
            (operation_id,)).fetchone())
        return None if row is None else self._from_row(row)

    def count(self) -> int:
        """Return the number of stored operations."""
        return self._read('counting', lambda db: db.execute(
            'SELECT COUNT(*) FROM operations').fetchone()[0])

    @staticmethod
    def _from_row(row) -> StoredOperation:
        v = dict(zip(_COLUMNS, row))
        return StoredOperation(
            operation_id=v['operation_id'], operation=v['operation'],
            content=json.loads(v['content']), started=bool(v['started']), state=v['state'],
            code=v['code'], message=v['message'], retryable=bool(v['retryable']),
            result=_decode(json.loads(v['result'])), elapsed_s=v['elapsed_s'],
            accepted_wall_s=v['accepted_wall_s'], ended_wall_s=v['ended_wall_s'])

    # --- writing ---------------------------------------------------------------------

    def insert(self, operation: StoredOperation) -> StoredOperation:
        """
        Store an accepted operation and commit it; return the stored row (with its time).

        :raises OperationRecordError: not stored (disk full, read-only, I/O error, the id
            exists); the operation must then be refused, not run.
        """
        stored = dataclasses.replace(operation, accepted_wall_s=self._wall())
        with self._lock:
            db = self._require_locked()
            try:
                db.execute(f'INSERT INTO operations ({", ".join(_COLUMNS)}) VALUES '
                           f'({", ".join("?" * len(_COLUMNS))})', self._row(stored))
            except sqlite3.Error as error:
                raise self._failed(f'storing {operation.operation_id!r}', error) from error
            self.error = None
        return stored

    def insert_later(self, operation: StoredOperation,
                     on_done: typing.Callable[[typing.Optional[str]], None] = None) -> None:
        """Queue :meth:`insert` (emergency operations, which never wait for a commit)."""
        self._queue.put(('insert', operation, on_done))

    def finish_later(self, operation_id: str, *, state: int, code: int, message: str,
                     retryable: bool, result: typing.Mapping[str, typing.Any],
                     elapsed_s: float,
                     on_done: typing.Callable[[typing.Optional[str]], None] = None) -> None:
        """
        Queue the outcome of an operation; ``on_done(error)`` once committed (error None).

        Writes are applied in the order queued, after any queued insert of the same id.
        """
        values = {'state': state, 'code': int(code), 'message': message,
                  'retryable': bool(retryable), 'result': dict(result),
                  'elapsed_s': float(elapsed_s), 'ended_wall_s': self._wall()}
        self._queue.put(('finish', (operation_id, values), on_done))

    def delete(self, operation_id: str) -> None:
        """Remove an id whose operation was stored but then refused before acting."""
        with self._lock:
            db = self._require_locked()
            try:
                db.execute('DELETE FROM operations WHERE operation_id = ?', (operation_id,))
            except sqlite3.Error as error:
                raise self._failed(f'removing {operation_id!r}', error) from error

    def close_interrupted(self, message: str) -> typing.List[str]:
        """
        Close every operation still marked running as INTERRUPTED; return their ids.

        Called once at start-up: such rows belong to an executor that died while they ran.

        :raises OperationRecordError: the record cannot be updated.
        """
        now = self._wall()
        with self._lock:
            db = self._require_locked()
            try:
                ids = [r[0] for r in db.execute(
                    'SELECT operation_id FROM operations WHERE ended_wall_s IS NULL')]
                db.execute(
                    'UPDATE operations SET state = ?, code = ?, message = ?, retryable = 0, '
                    'elapsed_s = ? - accepted_wall_s, ended_wall_s = ? '
                    'WHERE ended_wall_s IS NULL',
                    (STATE_FAILED, int(ErrorCode.INTERRUPTED), message, now, now))
            except sqlite3.Error as error:
                raise self._failed('closing interrupted operations', error) from error
        return ids

    def prune(self) -> int:
        """Delete ended operations older than retention_s; return how many went."""
        cutoff = self._wall() - self.retention_s
        with self._lock:
            db = self._require_locked()
            try:
                return db.execute('DELETE FROM operations WHERE ended_wall_s IS NOT NULL '
                                  'AND ended_wall_s < ?', (cutoff,)).rowcount
            except sqlite3.Error as error:
                raise self._failed('pruning', error) from error

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued write is applied; return False on timeout."""
        done = threading.Event()
        self._queue.put(('barrier', done, None))
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Apply the queued writes, stop the writer and close the file."""
        if self._closed:
            return
        self._queue.put(('stop', None, None))
        self._writer.join(timeout_s)
        with self._lock, self._read_lock:
            self._closed = True
            for connection in (self._db, self._reader):
                if connection is not None:
                    connection.close()
            self._db = self._reader = None

    @staticmethod
    def _row(s: StoredOperation) -> tuple:
        return (s.operation_id, s.operation, content_hash(s.content), canonical_json(s.content),
                int(s.started), int(s.state), int(s.code), s.message, int(s.retryable),
                canonical_json(s.result), float(s.elapsed_s), float(s.accepted_wall_s),
                s.ended_wall_s)

    def _finish_now(self, operation_id: str, values: typing.Mapping[str, typing.Any]) -> None:
        with self._lock:
            db = self._require_locked()
            try:
                changed = db.execute(
                    'UPDATE operations SET state = ?, code = ?, message = ?, retryable = ?, '
                    'result = ?, elapsed_s = ?, ended_wall_s = ? WHERE operation_id = ?',
                    (values['state'], values['code'], values['message'],
                     int(values['retryable']), canonical_json(values['result']),
                     values['elapsed_s'], values['ended_wall_s'], operation_id)).rowcount
            except sqlite3.Error as error:
                raise self._failed(f'storing the outcome of {operation_id!r}', error) from error
        if changed != 1:
            raise OperationRecordError(f'operation record {self.path}: {operation_id!r} is '
                                       'not stored; its outcome has no row')

    def _write_loop(self) -> None:
        last_prune = self._wall()
        while True:
            try:
                kind, payload, on_done = self._queue.get(timeout=_PRUNE_INTERVAL_S)
            except queue.Empty:
                kind = 'idle'
            if kind == 'stop':
                return
            if kind == 'barrier':
                payload.set()
                continue
            if kind == 'idle' or self._wall() - last_prune >= _PRUNE_INTERVAL_S:
                last_prune = self._wall()
                try:
                    self.prune()
                except OperationRecordError as error:
                    self._log('error', str(error))
                if kind == 'idle':
                    continue
            error = None
            try:
                if kind == 'insert':
                    self.insert(payload)
                else:
                    self._finish_now(*payload)
            except OperationRecordError as failure:
                error = str(failure)
                self._log('error', error)
            if on_done is not None:
                try:
                    on_done(error)
                except Exception as failure:  # noqa: B902 - the writer must keep writing
                    self._log('error', f'operation record callback raised {failure!r}')
