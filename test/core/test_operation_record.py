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
The robot's durable operation record, under RobotRuntime, on a real SQLite file.

A "restart" is a new runtime and a new store on the same file, as a restarted executor makes.
"""

import os
import sqlite3
import threading

from brain_execution.core.errors import ErrorCode
from brain_execution.core.operation_store import OperationStore, StoredOperation
from brain_execution.core.runtime import OperationState, RobotRuntime
import pytest

from .test_runtime import ENVELOPE, FAR, HOME, Robot

DAY_S = 86400.0


class WallClock:
    """Wall-clock seconds the test moves by hand (retention)."""

    def __init__(self, t: float = 1.7e9):
        self.t = t

    def __call__(self) -> float:
        return self.t


class DurableRobot(Robot):
    """A Robot whose runtime keeps its ids in a store at path (a new store per start)."""

    def __init__(self, path, *, wall=None, history_size=1000, bridge=None):
        self.path = str(path)
        self.wall = wall or WallClock()
        self.store = OperationStore(self.path, retention_s=7 * DAY_S, wall_clock=self.wall)
        self._history_size = history_size
        super().__init__(history_size=history_size, bridge=bridge)
        self.runtime = RobotRuntime(
            robot_id='r1', bridge=self.bridge, envelope=ENVELOPE, home=HOME, clock=self.clock,
            history_size=history_size, logger=lambda level, msg: self.logs.append((level, msg)),
            store=self.store)

    def restart(self) -> 'DurableRobot':
        """Drop this runtime without any cleanup (a crash) and start a new one on the file."""
        self.store.close()
        return DurableRobot(self.path, wall=self.wall, history_size=self._history_size)


def airborne_durable(path, **kwargs) -> DurableRobot:
    robot = DurableRobot(path, **kwargs)
    record = robot.runtime.submit('takeoff', {'altitude_m': 10.0, 'climb_speed_mps': 2.0},
                                  operation_id='takeoff-1')
    robot.until(lambda: record.done, 30.0)
    assert record.state is OperationState.SUCCEEDED, record.outcome
    return robot


def test_an_operation_is_stored_as_started_before_the_robot_acts(tmp_path):
    robot = airborne_durable(tmp_path / 'ops.db')
    seen = {}
    go_to = robot.bridge.go_to

    def go_to_checking_the_record(**kwargs):
        # Read through another connection: committed, not merely in this process's cache.
        with sqlite3.connect(robot.path) as db:
            seen['row'] = db.execute('SELECT started, state FROM operations WHERE '
                                     'operation_id = ?', ('move-1',)).fetchone()
        return go_to(**kwargs)

    robot.bridge.go_to = go_to_checking_the_record
    record = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    assert record.state is OperationState.RUNNING and record.started
    assert seen['row'] == (1, OperationState.RUNNING)


def test_restart_closes_running_operations_as_interrupted_and_never_runs_them(tmp_path):
    robot = airborne_durable(tmp_path / 'ops.db')
    robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    robot.advance(1.0)
    robot = robot.restart()
    assert any('move-1' in msg and 'INTERRUPTED' in msg for _, msg in robot.logs)
    record = robot.runtime.query('move-1')
    assert record.outcome.code == ErrorCode.INTERRUPTED and record.started
    assert record.state is OperationState.FAILED and not record.outcome.retryable
    again = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    assert again.outcome.code == ErrorCode.INTERRUPTED
    assert robot.commands('go_to') == [], 'a re-sent id must not reach the platform'
    other = robot.runtime.submit('go_to', {'target': dict(FAR, x_m=10.0)},
                                 operation_id='move-1')
    assert other.outcome.code == ErrorCode.OPERATION_ID_CONFLICT
    assert 'parameters.target.x_m: 10.0 != 150.0' in other.outcome.message
    assert robot.commands('go_to') == []


def test_ended_outcomes_survive_a_restart_and_beyond_the_history(tmp_path):
    robot = DurableRobot(tmp_path / 'ops.db', history_size=5)
    for i in range(50):
        record = robot.runtime.submit('capture_image', {'camera_id': 'default'},
                                      operation_id=f'img-{i}')
        robot.until(lambda: record.done, 5.0)
    assert robot.store.flush()
    assert len(robot.runtime.records()) <= 5
    assert robot.runtime.query('img-0').outcome.code == ErrorCode.NONE
    robot = robot.restart()
    first = robot.runtime.query('img-0')
    assert first.outcome.code == ErrorCode.NONE and first.started
    assert robot.runtime.submit('capture_image', {'camera_id': 'default'},
                                operation_id='img-0').outcome.code == ErrorCode.NONE
    assert robot.commands('capture_image') == []
    assert robot.runtime.query('never-sent') is None


def test_refusals_are_not_recorded_and_the_id_may_be_sent_again(tmp_path):
    robot = DurableRobot(tmp_path / 'ops.db')
    refused = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    assert refused.outcome.code == ErrorCode.PRECONDITION_FAILED and not refused.started
    assert robot.runtime.query('move-1') is None
    assert robot.store.count() == 0


def test_a_record_that_cannot_be_written_refuses_goals_before_acting(tmp_path):
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('')
    robot = DurableRobot(blocker / 'ops.db')
    record = robot.runtime.submit('capture_image', {'camera_id': 'default'},
                                  operation_id='img-1')
    assert record.outcome.code == ErrorCode.OPERATION_RECORD_FAILED
    assert str(blocker) in record.outcome.message and record.outcome.retryable
    assert not record.started and robot.commands('capture_image') == []
    # The emergency lane never depends on the record.
    stop = robot.runtime.submit('emergency_stop', {'reason': 'test'})
    assert robot.commands('emergency_stop') and stop.started


def test_a_full_disk_mid_run_refuses_new_goals_and_keeps_running_ones(tmp_path):
    robot = airborne_durable(tmp_path / 'ops.db')
    motion = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
    # SQLite's own size limit stands in for a full disk: the next page allocation fails.
    with robot.store._lock:
        pages = robot.store._db.execute('PRAGMA page_count').fetchone()[0]
        robot.store._db.execute(f'PRAGMA max_page_count = {pages}')
    refused, codes = [], set()
    for i in range(400):
        record = robot.runtime.submit('capture_image', {'camera_id': 'default'},
                                      operation_id=f'img-{i}-' + 'y' * 100)
        robot.until(lambda: record.done, 5.0)
        codes.add(record.outcome.code)
        if record.outcome.code == ErrorCode.OPERATION_RECORD_FAILED:
            refused.append(record)
            break
    assert refused, f'the record never filled up; outcomes {codes}'
    assert 'full' in refused[0].outcome.message and not refused[0].started
    assert motion.state is OperationState.RUNNING


def test_retention_prunes_only_old_ended_operations(tmp_path):
    wall = WallClock()
    robot = airborne_durable(tmp_path / 'ops.db', wall=wall)
    running = robot.runtime.submit('go_to', {'target': FAR}, operation_id='long-move')
    done = robot.runtime.submit('capture_image', {'camera_id': 'default'}, operation_id='old')
    robot.until(lambda: done.done, 5.0)
    assert robot.store.flush()
    wall.t += 8 * DAY_S
    assert robot.store.prune() == 2  # 'old' and the takeoff, not the running go_to
    assert robot.store.get('old') is None and robot.store.get('takeoff-1') is None
    assert running.state is OperationState.RUNNING
    assert robot.store.get('long-move').started


def test_done_callbacks_wait_until_the_outcome_is_durable(tmp_path):
    robot = DurableRobot(tmp_path / 'ops.db')
    ended = threading.Event()
    rows = []

    def on_done(record):
        with sqlite3.connect(robot.path) as db:
            rows.append(db.execute('SELECT code FROM operations WHERE operation_id = ?',
                                   (record.operation_id,)).fetchone())
        ended.set()

    record = robot.runtime.submit('capture_image', {'camera_id': 'default'}, operation_id='i1')
    record.add_done_callback(on_done)
    robot.until(lambda: record.done, 5.0)
    assert ended.wait(10.0)
    assert rows == [(ErrorCode.NONE,)]


def test_store_rejects_bad_settings_and_reports_the_path(tmp_path):
    with pytest.raises(ValueError):
        OperationStore(str(tmp_path / 'a.db'), retention_s=0)
    store = OperationStore(str(tmp_path / 'a.db'), retention_s=10.0)
    store.insert(StoredOperation(operation_id='a', operation='land', content={}, started=True))
    with pytest.raises(Exception) as raised:
        store.insert(StoredOperation(operation_id='a', operation='land', content={},
                                     started=True))
    assert 'a.db' in str(raised.value)
    store.close()
    assert os.path.exists(str(tmp_path / 'a.db'))


def test_a_repeat_that_meets_the_first_intake_mid_commit_attaches_instead_of_busy(tmp_path):
    """
    A goal sent twice at once: the repeat waits for the first intake's commit, then attaches.

    The race: the repeat passes its wait for the id's intake just before the first goal
    starts that intake, then finds it committing under the lock. It must wait for the
    commit and attach, not answer BUSY ("being accepted right now").
    """
    robot = airborne_durable(tmp_path / 'ops.db')
    memory = robot.runtime._memory  # noqa: SLF001 - the seam the race goes through
    repeat_waited, committing, release = (threading.Event() for _ in range(3))
    insert, wait_intake = robot.store.insert, memory.wait_intake
    repeat_thread = []

    def insert_slowly(stored):
        if stored.operation_id == 'move-1':
            committing.set()
            assert release.wait(10.0), 'the commit was never released'
        return insert(stored)

    def wait_intake_in_order(operation_id, timeout_s):
        if threading.current_thread() is not repeat_thread[0]:
            return wait_intake(operation_id, timeout_s)
        if not repeat_waited.is_set():
            done = wait_intake(operation_id, timeout_s)  # no intake yet: returns at once
            repeat_waited.set()
            assert committing.wait(10.0), 'the first intake never started its commit'
            return done
        release.set()  # waiting again, as it should: now let the commit finish
        return wait_intake(operation_id, timeout_s)

    robot.store.insert = insert_slowly
    memory.wait_intake = wait_intake_in_order
    results = {}

    def submit(key):
        results[key] = robot.runtime.submit('go_to', {'target': FAR}, operation_id='move-1')
        release.set()  # a repeat answered without waiting must not hold the commit up

    repeat = threading.Thread(target=submit, args=('repeat',))
    repeat_thread.append(repeat)
    first = threading.Thread(target=submit, args=('first',))
    try:
        repeat.start()
        assert repeat_waited.wait(10.0)
        first.start()
        first.join(15.0)
        repeat.join(15.0)
    finally:
        release.set()
    assert not first.is_alive() and not repeat.is_alive()
    assert results['first'].state is OperationState.RUNNING, results['first'].outcome
    assert results['repeat'] is results['first'], results['repeat'].outcome
