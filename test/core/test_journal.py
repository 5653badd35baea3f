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
The durable journal: pragmas, idempotency, resume after reopen, dead letters, back-pressure.

Timestamps come from an injected fake clock. The crash test runs
``journal_writer_process.py`` as a separate process, kills it with SIGKILL once it has
acknowledged some writes, and checks that every acknowledged write is in the database.
Nothing here waits on a sleep: threads are coordinated with events and queues.
"""

import contextlib
import os
from pathlib import Path
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from brain_execution.core.errors import BusyError, ErrorCode
from brain_execution.core.journal import (
    DeadLetterRecord, Journal, JournalError, JournalFullError, JournalSchemaError,
    SCHEMA_VERSION, StepRecord, UnknownRecordError)
import pytest

_WRITER_SCRIPT = Path(__file__).resolve().parent / 'journal_writer_process.py'
_REPO_ROOT = Path(__file__).resolve().parents[2]
# Acknowledged writes to wait for before each kill, and kills in the crash test.
_ACKS_PER_ROUND = 100
_CRASH_ROUNDS = 5
_ACK_TIMEOUT_S = 10.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / 'journal.sqlite3')


@pytest.fixture
def journal(db_path, clock):
    journal = Journal(db_path, clock=clock)
    yield journal
    journal.close()


def _dead_letter(operation_id, robot_id='drone1', **fields):
    values = {
        'operation': 'takeoff', 'parameters': '{altitude_m: 10.0}', 'attempts': 3,
        'error_code': ErrorCode.TIMEOUT, 'error_msg': 'takeoff did not end within 30 s',
        'first_attempt_s': 10.0, 'dead_letter_s': 40.0}
    values.update(fields)
    return DeadLetterRecord(operation_id=operation_id, robot_id=robot_id, **values)


def test_pragmas_are_in_effect(journal, db_path):
    pragmas = journal.pragmas()
    for role in ('writer', 'reader'):
        in_effect = pragmas[role]
        assert in_effect['journal_mode'] == 'wal', role
        assert in_effect['synchronous'] == 2, role  # FULL
        assert in_effect['foreign_keys'] == 1, role
        assert in_effect['busy_timeout'] == 5000, role
        assert in_effect['auto_vacuum'] == 2, role  # INCREMENTAL
        assert in_effect['user_version'] == SCHEMA_VERSION, role
    assert pragmas['writer']['query_only'] == 0
    assert pragmas['reader']['query_only'] == 1

    # journal_mode and user_version live in the file: another connection sees them.
    other = sqlite3.connect(db_path)
    try:
        assert other.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
        assert other.execute('PRAGMA user_version').fetchone()[0] == SCHEMA_VERSION
    finally:
        other.close()


def test_schema_creation_is_idempotent(db_path, clock):
    with Journal(db_path, clock=clock) as journal:
        assert journal.record_plan('p1', {'steps': []}, 1.0)
    with Journal(db_path, clock=clock) as journal:
        assert journal.plan('p1').plan == {'steps': []}
        assert journal.pragmas()['writer']['user_version'] == SCHEMA_VERSION


def test_newer_schema_version_is_refused(db_path, clock):
    conn = sqlite3.connect(db_path)
    conn.execute('PRAGMA user_version = %d' % (SCHEMA_VERSION + 1))
    conn.close()
    with pytest.raises(JournalSchemaError, match='schema version %d, newer than version %d'
                       % (SCHEMA_VERSION + 1, SCHEMA_VERSION)):
        Journal(db_path, clock=clock)
    # The refused database is left as it was, and the lock is released.
    conn = sqlite3.connect(db_path)
    assert conn.execute('PRAGMA user_version').fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()
    with pytest.raises(JournalSchemaError):
        Journal(db_path, clock=clock)


def test_second_opener_of_the_same_journal_is_refused(journal, db_path, clock):
    with pytest.raises(JournalError, match='in use by another process'):
        Journal(db_path, clock=clock)


@pytest.mark.parametrize('path', [':memory:', '', 'file:x?mode=memory'])
def test_memory_database_is_refused_without_touching_the_disk(path, clock, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError, match='not a database file'):
        Journal(path, clock=clock)
    assert list(tmp_path.iterdir()) == []


def test_record_plan_is_idempotent(journal):
    assert journal.record_plan('p1', {'plan_id': 'p1', 'steps': ['a']}, 5.0) is True
    assert journal.record_plan('p1', {'plan_id': 'p1', 'steps': ['other']}, 6.0) is False
    record = journal.plan('p1')
    assert record.plan == {'plan_id': 'p1', 'steps': ['a']}
    assert record.received_s == 5.0
    assert not record.finished
    assert journal.plan('missing') is None
    with pytest.raises(ValueError, match="names plan 'p2'"):
        journal.record_plan('p1', {'plan_id': 'p2'}, 5.0)


def test_record_operation_is_idempotent(journal, clock):
    assert journal.record_operation('op1', 'drone1', 'takeoff', '{altitude_m: 10.0}', False)
    clock.t += 1.0
    assert not journal.record_operation('op1', 'drone2', 'land', {}, True)
    op = journal.operation('op1')
    assert (op.robot_id, op.operation, op.params, op.safe_to_repeat) == (
        'drone1', 'takeoff', '{altitude_m: 10.0}', False)
    assert op.created_s == 1000.0
    assert not op.dispatched and not op.resolved
    assert journal.operation('missing') is None

    journal.record_operation('op2', 'drone1', 'go_to', {'y_m': 2.0, 'x_m': 1.0}, True,
                             plan_id='p', step_id='s')
    op2 = journal.operation('op2')
    assert op2.params == '{"x_m":1.0,"y_m":2.0}'
    assert (op2.plan_id, op2.step_id, op2.safe_to_repeat) == ('p', 's', True)


def test_step_states_round_trip(journal, clock):
    journal.record_plan('p1', {'steps': ['a', 'b']}, 1.0)
    journal.record_step_state('p1', 'a', state=2, attempt=1, operation_id='p1/a',
                              started=True)
    clock.t = 1010.0
    # A later state that does not say started must not hide that the robot may have acted.
    journal.record_step_state('p1', 'a', state=3, attempt=1, operation_id='p1/a',
                              code=ErrorCode.TIMEOUT, message='slow', started=False)
    journal.record_step_state('p1', 'b', state=1)
    steps = journal.plan('p1').steps
    assert steps == {
        'a': StepRecord(plan_id='p1', step_id='a', state=3, attempt=1, operation_id='p1/a',
                        code=ErrorCode.TIMEOUT, message='slow', started=True,
                        updated_s=1010.0),
        'b': StepRecord(plan_id='p1', step_id='b', state=1, attempt=0, operation_id='',
                        code=0, message='', started=False, updated_s=1010.0),
    }
    with pytest.raises(UnknownRecordError, match="plan 'nope'") as raised:
        journal.record_step_state('nope', 'a', state=1)
    assert raised.value.ids == ('nope',)


def test_finish_plan_keeps_the_first_outcome(journal):
    journal.record_plan('p1', {}, 1.0)
    assert journal.finish_plan('p1', {'error_code': 0}) is True
    assert journal.finish_plan('p1', {'error_code': 6}) is False
    record = journal.plan('p1')
    assert record.outcome == {'error_code': 0}
    assert record.finished_s == 1000.0
    with pytest.raises(UnknownRecordError):
        journal.finish_plan('nope', {})


def test_unfinished_plans_survive_reopen(db_path, clock):
    with Journal(db_path, clock=clock) as journal:
        journal.record_plan('done', {'plan_id': 'done'}, 1.0)
        journal.record_plan('running', {'plan_id': 'running', 'steps': ['a', 'b']}, 2.0)
        journal.record_plan('waiting', {'plan_id': 'waiting'}, 3.0)
        journal.record_step_state('running', 'a', state=4, attempt=1, started=True)
        journal.record_step_state('running', 'b', state=2, attempt=1, operation_id='r/b',
                                  started=True)
        journal.record_step_state('done', 'x', state=4, attempt=1, started=True)
        journal.finish_plan('done', {'error_code': 0})
    with Journal(db_path, clock=clock) as journal:
        unfinished = journal.unfinished_plans()
    assert [plan['plan_id'] for plan, _ in unfinished] == ['running', 'waiting']
    plan, steps = unfinished[0]
    assert plan == {'plan_id': 'running', 'steps': ['a', 'b']}
    assert sorted(steps) == ['a', 'b']
    assert steps['b'].state == 2 and steps['b'].started and steps['b'].operation_id == 'r/b'
    assert unfinished[1].steps == {}


def test_operation_dispatch_and_result(db_path, clock):
    with Journal(db_path, clock=clock) as journal:
        journal.record_operation('op1', 'drone1', 'takeoff', '{}', False)
        journal.record_operation('op2', 'drone1', 'land', '{}', True)
        journal.record_operation('op3', 'boat1', 'go_to', '{}', False)
        assert journal.unresolved_operations() == []
        clock.t = 1001.0
        journal.mark_dispatched('op1', 1)
        journal.mark_dispatched('op2', 1)
        journal.mark_operation_result('op2', 0, '', {'altitude_m': 0.0})
    # Reopened as after a crash: op1 may have started on the robot.
    with Journal(db_path, clock=clock) as journal:
        unresolved = journal.unresolved_operations()
        assert [op.operation_id for op in unresolved] == ['op1']
        assert unresolved[0].attempt == 1 and unresolved[0].dispatched_s == 1001.0
        done = journal.operation('op2')
        assert (done.code, done.result, done.finished_s) == (0, {'altitude_m': 0.0}, 1001.0)

        journal.mark_operation_result('op1', ErrorCode.TIMEOUT, 'slow')
        assert journal.unresolved_operations() == []
        # A new attempt clears the old result: its outcome is unknown again.
        clock.t = 1002.0
        journal.mark_dispatched('op1', 2)
        again = journal.operation('op1')
        assert (again.attempt, again.code, again.message, again.dispatched_s) == (
            2, None, '', 1002.0)
        assert again.unresolved

        with pytest.raises(ValueError, match='attempt 1 is below the journaled attempt 2'):
            journal.mark_dispatched('op1', 1)
        with pytest.raises(UnknownRecordError, match="operation 'nope'"):
            journal.mark_dispatched('nope', 1)
        with pytest.raises(UnknownRecordError, match="operation 'nope'"):
            journal.mark_operation_result('nope', 0)


def test_payloads_that_are_not_json_fail_in_the_caller(journal):
    with pytest.raises(ValueError, match='not JSON-serialisable'):
        journal.record_plan('p1', {'when': object()}, 1.0)
    assert journal.plan('p1') is None
    assert journal.stats()['commits'] == 0


def test_dead_letters_list_take_purge(journal):
    journal.add_dead_letter(_dead_letter('a', plan_id='p', step_id='s1'))
    journal.add_dead_letter(_dead_letter('b', robot_id='boat1'))
    journal.add_dead_letter(_dead_letter('c'))
    assert journal.dead_letter_count() == 3
    assert [r.operation_id for r in journal.list_dead_letters()] == ['a', 'b', 'c']
    assert [r.operation_id for r in journal.list_dead_letters(robot_id='drone1')] == ['a', 'c']
    assert [r.operation_id for r in journal.list_dead_letters(max_entries=2)] == ['a', 'b']
    assert journal.list_dead_letters()[0] == _dead_letter('a', plan_id='p', step_id='s1')

    # Taking names an unlisted id and removes nothing.
    with pytest.raises(UnknownRecordError, match='not listed as dead letters: x, y') as raised:
        journal.take_dead_letters(['c', 'x', 'a', 'y'])
    assert raised.value.ids == ('x', 'y')
    assert journal.dead_letter_count() == 3

    taken = journal.take_dead_letters(['c', 'a', 'c'])
    assert [r.operation_id for r in taken] == ['c', 'a']
    assert taken[1] == _dead_letter('a', plan_id='p', step_id='s1')
    assert [r.operation_id for r in journal.list_dead_letters()] == ['b']
    with pytest.raises(UnknownRecordError, match='not listed as dead letters: a'):
        journal.take_dead_letters(['a'])
    assert journal.take_dead_letters([]) == []

    # Failing again, a retried entry comes back at the end of the list.
    journal.add_dead_letter(_dead_letter('a', attempts=6))
    journal.add_dead_letter(_dead_letter('b', attempts=9))
    assert [(r.operation_id, r.attempts) for r in journal.list_dead_letters()] == [
        ('a', 6), ('b', 9)]

    with pytest.raises(UnknownRecordError, match='not listed as dead letters: zz'):
        journal.purge_dead_letters(['a', 'zz'])
    assert journal.dead_letter_count() == 2
    with pytest.raises(ValueError, match='either operation_ids or all=True'):
        journal.purge_dead_letters()
    with pytest.raises(ValueError, match='either operation_ids or all=True'):
        journal.purge_dead_letters(['a'], all=True)
    with pytest.raises(ValueError, match='not a string'):
        journal.purge_dead_letters('a')
    assert journal.purge_dead_letters(['a']) == 1
    journal.add_dead_letter(_dead_letter('c'))
    assert journal.purge_dead_letters(all=True) == 2
    assert journal.dead_letter_count() == 0
    assert journal.purge_dead_letters(all=True) == 0


def test_take_and_purge_many_dead_letters(journal):
    ids = ['op%04d' % i for i in range(1200)]
    for operation_id in ids:
        journal.add_dead_letter(_dead_letter(operation_id))
    taken = journal.take_dead_letters(ids[:1100])
    assert [r.operation_id for r in taken] == ids[:1100]
    assert journal.purge_dead_letters(ids[1100:]) == 100
    assert journal.dead_letter_count() == 0


def test_full_queue_pushes_back(db_path, clock):
    journal = Journal(db_path, clock=clock, max_pending=2, submit_timeout_s=0.2)
    entered = threading.Event()
    release = threading.Event()
    try:
        # Hold the writer inside a transaction, as a stalled disk would.
        def stall(conn):
            entered.set()
            release.wait(30.0)
        staller = threading.Thread(target=journal._submit, args=(stall,))
        staller.start()
        assert entered.wait(10.0)

        # Three writers: two fit in the queue, the third is pushed back after the timeout.
        outcomes = queue.Queue()

        def write(operation_id):
            try:
                journal.record_operation(operation_id, 'drone1', 'land', '{}', False)
                outcomes.put((operation_id, None))
            except Exception as e:
                outcomes.put((operation_id, e))
        writers = [threading.Thread(target=write, args=('op%d' % i,)) for i in range(3)]
        for writer in writers:
            writer.start()

        # The writer is stalled, so the first outcome can only be the refusal.
        refused_id, error = outcomes.get(timeout=10.0)
        assert isinstance(error, JournalFullError), error
        assert isinstance(error, BusyError) and error.code == ErrorCode.BUSY
        assert error.retryable
        assert 'write queue full (2 writes pending)' in str(error)
        assert journal.stats()['queue_depth'] == 2
        assert journal.stats()['writing'] == 1

        release.set()
        staller.join(10.0)
        accepted = [outcomes.get(timeout=10.0) for _ in range(2)]
        for writer in writers:
            writer.join(10.0)
        assert all(error is None for _, error in accepted), accepted
        for operation_id, _ in accepted:
            assert journal.operation(operation_id) is not None
        assert journal.operation(refused_id) is None
    finally:
        release.set()
        journal.close()


def test_write_failure_leaves_other_writes_of_the_batch(journal):
    # Writes that fail are rolled back alone; the journal keeps working.
    with pytest.raises(UnknownRecordError):
        journal.mark_dispatched('nope', 1)
    journal.record_operation('op1', 'drone1', 'land', '{}', False)
    assert journal.operation('op1') is not None
    assert journal.stats()['failed_commits'] == 0


def test_closed_journal_refuses_writes_and_reads(db_path, clock):
    journal = Journal(db_path, clock=clock)
    journal.record_operation('op1', 'drone1', 'land', '{}', False)
    journal.close()
    journal.close()
    assert journal.stats()['closed']
    with pytest.raises(JournalError, match='closed'):
        journal.record_operation('op2', 'drone1', 'land', '{}', False)
    with pytest.raises(JournalError, match='closed'):
        journal.operation('op1')
    # Closing checkpointed the WAL into the database file.
    assert not os.path.exists(db_path + '-wal')


def test_prune_keeps_the_database_bounded(journal, clock):
    for i in range(5):
        journal.record_plan('done%d' % i, {}, float(i))
        journal.record_step_state('done%d' % i, 's', state=4, attempt=1, started=True)
        journal.record_operation('done%d/s' % i, 'drone1', 'land', '{}', False,
                                 plan_id='done%d' % i, step_id='s')
        journal.mark_dispatched('done%d/s' % i, 1)
        journal.mark_operation_result('done%d/s' % i, 0)
        clock.t += 1.0
        journal.finish_plan('done%d' % i, {'error_code': 0})
    journal.record_plan('running', {'plan_id': 'running'}, 9.0)
    journal.record_step_state('running', 's', state=2, attempt=1, started=True)
    for i in range(4):
        clock.t += 1.0
        journal.record_operation('single%d' % i, 'boat1', 'go_to', '{}', False)
        journal.mark_dispatched('single%d' % i, 1)
        journal.mark_operation_result('single%d' % i, 0)
    journal.record_operation('in_flight', 'boat1', 'go_to', '{}', False)
    journal.mark_dispatched('in_flight', 1)
    journal.add_dead_letter(_dead_letter('dead'))

    removed = journal.prune(keep_finished_plans=2, keep_finished_operations=1)
    assert removed == {'plans': 3, 'operations': 6}
    for i in range(3):
        assert journal.plan('done%d' % i) is None
        assert journal.operation('done%d/s' % i) is None
    for plan_id in ('done3', 'done4'):
        assert journal.plan(plan_id).steps['s'].state == 4
        assert journal.operation(plan_id + '/s') is not None
    assert [plan for plan, _ in journal.unfinished_plans()] == [{'plan_id': 'running'}]
    assert journal.plan('running').steps['s'].started
    assert [i for i in range(4) if journal.operation('single%d' % i)] == [3]
    assert [op.operation_id for op in journal.unresolved_operations()] == ['in_flight']
    assert journal.dead_letter_count() == 1
    # The cascade left no steps behind.
    conn = sqlite3.connect(journal.path)
    try:
        assert conn.execute('SELECT COUNT(*) FROM steps').fetchone()[0] == 3
        assert conn.execute('PRAGMA foreign_key_check').fetchall() == []
    finally:
        conn.close()

    assert journal.prune(keep_finished_plans=0, keep_finished_operations=0) == {
        'plans': 2, 'operations': 3}
    with pytest.raises(ValueError):
        journal.prune(keep_finished_plans=-1)


def test_stats(journal):
    journal.record_operation('op1', 'drone1', 'land', '{}', False)
    stats = journal.stats()
    assert stats['queue_depth'] == 0 and stats['writing'] == 0
    assert stats['commits'] >= 1 and stats['failed_commits'] == 0
    assert stats['last_commit_latency_s'] > 0.0
    assert stats['max_commit_latency_s'] >= stats['last_commit_latency_s']
    assert stats['db_bytes'] > 0 and stats['wal_bytes'] > 0
    assert stats['max_pending'] == 1024 and not stats['closed']


def test_concurrent_writers_are_all_committed(journal):
    def write(prefix):
        for i in range(50):
            journal.record_operation('%s-%d' % (prefix, i), 'drone1', 'land', '{}', False)
    threads = [threading.Thread(target=write, args=('t%d' % n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30.0)
    for n in range(4):
        for i in range(50):
            assert journal.operation('t%d-%d' % (n, i)) is not None


def _read_lines(stream, lines):
    for line in stream:
        lines.put(line)
    lines.put(None)


def _run_writer_until_killed(db_path, prefix, log_path):
    """Start the writer process, wait for enough acknowledgements, SIGKILL it; return them."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(_REPO_ROOT)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    with open(log_path, 'ab') as log:
        process = subprocess.Popen(
            [sys.executable, str(_WRITER_SCRIPT), db_path, prefix], stdout=subprocess.PIPE,
            stderr=log, env=env, cwd=str(_REPO_ROOT), text=True)
    lines = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    acknowledged = []
    try:
        deadline = time.monotonic() + _ACK_TIMEOUT_S
        while len(acknowledged) < _ACKS_PER_ROUND:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail('writer process gave %d of %d acknowledgements (exit %r):\n%s'
                            % (len(acknowledged), _ACKS_PER_ROUND, process.poll(),
                               Path(log_path).read_text()))
            acknowledged.append(line)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10.0)
    # Lines printed between the last one read and the kill are acknowledged too.
    reader.join(10.0)
    process.stdout.close()
    while True:
        line = lines.get_nowait()
        if line is None:
            break
        acknowledged.append(line)
    assert process.returncode == -signal.SIGKILL
    # A line cut by the kill was not fully printed; it acknowledges nothing.
    return [line.split() for line in acknowledged if line.endswith('\n')]


def test_acknowledged_writes_survive_sigkill(db_path, tmp_path, clock):
    expected = []
    for round_ in range(_CRASH_ROUNDS):
        expected += _run_writer_until_killed(
            db_path, 'r%d' % round_, str(tmp_path / 'writer.log'))

        conn = sqlite3.connect(db_path)
        try:
            assert conn.execute('PRAGMA integrity_check').fetchall() == [('ok',)]
            assert conn.execute('PRAGMA foreign_key_check').fetchall() == []
        finally:
            conn.close()
        with Journal(db_path, clock=clock) as journal:
            dead_letters = {r.operation_id: r for r in journal.list_dead_letters()}
            unresolved = {op.operation_id for op in journal.unresolved_operations()}
            unfinished = {plan['plan_id']: steps for plan, steps in journal.unfinished_plans()}
            for kind, item_id in expected:
                if kind == 'operation':
                    op = journal.operation(item_id)
                    assert op is not None, item_id
                    assert op.params == '{"x_m":%s}' % float(item_id.rsplit('-', 1)[1])
                    assert op.attempt == 2 and item_id in unresolved, item_id
                elif kind == 'plan':
                    assert unfinished[item_id]['s'].started, item_id
                else:
                    assert dead_letters[item_id].error_msg == 'link lost', item_id
    assert len(expected) >= _CRASH_ROUNDS * _ACKS_PER_ROUND


def test_grouped_writes_are_committed_together_when_the_block_exits(journal, db_path):
    with journal.grouped():
        assert journal.record_operation('g-1', 'r1', 'hover', {'duration_s': 1.0}, True) is None
        with journal.grouped():  # joins the outer block
            journal.mark_dispatched('g-1', 1)
        journal.mark_operation_result('g-1', 0, 'ok')
    # Committed, in call order, by the time the block has exited; another connection sees it.
    with contextlib.closing(sqlite3.connect(db_path)) as reader:
        row = reader.execute('SELECT attempt, code, message FROM operations '
                             "WHERE operation_id = 'g-1'").fetchone()
    assert row == (1, 0, 'ok')


def test_a_failed_grouped_write_raises_when_the_block_exits(journal):
    done = []
    with pytest.raises(UnknownRecordError, match='nope'):
        with journal.grouped():
            journal.mark_dispatched('nope', 1)  # not journaled: fails in the writer
            done.append('went on')
            journal.record_operation('g-2', 'r1', 'hover', {}, True)
    # The block went on after the failing call; the writes around it still committed.
    assert done == ['went on']
    assert journal.operation('g-2') is not None


def test_dead_letters_page_in_sql_and_count_per_robot(journal):
    for index in range(5):
        journal.add_dead_letter(_dead_letter(f'op{index}', robot_id='drone1' if index % 2
                                             else 'boat1'))
    pages = [[r.operation_id for r in journal.list_dead_letters(max_entries=2, offset=o)]
             for o in (0, 2, 4)]
    assert pages == [['op0', 'op1'], ['op2', 'op3'], ['op4']]
    assert [r.operation_id for r in journal.list_dead_letters(offset=3)] == ['op3', 'op4']
    assert [r.operation_id for r in journal.list_dead_letters('drone1', 1, 1)] == ['op3']
    assert (journal.dead_letter_count(), journal.dead_letter_count('boat1')) == (5, 3)
    with pytest.raises(ValueError):
        journal.list_dead_letters(offset=-1)


def test_prune_older_than_keeps_unfinished_plans_and_recent_records(journal, clock):
    journal.record_plan('old', {'steps': []}, 10.0)
    journal.finish_plan('old', {'state': 4})
    journal.record_plan('running', {'steps': []}, 10.0)
    journal.add_dead_letter(_dead_letter('stale', dead_letter_s=100.0))
    clock.t = 5000.0
    journal.record_plan('recent', {'steps': []}, 5000.0)
    journal.finish_plan('recent', {'state': 4})
    journal.add_dead_letter(_dead_letter('fresh', dead_letter_s=4900.0))
    removed = journal.prune_older_than(2000.0)
    assert (removed['plans'], removed['dead_letters']) == (1, 1)
    assert journal.plan('old') is None
    assert journal.plan('running') is not None and journal.plan('recent') is not None
    assert [r.operation_id for r in journal.list_dead_letters()] == ['fresh']


def test_a_size_capped_journal_fails_writes_as_a_full_disk_and_probes(journal):
    journal.set_max_size_bytes(journal.size_bytes())
    with pytest.raises(JournalError, match='full'):
        journal.record_plan('big', {'steps': ['x' * 200] * 200}, 1.0)
    assert journal.plan('big') is None
    journal.set_max_size_bytes(0)
    journal.probe()
    assert journal.record_plan('big', {'steps': ['x' * 200] * 200}, 1.0)
