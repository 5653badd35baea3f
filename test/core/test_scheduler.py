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
PlanScheduler: ordering, limits, failures, retries, cancel, compensation, bounds, restore.

Time is a plain number the test advances; the scheduler has no clock of its own.
"""

import collections
import re

from brain_execution.core.errors import BusyError, ErrorCode, ExecutionError
from brain_execution.core.plan import Plan, PlanStep
from brain_execution.core.scheduler import (
    Compensation, PlanScheduler, SchedulerListener, StepState, StepStatus)
from hypothesis import given, settings, strategies as st
import pytest


def _step(step_id, robot='drone1', operation='hover', *deps, **kwargs):
    return PlanStep(step_id, robot, operation, depends_on=tuple(deps), **kwargs)


def _ready(scheduler, now=0.0, **kwargs):
    return [(plan_id, step.step_id) for plan_id, step in scheduler.next_ready(now, **kwargs)]


def _start_all(scheduler, now=0.0):
    started = _ready(scheduler, now)
    for plan_id, step_id in started:
        scheduler.mark_running(plan_id, step_id, now)
    return started


def _state(scheduler, plan_id, step_id):
    return scheduler.status(plan_id, step_id).state


class Recorder(SchedulerListener):
    """Keeps every notification, as a journal would."""

    def __init__(self):
        self.steps = []
        self.plans = []

    def step_changed(self, plan_id, status):
        self.steps.append((plan_id, status))

    def plan_finished(self, plan_id, outcome):
        self.plans.append(outcome)


def test_step_states_match_operation_status(repo_root):
    text = (repo_root / 'brain_execution_interfaces' / 'msg' /
            'OperationStatus.msg').read_text(encoding='utf-8')
    constants = {name: int(value) for name, value in
                 re.findall(r'^uint8 STATE_(\w+)\s*=\s*(\d+)', text, flags=re.MULTILINE)}
    assert constants == {state.name: state.value for state in StepState}


# --- order and limits --------------------------------------------------------------------------

def _fleet_plan():
    # Three robots, two parallel branches joined at the end:
    #   drone1: up -> photo ;  ugv1: drive -> look ;  usv1: sail ; all -> report (usv1)
    return Plan('fleet', (
        _step('up', 'drone1', 'takeoff'),
        _step('photo', 'drone1', 'capture_image', 'up'),
        _step('drive', 'ugv1', 'go_to'),
        _step('look', 'ugv1', 'capture_image', 'drive'),
        _step('sail', 'usv1', 'station_keep'),
        _step('report', 'usv1', 'broadcast_status', 'photo', 'look', 'sail'),
    ))


def test_parallel_branches_across_three_robots_run_in_dependency_order():
    scheduler = PlanScheduler(max_concurrency=10)
    scheduler.add_plan(_fleet_plan(), 0.0)
    assert _start_all(scheduler, 0.0) == [('fleet', 'up'), ('fleet', 'drive'), ('fleet', 'sail')]
    assert _ready(scheduler) == []
    scheduler.mark_succeeded('fleet', 'drive', 1.0)
    assert _start_all(scheduler, 1.0) == [('fleet', 'look')]
    scheduler.mark_succeeded('fleet', 'up', 2.0)
    scheduler.mark_succeeded('fleet', 'sail', 2.0)
    assert _start_all(scheduler, 2.0) == [('fleet', 'photo')]
    scheduler.mark_succeeded('fleet', 'photo', 3.0)
    assert _ready(scheduler, 3.0) == []
    scheduler.mark_succeeded('fleet', 'look', 4.0)
    assert _start_all(scheduler, 4.0) == [('fleet', 'report')]
    outcome = scheduler.mark_succeeded('fleet', 'report', 5.0)
    assert outcome.succeeded and outcome.state is StepState.SUCCEEDED
    assert (outcome.code, outcome.message, outcome.ended_s) == (ErrorCode.NONE, '', 5.0)
    assert scheduler.outcome('fleet') == outcome
    assert scheduler.active_plan_ids() == ()
    assert scheduler.finished_plan_ids() == ('fleet',)
    assert scheduler.pending_step_count == 0


def test_one_step_per_robot_by_default_and_configurable():
    plan = Plan('p', tuple(_step(f's{i}', 'drone1') for i in range(3)))
    scheduler = PlanScheduler()
    scheduler.add_plan(plan, 0.0)
    assert _start_all(scheduler) == [('p', 's0')]
    assert _ready(scheduler) == []
    wide = PlanScheduler(max_per_robot=2)
    wide.add_plan(plan, 0.0)
    assert _ready(wide) == [('p', 's0'), ('p', 's1')]


def test_robot_load_outside_plans_counts_against_the_robot_limit():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a', 'drone1'), _step('b', 'drone2'))), 0.0)
    assert _ready(scheduler, robot_load={'drone1': 1}) == [('p', 'b')]


def test_global_and_plan_concurrency_limits():
    steps = tuple(_step(f's{i}', f'robot{i}') for i in range(6))
    scheduler = PlanScheduler(max_concurrency=4)
    scheduler.add_plan(Plan('limited', steps, max_concurrency=2), 0.0)
    scheduler.add_plan(Plan('open', tuple(_step(f't{i}', f'other{i}') for i in range(6))), 0.0)
    started = _start_all(scheduler)
    assert started == [('limited', 's0'), ('limited', 's1'), ('open', 't0'), ('open', 't1')]
    assert _ready(scheduler) == []
    scheduler.mark_succeeded('open', 't0', 1.0)
    assert _ready(scheduler, 1.0) == [('open', 't2')]
    scheduler.mark_succeeded('limited', 's0', 1.0)
    assert _ready(scheduler, 1.0) == [('limited', 's2'), ('open', 't2')]


def test_plan_concurrency_never_exceeds_the_global_limit():
    scheduler = PlanScheduler(max_concurrency=2)
    scheduler.add_plan(Plan('p', tuple(_step(f's{i}', f'r{i}') for i in range(5)),
                            max_concurrency=100), 0.0)
    assert len(_ready(scheduler)) == 2


def test_priorities_plan_then_step_then_submission_then_topology():
    scheduler = PlanScheduler(max_concurrency=100, max_per_robot=100)
    scheduler.add_plan(Plan('first', (_step('low', priority=10), _step('high', priority=200),
                                      _step('mid', priority=100))), 0.0)
    scheduler.add_plan(Plan('second', (_step('x', priority=255),)), 0.0)
    scheduler.add_plan(Plan('urgent', (_step('y', priority=0),), priority=250), 0.0)
    scheduler.add_plan(Plan('third', (_step('z2', 'drone1', 'hover', 'z1'), _step('z1'),
                                      _step('z0')), priority=100), 0.0)
    assert _ready(scheduler) == [
        ('urgent', 'y'), ('second', 'x'), ('first', 'high'), ('first', 'mid'),
        ('third', 'z1'), ('third', 'z0'), ('first', 'low')]


def test_the_best_step_takes_the_busy_robot_and_others_still_start():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('low', 'drone1', priority=1),
                                  _step('high', 'drone1', priority=200),
                                  _step('other', 'drone2', priority=0))), 0.0)
    assert _ready(scheduler) == [('p', 'high'), ('p', 'other')]


# --- failures and retries ----------------------------------------------------------------------

def test_terminal_failure_skips_transitive_dependents_and_other_branches_go_on():
    recorder = Recorder()
    scheduler = PlanScheduler(max_concurrency=10, listener=recorder)
    scheduler.add_plan(_fleet_plan(), 0.0)
    _start_all(scheduler)
    assert scheduler.mark_failed('fleet', 'up', 1.0, code=ErrorCode.PLATFORM_REJECTED,
                                 message='arming refused: throttle not low') is None
    photo = scheduler.status('fleet', 'photo')
    report = scheduler.status('fleet', 'report')
    for status in (photo, report):
        assert status.state is StepState.SKIPPED
        assert status.message == "dependency 'up' failed: PLATFORM_REJECTED"
        assert status.code == ErrorCode.DEPENDENCY_FAILED
        assert status.ended_s == 1.0
    # The ground and surface branches are independent and still run.
    assert _state(scheduler, 'fleet', 'drive') is StepState.RUNNING
    scheduler.mark_succeeded('fleet', 'drive', 2.0)
    assert _start_all(scheduler, 2.0) == [('fleet', 'look')]
    scheduler.mark_succeeded('fleet', 'look', 3.0)
    outcome = scheduler.mark_succeeded('fleet', 'sail', 3.0)
    assert outcome.state is StepState.FAILED
    assert outcome.code == ErrorCode.PLATFORM_REJECTED
    assert outcome.step_id == 'up'
    assert outcome.message == ("step 'up' (takeoff on drone1) failed after 1 attempt: "
                               'PLATFORM_REJECTED: arming refused: throttle not low')
    assert recorder.plans == [outcome]
    skipped = [status.step_id for _, status in recorder.steps
               if status.state is StepState.SKIPPED]
    assert skipped == ['photo', 'report']


def test_retry_waits_for_retry_at_and_counts_attempts():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a'), _step('b', 'drone1', 'hover', 'a'))), 0.0)
    _start_all(scheduler, 0.0)
    scheduler.mark_failed('p', 'a', 1.0, code=ErrorCode.TIMEOUT, message='no ack',
                          retryable=True, retry_at=3.0)
    status = scheduler.status('p', 'a')
    assert (status.state, status.retry_at, status.code, status.retryable) == \
        (StepState.RETRYING, 3.0, ErrorCode.TIMEOUT, True)
    assert scheduler.next_retry_at() == 3.0
    assert _ready(scheduler, 2.9) == []
    assert _start_all(scheduler, 3.0) == [('p', 'a')]
    status = scheduler.status('p', 'a')
    assert (status.attempt, status.first_started_s, status.started_s, status.code) == \
        (2, 0.0, 3.0, 0)
    assert scheduler.next_retry_at() is None
    scheduler.mark_succeeded('p', 'a', 4.0)
    assert scheduler.status('p', 'a').elapsed_s(10.0) == 4.0
    assert _ready(scheduler, 4.0) == [('p', 'b')]


def test_a_retrying_step_holds_no_robot_slot():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a', priority=200), _step('b', priority=1))), 0.0)
    _start_all(scheduler)
    scheduler.mark_failed('p', 'a', 1.0, code=ErrorCode.BUSY, message='x', retry_at=5.0)
    assert _ready(scheduler, 1.0) == [('p', 'b')]
    # Both ready: priority decides.
    assert _ready(scheduler, 5.0) == [('p', 'a')]


def test_dead_letter_after_retries_fails_the_plan():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a'), _step('b', 'drone1', 'hover', 'a'))), 0.0)
    _start_all(scheduler)
    scheduler.mark_failed('p', 'a', 1.0, code=ErrorCode.TIMEOUT, message='t', retry_at=2.0)
    outcome = scheduler.mark_dead_letter('p', 'a', 1.5)
    assert _state(scheduler, 'p', 'a') is StepState.DEAD_LETTER
    assert scheduler.status('p', 'b').message == "dependency 'a' failed: TIMEOUT"
    assert outcome.state is StepState.FAILED
    assert 'became a dead letter after 1 attempt: TIMEOUT: t' in outcome.message


def test_failed_step_can_be_relabelled_dead_letter():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a'),)), 0.0)
    _start_all(scheduler)
    outcome = scheduler.mark_failed('p', 'a', 1.0, code=ErrorCode.TIMEOUT, message='t')
    assert scheduler.mark_dead_letter('p', 'a', 1.0, message='retries exhausted') is None
    status = scheduler.status('p', 'a')
    assert (status.state, status.message) == (StepState.DEAD_LETTER, 'retries exhausted')
    assert scheduler.outcome('p') == outcome


def test_an_individually_canceled_step_cancels_the_plans_outcome():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a'), _step('b', 'drone1', 'hover', 'a'))), 0.0)
    _start_all(scheduler)
    outcome = scheduler.mark_canceled('p', 'a', 1.0, message='operator canceled')
    assert outcome.state is StepState.CANCELED
    assert outcome.code == ErrorCode.CANCELED
    assert scheduler.status('p', 'b').message == "dependency 'a' failed: CANCELED"


# --- cancel and timeout ------------------------------------------------------------------------

def test_cancel_plan_skips_pending_reports_running_and_ends_when_they_report():
    scheduler = PlanScheduler(max_concurrency=10)
    scheduler.add_plan(_fleet_plan(), 0.0)
    _start_all(scheduler)
    scheduler.mark_failed('fleet', 'sail', 0.5, code=ErrorCode.BUSY, message='b',
                          retryable=True, retry_at=9.0)
    running = scheduler.cancel_plan('fleet', 1.0)
    assert [step.step_id for step in running] == ['up', 'drive']
    for step_id in ('photo', 'look', 'report'):
        status = scheduler.status('fleet', step_id)
        assert (status.state, status.message) == (StepState.SKIPPED, 'plan canceled')
    assert _state(scheduler, 'fleet', 'sail') is StepState.CANCELED
    assert _ready(scheduler, 10.0) == []
    assert scheduler.outcome('fleet') is None
    # Canceling twice reports the same steps; nothing else changes.
    assert [step.step_id for step in scheduler.cancel_plan('fleet', 1.0)] == ['up', 'drive']
    assert scheduler.mark_canceled('fleet', 'up', 2.0) is None
    # A step that finished anyway is recorded as such; a retry is not scheduled any more.
    outcome = scheduler.mark_failed('fleet', 'drive', 2.0, code=ErrorCode.TIMEOUT,
                                    message='t', retry_at=3.0)
    assert _state(scheduler, 'fleet', 'drive') is StepState.FAILED
    assert outcome.state is StepState.CANCELED
    assert (outcome.message, outcome.step_id) == ('plan canceled', '')
    assert scheduler.cancel_plan('fleet', 3.0) == ()


def test_cancel_with_a_timeout_code_fails_the_plan():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a'), _step('b', 'drone1', 'hover', 'a')),
                            timeout_s=10.0), 5.0)
    _start_all(scheduler, 5.0)
    assert scheduler.overdue_plans(14.9) == ()
    assert scheduler.overdue_plans(15.0) == ('p',)
    running = scheduler.cancel_plan('p', 15.0, code=ErrorCode.TIMEOUT,
                                    message='plan timed out after 10 s')
    assert scheduler.overdue_plans(20.0) == ()
    assert scheduler.status('p', 'b').code == ErrorCode.TIMEOUT
    outcome = scheduler.mark_canceled('p', running[0].step_id, 16.0)
    assert (outcome.state, outcome.code, outcome.message) == \
        (StepState.FAILED, ErrorCode.TIMEOUT, 'plan timed out after 10 s')
    assert (outcome.accepted_s, outcome.ended_s) == (5.0, 16.0)


def test_cancel_of_an_unknown_plan_is_misuse():
    with pytest.raises(ExecutionError) as info:
        PlanScheduler().cancel_plan('ghost', 0.0)
    assert info.value.code == ErrorCode.INTERNAL_ERROR


# --- compensation ------------------------------------------------------------------------------

def _compensated_plan(compensate=True):
    return Plan('c', (
        _step('up', 'drone1', 'takeoff', compensation_operation='land',
              compensation_parameters={'descent_speed_mps': 1.0}),
        _step('go', 'drone1', 'go_to', 'up', compensation_operation='return_home'),
        _step('drive', 'ugv1', 'go_to', compensation_operation='return_home'),
        _step('plain', 'ugv1', 'capture_image', 'drive'),
        _step('last', 'drone1', 'hover', 'go', 'plain'),
    ), compensate=compensate)


def _run_compensated(scheduler, compensate):
    scheduler.add_plan(_compensated_plan(compensate), 0.0)
    _start_all(scheduler, 0.0)                       # up, drive
    scheduler.mark_succeeded('c', 'drive', 1.0)
    scheduler.mark_succeeded('c', 'up', 2.0)
    _start_all(scheduler, 2.0)                       # go, plain
    scheduler.mark_succeeded('c', 'plain', 3.0)
    assert scheduler.compensations('c') == ()        # still running
    scheduler.mark_succeeded('c', 'go', 4.0)
    _start_all(scheduler, 4.0)                       # last
    return scheduler.mark_failed('c', 'last', 5.0, code=ErrorCode.TIMEOUT, message='stuck')


def test_compensations_in_reverse_completion_order_once_the_plan_failed():
    scheduler = PlanScheduler(max_concurrency=10)
    outcome = _run_compensated(scheduler, True)
    assert outcome.state is StepState.FAILED
    assert scheduler.compensations('c') == (
        Compensation('c', 'go', 'drone1', 'return_home', {}),
        Compensation('c', 'up', 'drone1', 'land', {'descent_speed_mps': 1.0}),
        Compensation('c', 'drive', 'ugv1', 'return_home', {}),
    )
    scheduler.mark_compensated('c', 'go', 6.0)
    assert _state(scheduler, 'c', 'go') is StepState.COMPENSATED
    assert [c.step_id for c in scheduler.compensations('c')] == ['up', 'drive']


def test_no_compensation_when_disabled_or_succeeded():
    scheduler = PlanScheduler(max_concurrency=10)
    _run_compensated(scheduler, False)
    assert scheduler.compensations('c') == ()
    scheduler.add_plan(Plan('ok', (_step('up', compensation_operation='land'),)), 0.0)
    _start_all(scheduler)
    scheduler.mark_succeeded('ok', 'up', 1.0)
    assert scheduler.compensations('ok') == ()


# --- bounds ------------------------------------------------------------------------------------

def test_intake_is_bounded_and_frees_up_as_plans_end():
    scheduler = PlanScheduler(max_pending_steps=5)
    scheduler.add_plan(Plan('a', tuple(_step(f's{i}', f'r{i}') for i in range(3))), 0.0)
    with pytest.raises(BusyError) as info:
        scheduler.add_plan(Plan('b', tuple(_step(f's{i}', f'r{i}') for i in range(3))), 0.0)
    assert info.value.code == ErrorCode.BUSY and info.value.retryable
    assert "plan 'b' refused: it adds 3 steps to 3 unfinished, limit 5" in str(info.value)
    assert 'b' not in scheduler
    for plan_id, step_id in _start_all(scheduler):
        scheduler.mark_succeeded(plan_id, step_id, 1.0)
    scheduler.add_plan(Plan('b', tuple(_step(f's{i}', f'r{i}') for i in range(3))), 1.0)
    assert scheduler.pending_step_count == 3


def test_known_plan_ids_are_refused():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('a', (_step('s'),)), 0.0)
    with pytest.raises(ExecutionError, match="plan 'a' is already known") as info:
        scheduler.add_plan(Plan('a', (_step('s'),)), 0.0)
    assert info.value.code == ErrorCode.INVALID_PLAN


def test_structurally_broken_plans_are_refused():
    with pytest.raises(ExecutionError) as info:
        PlanScheduler().add_plan(Plan('a', (_step('s', 'drone1', 'hover', 's'),)), 0.0)
    assert info.value.code == ErrorCode.INVALID_PLAN


def test_finished_plans_are_a_ring_and_can_be_forgotten():
    scheduler = PlanScheduler(max_finished_plans=2)
    for index in range(4):
        plan_id = f'p{index}'
        scheduler.add_plan(Plan(plan_id, (_step('s'),)), float(index))
        _start_all(scheduler, float(index))
        scheduler.mark_succeeded(plan_id, 's', float(index))
    assert scheduler.finished_plan_ids() == ('p2', 'p3')
    assert 'p0' not in scheduler
    with pytest.raises(ExecutionError, match="unknown plan 'p0'"):
        scheduler.snapshot('p0')
    assert scheduler.forget('p2') is True
    assert scheduler.forget('p2') is False
    scheduler.add_plan(Plan('live', (_step('s'),)), 9.0)
    with pytest.raises(ExecutionError, match='has not ended'):
        scheduler.forget('live')


def test_empty_plan_ends_at_once():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('empty', ()), 1.0)
    assert scheduler.outcome('empty').succeeded


@pytest.mark.parametrize('kwargs', [{'max_concurrency': 0}, {'max_per_robot': -1},
                                    {'max_pending_steps': 1.5}, {'max_finished_plans': True}])
def test_limits_are_validated(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PlanScheduler(**kwargs)


# --- misuse ------------------------------------------------------------------------------------

def test_invalid_transitions_are_internal_errors():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('a'), _step('b', 'drone1', 'hover', 'a'))), 0.0)
    for call in (lambda: scheduler.mark_succeeded('p', 'a', 0.0),
                 lambda: scheduler.mark_running('p', 'b', 0.0),
                 lambda: scheduler.mark_running('p', 'a', 0.0, resumed=True),
                 lambda: scheduler.mark_compensated('p', 'a', 0.0),
                 lambda: scheduler.mark_running('p', 'zz', 0.0),
                 lambda: scheduler.mark_running('ghost', 'a', 0.0)):
        with pytest.raises(ExecutionError) as info:
            call()
        assert info.value.code == ErrorCode.INTERNAL_ERROR
    with pytest.raises(ExecutionError, match="step 'b' is PENDING; cannot run before its "
                                             r'dependencies succeeded \(1 outstanding\)'):
        scheduler.mark_running('p', 'b', 0.0)


def test_snapshot_lists_steps_in_plan_order():
    scheduler = PlanScheduler()
    scheduler.add_plan(Plan('p', (_step('z', 'drone1', 'hover', 'a'),
                                  _step('a', operation_id='mine'))), 0.0)
    _start_all(scheduler, 2.0)
    snapshot = scheduler.snapshot('p')
    assert [(s.step_id, s.state, s.attempt, s.operation_id) for s in snapshot] == [
        ('z', StepState.PENDING, 0, 'p/z'), ('a', StepState.RUNNING, 1, 'mine')]
    assert snapshot[0].elapsed_s(5.0) == 0.0
    assert snapshot[1].elapsed_s(5.0) == 3.0


# --- restore -----------------------------------------------------------------------------------

def test_restore_brings_running_steps_back_as_reconciling():
    plan = _fleet_plan()
    scheduler = PlanScheduler(max_concurrency=10)
    scheduler.restore_plan(plan, {
        'up': StepState.SUCCEEDED,
        'photo': StepStatus('photo', 'drone1', 'capture_image', 'fleet/photo',
                            StepState.RUNNING, attempt=2, first_started_s=5.0, started_s=8.0),
        'drive': StepState.RUNNING,
        'sail': StepStatus('sail', 'usv1', 'station_keep', 'fleet/sail', StepState.RETRYING,
                           attempt=1, code=ErrorCode.BUSY, retry_at=30.0),
    }, now=20.0, accepted_s=1.0)
    assert scheduler.unresolved_steps() == (('fleet', plan.step('photo')),
                                            ('fleet', plan.step('drive')))
    photo = scheduler.status('fleet', 'photo')
    assert (photo.state, photo.attempt, photo.first_started_s) == (StepState.RECONCILING, 2, 5.0)
    assert 'outcome unknown' in photo.message
    # Unknown steps hold their robots; nothing else of the plan can start yet.
    assert _ready(scheduler, 20.0) == []
    assert _ready(scheduler, 30.0) == [('fleet', 'sail')]
    # The robot says: photo still runs (same attempt), drive never arrived (the same id is
    # sent: never a new attempt straight from RECONCILING).
    scheduler.mark_running('fleet', 'photo', 21.0, resumed=True)
    with pytest.raises(ExecutionError, match='start not allowed from RECONCILING'):
        scheduler.mark_running('fleet', 'drive', 21.0)
    drive_attempt = scheduler.status('fleet', 'drive').attempt
    scheduler.mark_running('fleet', 'drive', 21.0, resumed=True)
    assert scheduler.status('fleet', 'photo').attempt == 2
    assert scheduler.status('fleet', 'drive').attempt == drive_attempt
    assert scheduler.unresolved_steps() == ()
    scheduler.mark_succeeded('fleet', 'photo', 22.0)
    scheduler.mark_succeeded('fleet', 'drive', 22.0)
    assert _ready(scheduler, 30.0) == [('fleet', 'look'), ('fleet', 'sail')]


def test_restore_skips_pending_steps_behind_failures_and_finishes_ended_plans():
    scheduler = PlanScheduler(max_concurrency=10)
    scheduler.restore_plan(_fleet_plan(), {
        'up': StepStatus('up', 'drone1', 'takeoff', 'fleet/up', StepState.FAILED, attempt=1,
                         code=ErrorCode.PLATFORM_REJECTED, message='no', ended_s=3.0),
        'drive': StepState.SUCCEEDED, 'look': StepState.SUCCEEDED,
        'sail': StepState.SUCCEEDED,
    }, now=10.0)
    assert scheduler.status('fleet', 'photo').message == \
        "dependency 'up' failed: PLATFORM_REJECTED"
    assert _state(scheduler, 'fleet', 'report') is StepState.SKIPPED
    outcome = scheduler.outcome('fleet')
    assert outcome.state is StepState.FAILED and outcome.step_id == 'up'
    assert scheduler.pending_step_count == 0


def test_restore_of_a_canceled_plan_starts_nothing():
    recorder = Recorder()
    scheduler = PlanScheduler(listener=recorder)
    scheduler.restore_plan(_fleet_plan(), {'up': StepState.RUNNING}, now=0.0, canceled=True)
    assert _ready(scheduler) == []
    assert [step.step_id for _, step in scheduler.unresolved_steps()] == ['up']
    # The journal hears about the unknown outcome and the skipped steps.
    assert recorder.steps[0][1].step_id == 'up'
    assert recorder.steps[0][1].state is StepState.RECONCILING
    assert sum(status.state is StepState.SKIPPED for _, status in recorder.steps) == 5
    # A canceled plan's step is not sent again, but one still running may be resumed.
    with pytest.raises(ExecutionError, match='not allowed from RECONCILING'):
        scheduler.mark_running('fleet', 'up', 1.0)
    scheduler.mark_running('fleet', 'up', 1.0, resumed=True)
    scheduler.mark_reconciling('fleet', 'up', 1.5, message='link lost')
    assert scheduler.status('fleet', 'up').message == 'link lost'
    outcome = scheduler.mark_canceled('fleet', 'up', 2.0)
    assert outcome.state is StepState.CANCELED


def test_restore_refuses_unknown_steps_and_states():
    with pytest.raises(ExecutionError, match='unknown step'):
        PlanScheduler().restore_plan(_fleet_plan(), {'ghost': StepState.PENDING}, now=0.0)
    with pytest.raises(ExecutionError, match='not a StepState'):
        PlanScheduler().restore_plan(_fleet_plan(), {'up': 42}, now=0.0)


def test_journal_from_the_listener_restores_to_the_same_state():
    recorder = Recorder()
    before = PlanScheduler(max_concurrency=10, listener=recorder)
    before.add_plan(_compensated_plan(), 0.0)
    _start_all(before, 0.0)
    before.mark_succeeded('c', 'drive', 1.0)
    before.mark_succeeded('c', 'up', 2.0)
    _start_all(before, 2.0)
    journal = {status.step_id: status for _, status in recorder.steps}
    # Crash; a new coordinator restores what was journaled.
    after = PlanScheduler(max_concurrency=10)
    after.restore_plan(_compensated_plan(), journal, now=3.0, accepted_s=0.0)
    assert [s.state for s in after.snapshot('c')] == [
        StepState.SUCCEEDED, StepState.RECONCILING, StepState.SUCCEEDED, StepState.RECONCILING,
        StepState.PENDING]
    after.mark_succeeded('c', 'go', 4.0)
    after.mark_failed('c', 'plain', 4.0, code=ErrorCode.TIMEOUT, message='t')
    assert after.outcome('c').step_id == 'plain'
    assert [c.step_id for c in after.compensations('c')] == ['go', 'up', 'drive']


# --- fuzzing: invariants over random DAGs and random outcomes ----------------------------------

@st.composite
def _scenario(draw):
    plans = []
    for plan_index in range(draw(st.integers(1, 3))):
        count = draw(st.integers(1, 8))
        steps = []
        for index in range(count):
            deps = draw(st.lists(st.sampled_from([f's{i}' for i in range(index)]),
                                 unique=True, max_size=2)) if index else []
            steps.append(_step(f's{index}', draw(st.sampled_from(['r1', 'r2', 'r3'])),
                               'hover', *deps, priority=draw(st.integers(0, 255))))
        plans.append(Plan(f'p{plan_index}', tuple(steps),
                          max_concurrency=draw(st.integers(0, 3)),
                          priority=draw(st.integers(0, 255))))
    outcomes = draw(st.lists(st.sampled_from(['ok', 'fail', 'retry', 'cancel']),
                             min_size=60, max_size=60))
    return plans, outcomes, draw(st.integers(1, 4)), draw(st.integers(1, 2))


@settings(max_examples=150, deadline=None)
@given(_scenario())
def test_random_runs_respect_limits_dependencies_and_always_end(scenario):
    plans, outcomes, max_concurrency, max_per_robot = scenario
    scheduler = PlanScheduler(max_concurrency=max_concurrency, max_per_robot=max_per_robot)
    for plan in plans:
        scheduler.add_plan(plan, 0.0)
    by_id = {plan.plan_id: plan for plan in plans}
    running = []
    choices = iter(outcomes * 10)
    now = 0.0
    for _ in range(500):
        now += 1.0
        for plan_id, step in scheduler.next_ready(now):
            for dep in step.depends_on:
                assert _state(scheduler, plan_id, dep) is StepState.SUCCEEDED
            scheduler.mark_running(plan_id, step.step_id, now)
            running.append((plan_id, step))
        assert len(running) <= max_concurrency
        assert max(collections.Counter(s.robot_id for _, s in running).values(),
                   default=0) <= max_per_robot
        for plan_id, count in collections.Counter(p for p, _ in running).items():
            limit = by_id[plan_id].max_concurrency or max_concurrency
            assert count <= min(limit, max_concurrency)
        if not running:
            break
        plan_id, step = running.pop(0)
        choice = next(choices)
        if choice == 'ok':
            scheduler.mark_succeeded(plan_id, step.step_id, now)
        elif choice == 'retry' and scheduler.status(plan_id, step.step_id).attempt < 3:
            scheduler.mark_failed(plan_id, step.step_id, now, code=ErrorCode.TIMEOUT,
                                  message='t', retryable=True, retry_at=now + 2.0)
        elif choice == 'cancel':
            scheduler.mark_canceled(plan_id, step.step_id, now)
        else:
            scheduler.mark_failed(plan_id, step.step_id, now, code=ErrorCode.TIMEOUT,
                                  message='t')
        if scheduler.next_retry_at() is not None and not running:
            now = max(now, scheduler.next_retry_at())
    assert scheduler.active_plan_ids() == ()
    assert scheduler.pending_step_count == 0
    for plan in plans:
        outcome = scheduler.outcome(plan.plan_id)
        states = [s.state for s in scheduler.snapshot(plan.plan_id)]
        assert all(state in (StepState.SUCCEEDED, StepState.FAILED, StepState.CANCELED,
                             StepState.SKIPPED) for state in states)
        assert outcome.succeeded == all(state is StepState.SUCCEEDED for state in states)
