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
Mission reports from journals written by the real :class:`Journal`, and the CLI's errors.

The journal is written as the coordinator writes it (plan, operations, step states, dead
letters, outcome) and stays open, holding its lock, while the report reads it: the report
must never need, or block, the live writer. The report of a journal produced by a real plan
on a running fleet is in test/ros/test_fleet_mission.py.
"""

import json
import sqlite3

from brain_execution.cli.commands import main
from brain_execution.core.journal import DeadLetterRecord, Journal, SCHEMA_VERSION
from brain_execution.report import (
    build_report, JournalReadError, RecordingReadError, UnknownPlanError)
from brain_execution.report.charts import step_segments
from brain_execution.report.journal_data import read_plan
from brain_execution.report.recording_data import _topic_kind, Recording, StepEvent
import matplotlib.image
import pytest

_PLAN = 'survey-1'
_MESSAGE = 'link lost <script>alert(1)</script>'


class _Clock:
    """The coordinator's clock, moved by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _step(step_id, robot, operation, parameters=None, depends_on=(), compensation=''):
    return {'step_id': step_id, 'robot_id': robot, 'operation': operation,
            'parameters': parameters or {}, 'depends_on': list(depends_on),
            'operation_id': '', 'priority': 100, 'timeout_s': 0.0,
            'retry': {'max_attempts': 3}, 'safe_to_repeat': False,
            'compensation_operation': compensation, 'compensation_parameters': {}}


def _run_step(journal, clock, step_id, robot, operation, results, *, state):
    """Journal a step's attempts as the coordinator does; results: [(code, message)]."""
    op_id = f'{_PLAN}/{step_id}'
    journal.record_operation(op_id, robot, operation, {}, False, plan_id=_PLAN,
                             step_id=step_id)
    for attempt, (code, message) in enumerate(results, 1):
        journal.mark_dispatched(op_id, attempt)
        journal.record_step_state(_PLAN, step_id, state=2, attempt=attempt,
                                  operation_id=op_id, started=True)
        clock.now += 2.0
        journal.mark_operation_result(op_id, code, message)
        journal.record_step_state(_PLAN, step_id, state=state if attempt == len(results)
                                  else 3, attempt=attempt, operation_id=op_id, code=code,
                                  message=message, started=True)
        clock.now += 1.0
    return op_id


@pytest.fixture
def live_journal(tmp_path):
    """Yield a journal open as a running coordinator holds it, with one finished plan."""
    clock = _Clock()
    journal = Journal(str(tmp_path / 'journal.db'), clock=clock)
    journal.record_plan(_PLAN, {'plan_id': _PLAN, 'steps': [
        _step('up', 'drone1', 'takeoff', {'altitude_m': 10.0}, compensation='land'),
        _step('fly', 'drone1', 'go_to', {'target': {'x_m': 30.0, 'y_m': 20.0}}, ['up']),
        _step('look', 'rover1', 'capture_image'),
        _step('after', 'rover1', 'hold', {'duration_s': 1.0}, ['fly']),
    ]}, clock.now)
    _run_step(journal, clock, 'look', 'rover1', 'capture_image', [(0, '')], state=4)
    _run_step(journal, clock, 'up', 'drone1', 'takeoff', [(0, '')], state=4)
    fly = _run_step(journal, clock, 'fly', 'drone1', 'go_to',
                    [(9, _MESSAGE), (9, _MESSAGE), (9, _MESSAGE)], state=8)
    journal.add_dead_letter(DeadLetterRecord(
        operation_id=fly, plan_id=_PLAN, step_id='fly', robot_id='drone1', operation='go_to',
        parameters='{}', attempts=3, error_code=9, error_msg=_MESSAGE,
        first_attempt_s=106.0, dead_letter_s=clock.now))
    journal.record_step_state(_PLAN, 'after', state=7, message='dependency fly failed')
    undo = f'{_PLAN}/up~undo'
    journal.record_operation(undo, 'drone1', 'land', {}, False, plan_id=_PLAN, step_id='up')
    journal.mark_dispatched(undo, 1)
    clock.now += 3.0
    journal.mark_operation_result(undo, 0, '')
    journal.record_step_state(_PLAN, 'up', state=9, attempt=1, operation_id=f'{_PLAN}/up',
                              started=True)
    journal.finish_plan(_PLAN, {'plan_id': _PLAN, 'state': 5, 'code': 9,
                                'message': f'step fly: {_MESSAGE}', 'step_id': 'fly'})
    try:
        yield journal, clock
    finally:
        journal.close()


def _assert_png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_report_of_a_live_journal_has_every_step_and_outcome(live_journal, tmp_path):
    journal, clock = live_journal
    report = build_report(journal.path, _PLAN, output=tmp_path / 'out')
    page = open(report.html, encoding='utf-8').read()
    for text in ('look', 'up', 'fly', 'after', 'SUCCEEDED', 'COMPENSATED', 'DEAD_LETTER',
                 'SKIPPED', 'COMMUNICATION_FAILURE', 'dependency fly failed',
                 f'{_PLAN}/fly', 'land: done', 'Outcome: <span class="state" '
                 'style="background:#c62828">FAILED</span>'):
        assert text in page, text
    # Robot text is data: escaped, never markup.
    assert '<script>' not in page and '&lt;script&gt;' in page
    assert set(report.images) == {'timeline'}
    _assert_png(report.images['timeline'])
    assert 'data:image/png;base64,' in page  # self-contained
    # The writer was neither locked out nor blocked by the read.
    clock.now += 1.0
    journal.record_plan('next', {'plan_id': 'next', 'steps': []}, clock.now)
    assert read_plan(journal.path).plan_id == 'next'


def test_journal_alone_shows_retries_before_the_last_attempt(live_journal):
    journal, _ = live_journal
    mission = read_plan(journal.path, _PLAN)
    fly = next(s for s in mission.steps if s.step_id == 'fly')
    assert (fly.state, fly.attempt, fly.error) == ('DEAD_LETTER', 3, 'COMMUNICATION_FAILURE')
    kinds = [(s.step_id, s.kind) for s in step_segments(mission)]
    assert ('fly', 'RETRYING') in kinds and ('fly', 'DEAD_LETTER') in kinds
    assert ('up', 'COMPENSATION') in kinds
    assert not any(step == 'after' for step, _ in kinds)  # never sent: no bar


def test_recorded_events_give_each_attempt_and_back_off(live_journal):
    journal, _ = live_journal
    mission = read_plan(journal.path, _PLAN)
    t0 = mission.received_s
    events = [StepEvent(t0 + t, 'fly', 'drone1', 'go_to', state, attempt, 0, '')
              for t, state, attempt in ((6, 2, 1), (7, 2, 1), (8, 3, 1), (9, 2, 2),
                                        (11, 8, 2))]
    recording = Recording(path='bag', tracks={}, geofences={}, events=events,
                          message_count=len(events))
    spans = [(s.kind, s.attempt, s.start_s, s.end_s)
             for s in step_segments(mission, recording) if s.step_id == 'fly']
    assert spans == [('RETRYING', 1, 6.0, 8.0), ('BACKOFF', 2, 8.0, 9.0),
                     ('DEAD_LETTER', 2, 9.0, 11.0)]


def test_bad_journals_are_named(tmp_path):
    with pytest.raises(JournalReadError, match='no journal at'):
        read_plan(tmp_path / 'missing.db')
    corrupt = tmp_path / 'corrupt.db'
    corrupt.write_bytes(b'SQLite format 3\x00' + b'\xff' * 4000)
    with pytest.raises(JournalReadError, match='unreadable'):
        read_plan(corrupt)
    text = tmp_path / 'notes.db'
    text.write_text('not a database at all\n' * 100)
    with pytest.raises(JournalReadError, match='unreadable'):
        read_plan(text)
    other = tmp_path / 'other.db'
    with sqlite3.connect(other) as conn:
        conn.execute('CREATE TABLE plans (x)')
    with pytest.raises(JournalReadError, match='not a brain_execution journal'):
        read_plan(other)
    newer = tmp_path / 'newer.db'
    Journal(str(newer), clock=lambda: 0.0).close()
    with sqlite3.connect(newer) as conn:
        conn.execute(f'PRAGMA user_version = {SCHEMA_VERSION + 1}')
    with pytest.raises(JournalReadError, match='newer than'):
        read_plan(newer)


def test_unknown_plan_names_the_known_ones(live_journal):
    journal, _ = live_journal
    with pytest.raises(UnknownPlanError, match=f"no plan 'nope' \\(latest: {_PLAN}\\)"):
        read_plan(journal.path, 'nope')


def test_missing_recording_is_an_error(live_journal, tmp_path):
    journal, _ = live_journal
    with pytest.raises(RecordingReadError, match='no rosbag2 bag'):
        build_report(journal.path, _PLAN, recording=tmp_path / 'nobag',
                     output=tmp_path / 'out')
    assert not (tmp_path / 'out').exists()  # nothing half-written


def test_cli_writes_the_report_and_exits_2_on_bad_input(live_journal, tmp_path, capsys):
    journal, _ = live_journal
    out = tmp_path / 'cli'
    assert main(['report', _PLAN, '--journal', journal.path, '--output', str(out),
                 '--json']) == 0
    document = json.loads(capsys.readouterr().out)
    assert document['html'] == str(out / 'report.html') and document['outcome'] == 'FAILED'
    assert document['steps'] == {'up': 'COMPENSATED', 'fly': 'DEAD_LETTER',
                                 'look': 'SUCCEEDED', 'after': 'SKIPPED'}
    _assert_png(document['images']['timeline'])
    assert main(['report', '--journal', journal.path, '--output', str(out)]) == 0
    assert 'report of plan survey-1 (FAILED, 4 steps)' in capsys.readouterr().out
    for argv, message in (
            (['report', 'nope', '--journal', journal.path], "no plan 'nope'"),
            (['report', '--journal', str(tmp_path / 'none.db')], 'no journal at'),
            (['report', _PLAN, '--journal', journal.path, '--recording',
              str(tmp_path)], 'no rosbag2 bag')):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith('brain-execution: ') and message in err, err


def test_recorded_topics_are_matched_to_robots_in_any_namespace():
    leaves = {'odom': 'odom', 'geofence': 'fence'}
    robots = ['drone1', 'boat1']
    assert _topic_kind('/drone1/odom', robots, leaves) == ('odom', 'drone1')
    assert _topic_kind('/site_a/drone1/odom', robots, leaves) == ('odom', 'drone1')
    assert _topic_kind('/site_b/boat1/geofence', robots, leaves) == ('fence', 'boat1')
    # Another robot's, another leaf, or a namespace that only ends like the id: skipped.
    assert _topic_kind('/rover1/odom', robots, leaves) is None
    assert _topic_kind('/drone1/path', robots, leaves) is None
    assert _topic_kind('/xdrone1/odom', robots, leaves) is None
