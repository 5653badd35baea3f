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
The Coordinator engine against a fake fleet of real RobotRuntimes on simulated platforms.

No rclpy and no real sleeps: :class:`FakeFleet` implements the Dispatcher seam with one
:class:`~brain_execution.core.runtime.RobotRuntime` per robot on a
:class:`~brain_execution.sim.bridge.SimBridge`, all ticked from the test's fake clock, with
faults injected in the seam (a dropped robot, the next N dispatches failing with a code).
"""

import collections
import random

from brain_execution.core.breaker import BreakerState
from brain_execution.core.coordination import (
    attempt_operation_id, Coordinator, CoordinatorListener, single_plan_id)
from brain_execution.core.dispatch import Dispatcher, QueryAnswer
from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.errors import BusyError, ErrorCode, ExecutionError, is_retryable
from brain_execution.core.geo import GeoPoint
from brain_execution.core.journal import Journal
from brain_execution.core.operation import Outcome
from brain_execution.core.plan import Plan, PlanStep, RetrySpec
from brain_execution.core.reconcile import Reconciler
from brain_execution.core.retry import RetryDefaults
from brain_execution.core.runtime import RobotRuntime
from brain_execution.core.scheduler import StepState
from brain_execution.core.state import Platform
from brain_execution.sim.bridge import SimBridge
import pytest

HOME = GeoPoint(latitude_deg=47.397742, longitude_deg=8.545594)
ENVELOPE = SafetyEnvelope(
    geofence=((-200.0, -200.0), (200.0, -200.0), (200.0, 200.0), (-200.0, 200.0)),
    altitude_ceiling_m=100.0, max_speed_mps=12.0, cruise_speed_mps=5.0)
ROBOTS = {'drone1': Platform.DRONE, 'ugv1': Platform.GROUND, 'usv1': Platform.SURFACE}
DT = 0.1
TAKEOFF = {'altitude_m': 10.0, 'climb_speed_mps': 2.0}
# Fast retries so that tests stay short; jitter 0 makes back-off times exact.
FAST = RetryDefaults(max_attempts=3, initial_backoff_s=1.0, max_backoff_s=10.0,
                     multiplier=2.0, jitter=0.0)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeFleet(Dispatcher):
    """In-memory robots behind the Dispatcher seam, with fault injection."""

    def __init__(self, clock: FakeClock, robots=ROBOTS):
        self.clock = clock
        self.bridges = {}
        self.runtimes = {}
        for robot_id, platform in robots.items():
            bridge = SimBridge(platform=platform, robot_id=robot_id, home=HOME)
            bridge.update(clock.t)
            self.bridges[robot_id] = bridge
            self.runtimes[robot_id] = RobotRuntime(
                robot_id=robot_id, bridge=bridge, envelope=ENVELOPE, home=HOME, clock=clock)
        self.dropped = set()
        self.fail_next = {}
        # New operation records created on each robot, by operation id: what executed.
        self.executions = collections.Counter()
        self.dispatched = []
        self._inflight = {}

    # --- fault injection ---

    def drop(self, robot_id: str) -> None:
        """
        Lose the link, as the ROS dispatcher sees it.

        In-flight operations end OUTCOME_UNKNOWN (they go on on the robot), later calls
        COMMUNICATION_FAILURE (never sent).
        """
        self.dropped.add(robot_id)
        for key in [k for k in self._inflight if k[0] == robot_id]:
            self._inflight.pop(key)(Outcome(ErrorCode.OUTCOME_UNKNOWN, 'link lost', False))

    def restore(self, robot_id: str) -> None:
        self.dropped.discard(robot_id)

    def fail(self, robot_id: str, count: int, code: int) -> None:
        self.fail_next[robot_id] = [count, code]

    def sever(self) -> None:
        """Forget every callback, as when the coordinator process dies."""
        self._inflight.clear()

    # --- Dispatcher ---

    def dispatch(self, request, on_done) -> None:
        self.dispatched.append((self.clock.t, request.robot_id, request.operation,
                                request.operation_id))
        robot_id = request.robot_id
        if robot_id in self.dropped:
            on_done(Outcome(ErrorCode.COMMUNICATION_FAILURE, f'{robot_id} unreachable', True))
            return
        failing = self.fail_next.get(robot_id)
        if failing and failing[0] > 0:
            failing[0] -= 1
            on_done(Outcome(failing[1], 'injected failure', is_retryable(failing[1])))
            return
        runtime = self.runtimes[robot_id]
        known = runtime.query(request.operation_id) is not None
        record = runtime.submit(request.operation, dict(request.params),
                                operation_id=request.operation_id,
                                priority=request.priority, timeout_s=request.timeout_s)
        if not known and runtime.query(record.operation_id) is record:
            self.executions[request.operation_id] += 1
        key = (robot_id, request.operation_id)
        self._inflight[key] = on_done

        def finished(rec):
            callback = self._inflight.pop(key, None)
            if callback is not None:
                callback(rec.outcome)
        record.add_done_callback(finished)

    def cancel(self, robot_id: str, operation_id: str) -> None:
        if robot_id not in self.dropped:
            self.runtimes[robot_id].cancel(operation_id)

    def query(self, robot_id: str, operation_id: str, on_done) -> None:
        if robot_id in self.dropped:
            on_done(None, Outcome(ErrorCode.COMMUNICATION_FAILURE, 'unreachable', True))
            return
        record = self.runtimes[robot_id].query(operation_id)
        if record is None:
            on_done(None, None)
        else:
            on_done(QueryAnswer(record.state, record.outcome), None)

    def emergency_stop(self, robot_id: str, *, reason: str, release: bool, on_done) -> None:
        if robot_id in self.dropped:
            on_done(Outcome(ErrorCode.COMMUNICATION_FAILURE, 'unreachable', True))
            return
        record = self.runtimes[robot_id].submit(
            'emergency_stop', {'reason': reason, 'release': release}, priority=255)
        record.add_done_callback(lambda rec: on_done(rec.outcome))

    # --- helpers ---

    def tick(self) -> None:
        for runtime in self.runtimes.values():
            runtime.tick()

    def commands(self, robot_id: str):
        return [name for _, name in self.bridges[robot_id].command_log]


class Events(CoordinatorListener):
    """Records every event."""

    def __init__(self):
        self.steps = []
        self.plans = []
        self.dead = []
        self.circuits = []
        self.compensations = []

    def step_changed(self, plan_id, status):
        self.steps.append((plan_id, status))

    def plan_finished(self, plan_id, outcome):
        self.plans.append((plan_id, outcome))

    def dead_letter_added(self, record):
        self.dead.append(record)

    def circuit_changed(self, info):
        self.circuits.append((info.name, info.state))

    def compensation_done(self, plan_id, step_id, operation, outcome):
        self.compensations.append((step_id, operation, outcome.code))


class World:
    """Clock, fleet and coordinator, advanced together."""

    def __init__(self, *, journal=None, fleet=None, clock=None, **kwargs):
        self.clock = clock or FakeClock()
        self.fleet = fleet or FakeFleet(self.clock)
        self.events = Events()
        self.logs = []
        options = {'max_concurrency': 16, 'max_per_robot': 1, 'retry_defaults': FAST,
                   'failure_threshold': 3, 'reset_timeout_s': 20.0}
        options.update(kwargs)
        self.coordinator = Coordinator(
            robots=ROBOTS, dispatcher=self.fleet, journal=journal, clock=self.clock,
            rng=random.Random(7), listener=self.events,
            logger=lambda level, msg: self.logs.append((level, msg)), **options)

    def step(self) -> None:
        self.clock.t += DT
        self.fleet.tick()
        self.coordinator.tick()

    def until(self, predicate, timeout_s: float = 300.0) -> float:
        start = self.clock.t
        while not predicate():
            assert self.clock.t - start < timeout_s, f'not reached in {timeout_s} s'
            self.step()
        return self.clock.t - start

    def run(self, handle, timeout_s: float = 300.0):
        self.until(lambda: handle.done, timeout_s)
        return handle.outcome


def fleet_plan(plan_id='survey', **kwargs) -> Plan:
    """Drone, ground robot and vessel: a parallel branch per robot joined by a last step."""
    return Plan(plan_id=plan_id, steps=(
        PlanStep('up', 'drone1', 'takeoff', TAKEOFF, compensation_operation='land'),
        PlanStep('fly', 'drone1', 'go_to', {'target': {'x_m': 20.0, 'y_m': 0.0,
                                                       'altitude_m': 10.0}},
                 depends_on=('up',)),
        PlanStep('drive', 'ugv1', 'go_to', {'target': {'x_m': 10.0, 'y_m': 0.0}}),
        PlanStep('sail', 'usv1', 'go_to', {'target': {'x_m': 0.0, 'y_m': 15.0}}),
        PlanStep('photo', 'ugv1', 'capture_image', {}, depends_on=('drive', 'fly', 'sail')),
    ), **kwargs)


def states(handle):
    return {s.step_id: s.state for s in handle.snapshot()}


# --- plans -------------------------------------------------------------------------------

def test_fleet_plan_runs_in_dependency_order_with_parallel_branches():
    world = World()
    handle = world.coordinator.submit_plan(fleet_plan())
    # The three robots start at once: one branch each.
    started = {op for _, _, op, _ in world.fleet.dispatched}
    assert started == {'takeoff', 'go_to'}
    assert {r for _, r, _, _ in world.fleet.dispatched} == set(ROBOTS)
    outcome = world.run(handle)
    assert outcome.succeeded, outcome
    order = [(op_id, t) for t, _, _, op_id in world.fleet.dispatched]
    times = dict(order)
    assert times['survey/fly'] > times['survey/up']
    assert times['survey/photo'] >= max(times['survey/fly'], times['survey/drive'],
                                        times['survey/sail'])
    assert set(states(handle).values()) == {StepState.SUCCEEDED}
    assert world.events.plans == [('survey', outcome)]
    assert all(count == 1 for count in world.fleet.executions.values())


def test_failing_step_skips_its_dependents_with_a_reason_and_other_branches_go_on():
    world = World()
    # PLATFORM_REJECTED is not retryable: the takeoff fails at once.
    world.fleet.fail('drone1', 1, ErrorCode.PLATFORM_REJECTED)
    handle = world.coordinator.submit_plan(fleet_plan(compensate=False))
    outcome = world.run(handle)
    assert outcome.state is StepState.FAILED
    assert outcome.step_id == 'up'
    assert outcome.code == ErrorCode.PLATFORM_REJECTED
    snapshot = {s.step_id: s for s in handle.snapshot()}
    assert snapshot['up'].state is StepState.FAILED and snapshot['up'].attempt == 1
    for skipped in ('fly', 'photo'):
        assert snapshot[skipped].state is StepState.SKIPPED
        assert snapshot[skipped].code == ErrorCode.DEPENDENCY_FAILED
        assert snapshot[skipped].message == "dependency 'up' failed: PLATFORM_REJECTED"
    assert snapshot['drive'].state is StepState.SUCCEEDED
    assert snapshot['sail'].state is StepState.SUCCEEDED


def test_retries_follow_the_policy_with_exponential_back_off():
    world = World()
    world.fleet.fail('ugv1', 2, ErrorCode.TIMEOUT)
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='img-1')
    outcome = world.run(handle)
    assert outcome.succeeded, outcome
    sent = [(t, op_id) for t, robot, _, op_id in world.fleet.dispatched]
    assert [op_id for _, op_id in sent] == ['img-1', 'img-1~2', 'img-1~3']
    (t1, _), (t2, _), (t3, _) = sent
    # Back-off 1 s then 2 s (jitter 0), seen through a 0.1 s tick.
    assert 1.0 <= t2 - t1 <= 1.0 + DT + 1e-6
    assert 2.0 <= t3 - t2 <= 2.0 + DT + 1e-6
    status, = world.coordinator.query(operation_id='img-1')
    assert status.attempt == 3 and status.state is StepState.SUCCEEDED


def test_non_retryable_failure_is_not_retried():
    world = World()
    world.fleet.fail('ugv1', 1, ErrorCode.PLATFORM_REJECTED)
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='img-x')
    outcome = world.run(handle)
    assert outcome.code == ErrorCode.PLATFORM_REJECTED
    assert len(world.fleet.dispatched) == 1
    assert not world.coordinator.dead_letters()


def test_exhausted_step_becomes_a_dead_letter_and_its_retry_succeeds():
    world = World()
    world.fleet.fail('usv1', 3, ErrorCode.COMMUNICATION_FAILURE)
    handle = world.coordinator.submit_operation(
        'usv1', 'capture_image', {'count': 2}, operation_id='shot')
    outcome = world.run(handle)
    assert outcome.state is StepState.FAILED
    assert states(handle) == {'op': StepState.DEAD_LETTER}
    letter, = world.coordinator.dead_letters('usv1')
    assert letter.operation_id == 'shot' and letter.attempts == 3
    assert letter.error_code == ErrorCode.COMMUNICATION_FAILURE
    assert world.events.dead == [letter]
    assert world.coordinator.dead_letters('ugv1') == []
    # Three failures in a row also opened the vessel's breaker; the operator closes it.
    assert world.coordinator.reset_circuit('usv1') >= 1
    retried, = world.coordinator.retry_dead_letters(['shot'])
    assert retried.plan_id == single_plan_id('shot~retry1')
    assert world.run(retried).succeeded
    assert world.coordinator.dead_letters() == []
    assert world.fleet.executions['shot~retry1'] == 1
    with pytest.raises(ExecutionError):
        world.coordinator.retry_dead_letters(['shot'])


def test_breaker_opens_fails_fast_and_recovers_half_open():
    world = World(retry_defaults=RetryDefaults(max_attempts=6, initial_backoff_s=1.0,
                                               max_backoff_s=2.0, jitter=0.0))
    world.fleet.drop('ugv1')
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='probe')
    # Three communication failures open the robot's breaker (threshold 3).
    world.until(lambda: any(state is BreakerState.OPEN for _, state in world.events.circuits))
    opened_at = world.clock.t
    sent = len(world.fleet.dispatched)
    assert sent == 3
    info = {i.name: i for i in world.coordinator.circuit_states()}['ugv1']
    assert info.state is BreakerState.OPEN
    # Next attempts fail fast with CIRCUIT_OPEN without reaching the fleet, and wait for the
    # breaker's probe time.
    world.until(lambda: world.coordinator.query(operation_id='probe')[0].code
                == ErrorCode.CIRCUIT_OPEN, 10.0)
    assert len(world.fleet.dispatched) == sent
    world.fleet.restore('ugv1')
    outcome = world.run(handle, 60.0)
    assert outcome.succeeded, outcome
    assert world.fleet.dispatched[-1][0] >= opened_at + 20.0
    assert ('ugv1', BreakerState.HALF_OPEN) in world.events.circuits
    assert world.events.circuits[-1][1] in (BreakerState.CLOSED,)
    assert world.coordinator.stats()['breakers']['ugv1'] == 'CLOSED'


def test_circuit_open_exhausting_retries_dead_letters_and_reset_closes():
    world = World(retry_defaults=RetryDefaults(max_attempts=4, initial_backoff_s=1.0,
                                               max_backoff_s=1.0, jitter=0.0))
    world.fleet.drop('ugv1')
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='doomed')
    world.run(handle)
    letter, = world.coordinator.dead_letters()
    assert letter.error_code == ErrorCode.CIRCUIT_OPEN
    assert len(world.fleet.dispatched) == 3
    assert world.coordinator.reset_circuit('ugv1') >= 1
    assert {i.state for i in world.coordinator.circuit_states()} == {BreakerState.CLOSED}
    assert world.coordinator.purge_dead_letters(['doomed']) == 1


# --- compensation and cancel -------------------------------------------------------------

def undo_plan(plan_id: str, last_target_x: float = 150.0) -> Plan:
    return Plan(plan_id=plan_id, steps=(
        PlanStep('up', 'drone1', 'takeoff', TAKEOFF, compensation_operation='land'),
        PlanStep('out', 'drone1', 'go_to',
                 {'target': {'x_m': 10.0, 'y_m': 0.0, 'altitude_m': 10.0}},
                 depends_on=('up',), compensation_operation='go_to',
                 compensation_parameters={'target': {'x_m': 0.0, 'y_m': 0.0,
                                                     'altitude_m': 10.0}}),
        PlanStep('far', 'drone1', 'go_to',
                 {'target': {'x_m': last_target_x, 'y_m': 0.0, 'altitude_m': 10.0}},
                 depends_on=('out',), retry=RetrySpec(max_attempts=1)),
    ))


def test_compensation_runs_in_reverse_order_when_a_plan_fails():
    world = World()
    handle = world.coordinator.submit_plan(undo_plan('undo-fail'))
    world.until(lambda: states(handle)['out'] is StepState.RUNNING)
    # The next dispatch to the drone (the 'far' step) is refused by its autopilot.
    world.fleet.fail('drone1', 1, ErrorCode.PLATFORM_REJECTED)
    outcome = world.run(handle)
    assert outcome.state is StepState.FAILED and outcome.step_id == 'far'
    assert world.events.compensations == [('out', 'go_to', 0), ('up', 'land', 0)]
    assert states(handle) == {'up': StepState.COMPENSATED, 'out': StepState.COMPENSATED,
                              'far': StepState.FAILED}
    assert world.fleet.commands('drone1')[-1] == 'land'
    assert not world.fleet.bridges['drone1'].snapshot().airborne


def test_compensation_runs_on_cancel():
    world = World()
    handle = world.coordinator.submit_plan(undo_plan('undo-cancel'))
    world.until(lambda: states(handle)['far'] is StepState.RUNNING)
    canceled = world.coordinator.cancel(plan_id='undo-cancel')
    assert canceled == ['undo-cancel/far']
    outcome = world.run(handle)
    assert outcome.state is StepState.CANCELED
    assert [c[:2] for c in world.events.compensations] == [('out', 'go_to'), ('up', 'land')]
    assert world.fleet.commands('drone1')[-1] == 'land'
    assert world.coordinator.cancel(plan_id='undo-cancel') == []


def test_plan_timeout_cancels_with_timeout():
    world = World()
    plan = Plan('slow', (PlanStep('drive', 'ugv1', 'go_to',
                                  {'target': {'x_m': 150.0, 'y_m': 0.0}}),),
                timeout_s=5.0)
    outcome = world.run(world.coordinator.submit_plan(plan))
    assert outcome.code == ErrorCode.TIMEOUT
    assert 'timed out' in outcome.message


# --- idempotency and intake --------------------------------------------------------------

def test_same_plan_id_and_operation_id_run_once():
    world = World()
    first = world.coordinator.submit_plan(fleet_plan('twice'))
    assert world.coordinator.submit_plan(fleet_plan('twice')) is first
    op = world.coordinator.submit_operation('usv1', 'capture_image', {}, operation_id='one')
    assert world.coordinator.submit_operation('usv1', 'capture_image', {},
                                              operation_id='one') is op
    world.run(first)
    world.run(op)
    assert world.coordinator.submit_operation('usv1', 'capture_image', {},
                                              operation_id='one').outcome == op.outcome
    assert world.fleet.executions['one'] == 1
    assert world.fleet.executions['twice/up'] == 1


def test_finished_plan_id_from_the_journal_returns_its_outcome(tmp_path):
    path = str(tmp_path / 'j.db')
    world = World(journal=Journal(path, clock=FakeClock()), max_finished_plans=1)
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='a')
    assert world.run(handle).succeeded
    world.run(world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                 operation_id='b'))
    again = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                               operation_id='a')
    assert again is not handle and again.done
    assert again.outcome.state is StepState.SUCCEEDED and again.outcome.plan_id == 'op/a'
    assert world.fleet.executions['a'] == 1


def test_invalid_plan_raises_before_anything_is_journaled(tmp_path):
    journal = Journal(str(tmp_path / 'j.db'), clock=FakeClock())
    world = World(journal=journal)
    bad = Plan('bad', (PlanStep('a', 'drone1', 'dock', {}),
                       PlanStep('b', 'nobody', 'go_to', {}, depends_on=('zzz',))))
    with pytest.raises(ExecutionError) as raised:
        world.coordinator.submit_plan(bad)
    assert "step 'a'" in str(raised.value) and "step 'b'" in str(raised.value)
    assert journal.plan('bad') is None
    assert not world.fleet.dispatched
    with pytest.raises(ExecutionError) as raised:
        world.coordinator.submit_operation('ugv1', 'takeoff', TAKEOFF)
    assert raised.value.code == ErrorCode.UNSUPPORTED
    assert journal.unfinished_plans() == []
    journal.close()


def test_emergency_stop_reaches_every_robot_at_once():
    world = World()
    handle = world.coordinator.submit_plan(fleet_plan('estop'))
    world.until(lambda: states(handle)['drive'] is StepState.RUNNING)
    result = world.coordinator.emergency_stop(reason='test')
    assert result.done
    assert set(result.outcomes) == set(ROBOTS)
    assert all(o.succeeded for o in result.outcomes.values())
    for robot_id in ROBOTS:
        assert 'emergency_stop' in world.fleet.commands(robot_id)
        assert world.fleet.runtimes[robot_id].emergency_stop_active
    outcome = world.run(handle)
    assert outcome.state is StepState.FAILED
    unknown = world.coordinator.emergency_stop(['ghost', 'ugv1'], release=True)
    assert unknown.outcomes['ghost'].code == ErrorCode.UNKNOWN_ROBOT
    assert unknown.outcomes['ugv1'].succeeded
    assert not world.fleet.runtimes['ugv1'].emergency_stop_active


def test_burst_of_1000_single_operations_all_end_with_an_answer():
    world = World(max_pending_steps=200, max_per_robot=4)
    handles, busy = [], 0
    robots = list(ROBOTS)
    for index in range(1000):
        try:
            handles.append(world.coordinator.submit_operation(
                robots[index % 3], 'capture_image', {'count': 2, 'interval_s': 1.0},
                operation_id=f'burst-{index}'))
        except BusyError:
            busy += 1
    # Operations that ended during the burst made room for a few more.
    assert busy >= 700 and len(handles) >= 200
    world.until(lambda: all(h.done for h in handles), 600.0)
    assert all(h.outcome.succeeded for h in handles)
    assert busy + len(handles) == 1000
    assert world.coordinator.stats()['pending_steps'] == 0


# --- restart -----------------------------------------------------------------------------

def test_resume_after_a_kill_completes_the_plan_without_repeating_operations(tmp_path):
    path = str(tmp_path / 'journal.db')
    clock = FakeClock()
    fleet = FakeFleet(clock)
    journal = Journal(path, clock=clock)
    world = World(journal=journal, fleet=fleet, clock=clock)
    handle = world.coordinator.submit_plan(fleet_plan('crash'))
    # Kill while the drone flies, the ground robot's step may have ended, and a long step
    # on the vessel still runs.
    world.until(lambda: states(handle)['fly'] is StepState.RUNNING)
    fleet.sever()
    journal.close()
    # The robots go on without a coordinator for a while.
    for _ in range(20):
        clock.t += DT
        fleet.tick()

    journal2 = Journal(path, clock=clock)
    world2 = World(journal=journal2, fleet=fleet, clock=clock)
    resumed = world2.coordinator.resume()
    assert [h.plan_id for h in resumed] == ['crash']
    outcome = world2.run(resumed[0])
    assert outcome.succeeded, outcome
    assert set(fleet.executions.values()) == {1}
    assert fleet.commands('drone1').count('takeoff') == 1
    assert journal2.plan('crash').finished
    assert journal2.unresolved_operations() == []
    journal2.close()


def test_resume_sends_an_operation_the_robot_never_received(tmp_path):
    path = str(tmp_path / 'journal.db')
    clock = FakeClock()
    fleet = FakeFleet(clock)
    journal = Journal(path, clock=clock)
    world = World(journal=journal, fleet=fleet, clock=clock)

    # The dispatch is journaled, then lost on the way: the robot never hears of it.
    original = fleet.dispatch
    fleet.dispatch = lambda request, on_done: None
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='lost')
    assert states(handle) == {'op': StepState.RUNNING}
    journal.close()
    fleet.dispatch = original
    world2 = World(journal=Journal(path, clock=clock), fleet=fleet, clock=clock)
    resumed, = world2.coordinator.resume()
    assert world2.run(resumed).succeeded
    assert fleet.executions['lost'] == 1


def test_a_plan_that_ended_before_a_restart_is_found_by_query_with_its_journaled_end(
        tmp_path):
    # Issue 8: a plan that ended just before a SIGKILL is not resumed (nothing is left to
    # run), so the restarted engine held nothing in memory and answered its callers'
    # queries with nothing, for ever.
    path = str(tmp_path / 'journal.db')
    clock = FakeClock()
    fleet = FakeFleet(clock)
    journal = Journal(path, clock=clock)
    world = World(journal=journal, fleet=fleet, clock=clock)
    plan = Plan(plan_id='done', steps=(
        PlanStep('shot', 'ugv1', 'capture_image', {}, operation_id='done.shot'),
        PlanStep('drive', 'ugv1', 'go_to', {'target': {'x_m': 5.0, 'y_m': 0.0}},
                 depends_on=('shot',))))
    assert world.run(world.coordinator.submit_plan(plan)).succeeded
    single = world.coordinator.submit_operation('usv1', 'capture_image', {},
                                                operation_id='lone')
    assert world.run(single).succeeded
    before = {s.step_id: (s.state, s.attempt, s.code, s.operation_id)
              for s in world.coordinator.query(plan_id='done')}
    journal.close()

    world2 = World(journal=Journal(path, clock=clock), fleet=fleet, clock=clock)
    assert world2.coordinator.resume() == []
    after = {s.step_id: (s.state, s.attempt, s.code, s.operation_id)
             for s in world2.coordinator.query(plan_id='done')}
    assert after == before == {
        'shot': (StepState.SUCCEEDED, 1, ErrorCode.NONE, 'done.shot'),
        'drive': (StepState.SUCCEEDED, 1, ErrorCode.NONE, 'done/drive')}
    # By operation id too: a step of a plan (journaled with its plan), a single operation.
    step, = world2.coordinator.query(operation_id='done/drive')
    assert (step.step_id, step.state) == ('drive', StepState.SUCCEEDED)
    lone, = world2.coordinator.query(operation_id='lone')
    assert (lone.operation_id, lone.state, lone.attempt) == ('lone', StepState.SUCCEEDED, 1)
    # Reads only: nothing was sent again, and what the journal does not know stays unknown.
    assert set(fleet.executions.values()) == {1}
    assert world2.coordinator.query(plan_id='never') == ()
    assert world2.coordinator.query(operation_id='never') == ()
    assert world2.coordinator.stats()['plans_active'] == 0


def _resumed_while_unreachable(tmp_path):
    """Start a takeoff, 'kill' the coordinator, lose the robot, restart: the pieces."""
    path = str(tmp_path / 'journal.db')
    clock = FakeClock()
    fleet = FakeFleet(clock)
    journal = Journal(path, clock=clock)
    world = World(journal=journal, fleet=fleet, clock=clock)
    # Not safe_to_repeat (go_to would be, from the catalog).
    handle = world.coordinator.submit_operation('drone1', 'takeoff', TAKEOFF,
                                                operation_id='trip')
    world.step()
    assert fleet.executions['trip'] == 1
    fleet.sever()
    journal.close()
    fleet.drop('drone1')
    world2 = World(journal=Journal(path, clock=clock), fleet=fleet, clock=clock)
    resumed, = world2.coordinator.resume()
    assert handle.plan_id == resumed.plan_id
    return world2, fleet, resumed


def test_resume_asks_an_unreachable_robot_again_instead_of_resending(tmp_path):
    # The takeoff may be running on the robot: a new attempt id would run it twice.
    world, fleet, resumed = _resumed_while_unreachable(tmp_path)
    status, = resumed.snapshot()
    assert status.state is StepState.RECONCILING
    world.until(lambda: len([d for d in fleet.dispatched if d[3].startswith('trip')]) > 1 or
                world.clock.t > 1010.0)
    assert [d[3] for d in fleet.dispatched if d[3].startswith('trip')] == ['trip']
    fleet.restore('drone1')
    outcome = world.run(resumed)
    assert outcome.succeeded, outcome
    assert fleet.executions['trip'] == 1
    assert all(d[3] == 'trip' for d in fleet.dispatched if d[3].startswith('trip'))


def test_resume_fails_unresolved_when_the_robot_stays_unreachable(tmp_path):
    world, fleet, resumed = _resumed_while_unreachable(tmp_path)
    outcome = world.run(resumed, timeout_s=200.0)
    assert outcome.code == ErrorCode.OUTCOME_UNKNOWN
    assert not outcome.retryable
    assert 'not sent again' in outcome.message
    letter, = world.coordinator.dead_letters()
    assert (letter.operation_id, letter.error_code) == ('trip', ErrorCode.OUTCOME_UNKNOWN)
    assert fleet.executions['trip'] == 1
    assert [d[3] for d in fleet.dispatched if d[3].startswith('trip')] == ['trip']


def test_attempt_ids_fit_and_differ():
    assert attempt_operation_id('x', 1) == 'x'
    assert attempt_operation_id('x', 2) == 'x~2'
    long_id = 'a' * 128
    assert len(attempt_operation_id(long_id, 12)) == 128
    assert attempt_operation_id(long_id, 12) != attempt_operation_id(long_id, 13)
    assert len(single_plan_id(long_id)) <= 63


# --- outcome unknown: reconcile by the same id -------------------------------------------

HOVER = {'duration_s': 20.0}


def test_link_lost_mid_step_reconciles_by_the_same_id_and_runs_once():
    world = World()
    handle = world.coordinator.submit_operation('drone1', 'takeoff', TAKEOFF,
                                                operation_id='climb')
    world.until(lambda: world.fleet.executions['climb'] == 1)
    world.step()
    world.fleet.drop('drone1')
    status, = handle.snapshot()
    assert status.state is StepState.RECONCILING
    assert 'link lost' in status.message
    # The robot goes on while unreachable; the coordinator only asks, never sends a new id.
    world.until(lambda: world.clock.t > 1020.0)
    assert handle.snapshot()[0].state is StepState.RECONCILING
    world.fleet.restore('drone1')
    outcome = world.run(handle)
    assert outcome.succeeded, outcome
    assert world.fleet.executions == {'climb': 1}
    assert {d[3] for d in world.fleet.dispatched} == {'climb'}
    assert handle.snapshot()[0].attempt == 1
    assert world.fleet.commands('drone1').count('takeoff') == 1


def test_unreachable_past_the_deadline_ends_outcome_unknown_as_a_dead_letter():
    world = World(reconciler=Reconciler(deadline_s=30.0, interval_s=2.0))
    handle = world.coordinator.submit_operation('drone1', 'takeoff', TAKEOFF,
                                                operation_id='gone')
    world.until(lambda: world.fleet.executions['gone'] == 1)
    world.fleet.drop('drone1')
    lost_at = world.clock.t
    outcome = world.run(handle, 60.0)
    assert outcome.code == ErrorCode.OUTCOME_UNKNOWN and not outcome.retryable
    assert world.clock.t - lost_at >= 30.0
    assert 'could not be asked' in outcome.message
    letter, = world.coordinator.dead_letters()
    assert letter.error_code == ErrorCode.OUTCOME_UNKNOWN
    assert {d[3] for d in world.fleet.dispatched} == {'gone'}
    # Only an operator sends it again, under a new id.
    world.fleet.restore('drone1')
    retried, = world.coordinator.retry_dead_letters(['gone'])
    world.run(retried)
    assert retried.snapshot()[0].operation_id == 'gone~retry1'


def test_safe_to_repeat_step_is_reconciled_first_and_retried_only_past_the_deadline():
    world = World(reconciler=Reconciler(deadline_s=10.0, interval_s=2.0))
    target = {'target': {'x_m': 30.0, 'y_m': 0.0}}
    brief = world.coordinator.submit_operation('ugv1', 'go_to', target, operation_id='brief')
    world.until(lambda: world.fleet.executions['brief'] == 1)
    world.fleet.drop('ugv1')
    world.fleet.restore('ugv1')
    assert world.run(brief).succeeded
    # Reattached by the same id: sent twice, run once.
    assert [d[3] for d in world.fleet.dispatched] == ['brief', 'brief']
    assert world.fleet.executions['brief'] == 1
    long = world.coordinator.submit_operation(
        'ugv1', 'go_to', {'target': {'x_m': -30.0, 'y_m': 0.0}}, operation_id='long')
    world.until(lambda: world.fleet.executions['long'] == 1)
    world.fleet.drop('ugv1')
    world.until(lambda: long.snapshot()[0].state is StepState.RETRYING, 30.0)
    world.fleet.restore('ugv1')
    assert world.run(long).succeeded
    assert [d[3] for d in world.fleet.dispatched][2:] == ['long', 'long~2']


def test_robot_that_never_saw_the_id_gets_the_same_id():
    world = World()
    original = world.fleet.dispatch
    sent = []

    def lose_goal(request, on_done):
        # The first goal is lost on the way and no goal response comes: the dispatcher
        # ends it OUTCOME_UNKNOWN; the robot never heard of it.
        sent.append(request.operation_id)
        if len(sent) > 1:
            original(request, on_done)
            return
        on_done(Outcome(ErrorCode.OUTCOME_UNKNOWN, 'no goal response', False))
    world.fleet.dispatch = lose_goal
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                                operation_id='shot')
    outcome = world.run(handle)
    assert outcome.succeeded, outcome
    assert sent == ['shot', 'shot']
    assert handle.snapshot()[0].attempt == 1
    assert world.fleet.executions == {'shot': 1}


def test_shutdown_journals_in_flight_steps_reconciling_and_a_restart_runs_them_once(tmp_path):
    path = str(tmp_path / 'journal.db')
    clock = FakeClock()
    fleet = FakeFleet(clock)
    journal = Journal(path, clock=clock)
    world = World(journal=journal, fleet=fleet, clock=clock)
    handle = world.coordinator.submit_operation('drone1', 'takeoff', TAKEOFF,
                                                operation_id='stop')
    world.until(lambda: fleet.executions['stop'] == 1)
    assert world.coordinator.shutdown() == 1
    with pytest.raises(ExecutionError) as refused:
        world.coordinator.submit_operation('ugv1', 'capture_image', {})
    assert refused.value.code == ErrorCode.SHUTDOWN
    # What a dispatcher closing delivers is left for the restart.
    fleet.drop('drone1')
    fleet.restore('drone1')
    journal.close()
    assert handle.snapshot()[0].state is StepState.RECONCILING
    assert 'takeoff' not in [c for c in fleet.commands('drone1') if c == 'hold']
    journal2 = Journal(path, clock=clock)
    assert journal2.plan(handle.plan_id).steps['op'].state == StepState.RECONCILING
    world2 = World(journal=journal2, fleet=fleet, clock=clock)
    resumed, = world2.coordinator.resume()
    outcome = world2.run(resumed)
    assert outcome.succeeded, outcome
    assert fleet.executions == {'stop': 1}
    assert {d[3] for d in fleet.dispatched} == {'stop'}
    journal2.close()


def test_journal_write_failure_refuses_new_work_until_writes_succeed(tmp_path):
    journal = Journal(str(tmp_path / 'journal.db'), clock=FakeClock())
    faults = []

    class Listener(Events):

        def journal_changed(self, fault):
            faults.append(fault)
    world = World(journal=journal)
    world.coordinator._listener = Listener()
    first = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                               operation_id='before')
    world.run(first)
    # The disk fills: SQLite's own limit on the database's pages is reached.
    journal.set_max_size_bytes(journal.size_bytes())
    # A plan large enough to need new pages.
    big = Plan(plan_id='during', steps=tuple(
        PlanStep(f'photo{i}', 'ugv1', 'capture_image', {}) for i in range(200)))
    with pytest.raises(ExecutionError) as refused:
        world.coordinator.submit_plan(big)
    assert refused.value.code == ErrorCode.JOURNAL_UNAVAILABLE
    assert world.coordinator.stats()['journal_fault']
    with pytest.raises(ExecutionError) as again:
        world.coordinator.submit_operation('ugv1', 'capture_image', {}, operation_id='next')
    assert again.value.code == ErrorCode.JOURNAL_UNAVAILABLE
    assert journal.plan('during') is None and journal.plan('op/next') is None
    journal.set_max_size_bytes(0)
    world.until(lambda: not world.coordinator.stats()['journal_fault'], 5.0)
    assert faults[0] and faults[-1] == ''
    after = world.coordinator.submit_operation('ugv1', 'capture_image', {},
                                               operation_id='after')
    assert world.run(after).succeeded
    journal.close()
