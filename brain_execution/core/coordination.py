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
The fleet coordinator's engine: plans and single operations through the fleet's policies.

:class:`Coordinator` is the engine's public face and wiring. It validates plans and lets
:class:`~brain_execution.core.scheduler.PlanScheduler` pick the steps to start (every step
change follows the one table of :mod:`~brain_execution.core.step_state`); collaborators with
one job each do the rest: :mod:`~brain_execution.core.intake` (accept or refuse, journal
first), :mod:`~brain_execution.core.attempts` (breakers, dispatch, reconciling unknown
outcomes by their id), :mod:`~brain_execution.core.step_outcome` (retry and dead-letter
decisions), :mod:`~brain_execution.core.dead_letters`,
:mod:`~brain_execution.core.compensation`, :mod:`~brain_execution.core.cancellation`,
:mod:`~brain_execution.core.recovery` (resume after a restart),
:mod:`~brain_execution.core.journal_guard` (journal faults) and
:mod:`~brain_execution.core.fleet_stop` (the fleet emergency stop).

Threading: one re-entrant lock (:class:`~brain_execution.core.engine_events.EngineEvents`)
makes every public call atomic; the collaborators run under it, called from here or from
dispatcher callbacks that take it again. Dispatcher callbacks may arrive on any thread, or
synchronously inside ``dispatch``. Listener events, handle callbacks and emergency stop
results are delivered outside the lock, in order, so a listener may call back into the
coordinator.

Operation ids on the robot: attempt 1 of an operation uses its operation id; attempt n > 1
uses :func:`attempt_operation_id` (``'<id>~<n>'``), since a robot executor treats a known id
as an idempotency key and returns the earlier outcome. A new attempt follows only a *known*
outcome; an attempt whose outcome is unknown (OUTCOME_UNKNOWN from the dispatcher, a
coordinator stop or restart) makes the step RECONCILING, and the robot is asked about that
very id (see :mod:`~brain_execution.core.attempts`).

Journal faults: a write the journal failed to store (disk full, I/O error, locked) is never
swallowed: intake refuses new work with JOURNAL_UNAVAILABLE and :meth:`Coordinator.stats`
reports the fault until a probe write succeeds again.
"""

import random
import typing

from .attempt_ids import attempt_operation_id, single_plan_id
from .attempts import AttemptRunner
from .breaker import BreakerRegistry, CircuitInfo
from .cancellation import Canceller
from .compensation import Compensator
from .dead_letters import DeadLetterOffice, MemoryDeadLetters
from .dispatch import Dispatcher
from .engine_events import CoordinatorListener, EngineEvents
from .errors import ErrorCode, ExecutionError
from .fleet_stop import EmergencyStopResult, send_emergency_stop
from .intake import Intake
from .journal import DeadLetterRecord, Journal
from .journal_guard import JournalGuard
from .plan import Plan, PlanStep, RetrySpec, validate_plan
from .plan_codec import plan_to_dict
from .plan_handles import PlanHandle, PlanRegistry
from .reconcile import Reconciler
from .recovery import Recovery
from .retry import RetryDefaults
from .run_state import RunState
from .scheduler import PlanOutcome, PlanScheduler, SchedulerListener, StepStatus
from .state import Platform
from .step_outcome import OutcomeApplier

__all__ = [
    'Coordinator',
    'CoordinatorListener',
    'EmergencyStopResult',
    'PlanHandle',
    'attempt_operation_id',
    'single_plan_id',
]


class _SchedulerEvents(SchedulerListener):
    """Journals every step change and queues plan ends; never calls back into the scheduler."""

    def __init__(self, coordinator: 'Coordinator'):
        self._coordinator = coordinator

    def step_changed(self, plan_id: str, status: StepStatus) -> None:
        self._coordinator._on_step_changed(plan_id, status)

    def plan_finished(self, plan_id: str, outcome: PlanOutcome) -> None:
        # Compensations and the handle run after the scheduler call returns: a scheduler
        # listener must not call back into the scheduler.
        self._coordinator._on_plan_ended(plan_id, outcome)


class Coordinator:
    """
    The rclpy-free engine of the fleet coordinator.

    :param robots: Platform of every robot the coordinator may use, by robot id.
    :param dispatcher: How operations reach the robots (the only way they do).
    :param journal: Durable journal; None keeps everything in memory (no resume).
    :param clock: Returns the current time in seconds (the node clock in ROS).
    :param rng: Source of the retry jitter; a seeded one makes runs reproducible.
    :param max_concurrency: Steps running at once over all plans.
    :param max_per_robot: Steps running at once on one robot.
    :param max_pending_steps: Unfinished steps held; beyond it intake raises BusyError.
    :param max_finished_plans: Ended plans whose handles and states stay queryable.
    :param retry_defaults: Values for the zero fields of each step's RetrySpec.
    :param failure_threshold: Counted failures in a row that open a circuit breaker.
    :param reset_timeout_s: Seconds an open breaker fails fast before it probes.
    :param max_dead_letters: Dead letters held in memory when there is no journal.
    :param reconciler: Decisions for steps whose outcome is unknown (its deadline).
    :param listener: Receives the events to publish.
    :param logger: Receives (level, message) with level 'debug', 'info', 'warn' or 'error'.
    :raises ValueError: When a limit is out of range.
    """

    def __init__(self, *, robots: typing.Mapping[str, Platform], dispatcher: Dispatcher,
                 journal: typing.Optional[Journal] = None,
                 clock: typing.Callable[[], float],
                 rng: typing.Optional[random.Random] = None,
                 max_concurrency: int = 16, max_per_robot: int = 1,
                 max_pending_steps: int = 10000, max_finished_plans: int = 100,
                 retry_defaults: RetryDefaults = RetryDefaults(),
                 failure_threshold: int = 5, reset_timeout_s: float = 30.0,
                 max_dead_letters: int = 1000,
                 reconciler: typing.Optional[Reconciler] = None,
                 listener: typing.Optional[CoordinatorListener] = None,
                 logger: typing.Optional[typing.Callable[[str, str], None]] = None):
        if not isinstance(retry_defaults, RetryDefaults):
            raise ValueError(f'retry_defaults={retry_defaults!r} is not a RetryDefaults')
        if isinstance(max_dead_letters, bool) or not isinstance(max_dead_letters, int) or \
                max_dead_letters < 1:
            raise ValueError(f'max_dead_letters={max_dead_letters!r} must be at least 1')
        # A copy: the set of robots is fixed for the engine's life, and emergency_stop reads
        # it without the lock.
        self._robots = {robot_id: Platform(platform) for robot_id, platform in robots.items()}
        self._dispatcher = dispatcher
        self._journal = journal
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._listener = listener or CoordinatorListener()
        self._log = logger or (lambda level, message: None)
        events = EngineEvents(self._log)
        self._lock = events.lock
        self._entered = events.entered
        self._emit = events.emit
        self._run = RunState()
        self._pumping = False
        self._scheduler = PlanScheduler(
            max_concurrency=max_concurrency, max_per_robot=max_per_robot,
            max_pending_steps=max_pending_steps, max_finished_plans=max_finished_plans,
            listener=_SchedulerEvents(self))
        self._breakers = BreakerRegistry(
            clock=clock, failure_threshold=failure_threshold, reset_timeout_s=reset_timeout_s,
            listeners=(self,))
        self._guard = JournalGuard(journal, log=self._log, on_change=lambda fault: self._tell(
            lambda listener: listener.journal_changed(fault)))
        self._dead = DeadLetterOffice(
            journal if journal is not None else MemoryDeadLetters(max_dead_letters, self._log),
            on_store_failure=self._guard.failed, log=self._log,
            on_added=lambda record: self._tell(
                lambda listener: listener.dead_letter_added(record)))
        self._plans = PlanRegistry(
            max_finished=max_finished_plans, lock=self._lock, scheduler=self._scheduler,
            guard=self._guard, run=self._run, log=self._log, emit=self._emit,
            on_finished=lambda plan_id, outcome: self._tell(
                lambda listener: listener.plan_finished(plan_id, outcome)))
        self._outcomes = OutcomeApplier(
            scheduler=self._scheduler, breakers=self._breakers, guard=self._guard,
            dead_letters=self._dead, run=self._run, retry_defaults=retry_defaults,
            rng=self._rng, clock=clock, log=self._log)
        self._runner = AttemptRunner(
            robots=self._robots, scheduler=self._scheduler, dispatcher=dispatcher,
            breakers=self._breakers, guard=self._guard, reconciler=reconciler or Reconciler(),
            outcomes=self._outcomes, run=self._run, clock=clock, log=self._log,
            entered=self._entered, pump=self._pump)
        self._compensator = Compensator(
            scheduler=self._scheduler, dispatcher=dispatcher, guard=self._guard, run=self._run,
            clock=clock, log=self._log, finalize=self._plans.finalize,
            on_done=lambda *args: self._tell(lambda listener: listener.compensation_done(*args)),
            entered=self._entered, pump=self._pump)
        self._recovery = Recovery(
            journal=journal, scheduler=self._scheduler, plans=self._plans, run=self._run,
            clock=clock, log=self._log, reattach=self._reattach)
        self._canceller = Canceller(
            scheduler=self._scheduler, plans=self._plans, run=self._run,
            cancel_on_robot=self._runner.cancel_on_robot, log=self._log, pump=self._pump)
        self._intake = Intake(
            scheduler=self._scheduler, plans=self._plans, guard=self._guard,
            recovery=self._recovery, run=self._run, clock=clock, log=self._log)

    # --- intake ----------------------------------------------------------------------------

    def submit_plan(self, plan: Plan) -> PlanHandle:
        """
        Accept a plan; its steps start at once (as far as the limits allow) and on tick().

        Idempotent by plan id: the same plan again returns the existing handle (already
        done, with the stored outcome, for a finished plan); a plan id reused with different
        content is refused, naming the difference (:mod:`~brain_execution.core.plan_identity`).

        :param plan: The plan.
        :return: Its handle.
        :raises ExecutionError: Every problem of an invalid plan (before anything is
            journaled or moves); INVALID_PLAN when an operation id is in use by another
            running plan; OPERATION_ID_CONFLICT when the plan id comes with other content.
        :raises BusyError: When its steps would exceed ``max_pending_steps``, or the journal
            cannot keep up.
        """
        validate_plan(plan, robots=self._robots)
        data = plan_to_dict(plan)
        with self._entered():
            handle, new = self._intake.admit(plan, data)
            if new:
                self._pump()
            return handle

    def submit_operation(self, robot_id: str, operation: str,
                         params: typing.Mapping[str, typing.Any], *, operation_id: str = '',
                         priority: int = 100, timeout_s: float = 0.0,
                         retry: RetrySpec = RetrySpec(),
                         safe_to_repeat: bool = False) -> PlanHandle:
        """
        Run one operation through the same policies, as a one-step plan.

        :param operation_id: Idempotency key; empty = a new unique id. The same id twice
            runs once and returns the same handle.
        :return: The handle of the plan :func:`single_plan_id` (``'op/<id>'``).
        :raises ExecutionError: As :meth:`submit_plan`.
        """
        if not operation_id:
            with self._lock:
                operation_id = f'{robot_id}-{self._rng.getrandbits(64):016x}'
        step = PlanStep(step_id='op', robot_id=robot_id, operation=operation,
                        parameters=params, operation_id=operation_id, priority=priority,
                        timeout_s=timeout_s, retry=retry, safe_to_repeat=safe_to_repeat)
        plan = Plan(plan_id=single_plan_id(operation_id), steps=(step,), compensate=False,
                    priority=priority if isinstance(priority, int) else 100)
        return self.submit_plan(plan)

    # --- driving ---------------------------------------------------------------------------

    def tick(self) -> None:
        """Start ready steps and due retries; cancel overdue plans (call from a timer)."""
        with self._entered():
            if self._run.stopping:
                return
            now = self._clock()
            self._guard.probe(now)
            self._canceller.cancel_overdue(now)
            self._runner.ask_due(now)
            self._pump()

    def note_journal_failure(self, what: str, error: Exception) -> None:
        """Record a journal write that failed outside the engine (e.g. pruning)."""
        with self._entered():
            self._guard.failed(what, error)

    def shutdown(self) -> int:
        """
        Stop as safely as a SIGKILL would: no intake, in-flight steps journaled RECONCILING.

        Robot goals are not canceled (nobody would follow their cancel up): a restart on the
        same journal asks each robot about its step's id and ends the step with the robot's
        own outcome. Outcomes arriving after this call are left for that reconciliation.

        :return: How many steps were in flight.
        """
        with self._entered():
            self._run.stopping = True
            count = self._runner.hold_in_flight(self._clock())
            self._log('info', f'shutdown: intake stopped, {count} step(s) in flight journaled '
                              f'as RECONCILING; robot goals left running')
            return count

    def cancel(self, *, plan_id: str = '', operation_id: str = '') -> typing.List[str]:
        """
        Cancel a plan, or one operation (a single operation's plan, or one plan step).

        Running steps are canceled on their robots; their results arrive as CANCELED. A
        canceled step of a plan skips its dependents and fails the plan.

        :return: Operation ids of the steps that had not ended; empty for an unknown or
            ended plan or operation.
        :raises ExecutionError: INVALID_PARAMETERS unless exactly one id is given.
        """
        if bool(plan_id) == bool(operation_id):
            raise ExecutionError('cancel needs either plan_id or operation_id',
                                 code=ErrorCode.INVALID_PARAMETERS)
        with self._entered():
            return self._canceller.cancel(plan_id, operation_id, self._clock())

    def emergency_stop(self, robot_ids: typing.Sequence[str] = (), *, reason: str = '',
                       release: bool = False) -> EmergencyStopResult:
        """
        Send emergency_stop to robots (all when empty) at once.

        Neither queued behind other work nor gated by circuit breakers, and it does not wait
        for the coordinator's lock: a coordinator busy journaling must not delay a stop.

        :param reason: Why, for the robots' logs.
        :param release: Clear the robots' latches instead.
        :return: The outcome per robot, as they arrive; an unknown robot id gets
            UNKNOWN_ROBOT at once (the known ones are still stopped).
        """
        return send_emergency_stop(self._dispatcher, self._robots, robot_ids, reason=reason,
                                   release=release, log=self._log)

    @property
    def held(self) -> str:
        """Return why no step starts now (a fleet-wide emergency stop), or ''."""
        return self._run.hold_reason

    def hold(self, reason: str) -> None:
        """
        Start no step until :meth:`release_hold`: a fleet-wide emergency stop is latched.

        Takes no lock, so the emergency lane never waits for a busy engine. Running steps
        that the stop ends (PREEMPTED, EMERGENCY_STOP_ACTIVE) wait in RETRYING and run again
        once released, under a new attempt id; plan timeouts wait too.
        """
        self._run.hold_reason = reason or 'emergency stop latched'

    def release_hold(self) -> None:
        """Let held plans go on; their steps start at the next :meth:`tick`."""
        self._run.hold_reason = ''

    def resume(self) -> typing.List[PlanHandle]:
        """
        Resume the journal's unfinished plans after a restart.

        Steps that were running (or RECONCILING when the coordinator stopped) come back
        RECONCILING and each robot is asked about the journaled attempt's id: an ended
        outcome is applied as that attempt's result; a running one is re-sent with the same
        id, which the robot's idempotency attaches to the running operation instead of
        acting twice; an id the robot never saw (its record of ids is durable) is sent, same
        id; a robot that cannot be asked is asked again until the reconcile deadline, then
        the step ends OUTCOME_UNKNOWN as a dead letter.

        :return: Handles of the resumed plans; empty without a journal.
        """
        if self._journal is None:
            return []
        with self._entered():
            handles = self._recovery.resume_unfinished()
            self._reattach()
            return handles

    # --- queries and operator actions ------------------------------------------------------

    def handle(self, plan_id: str) -> typing.Optional[PlanHandle]:
        """Return the handle of a known plan, or None."""
        with self._lock:
            return self._plans.handle(plan_id)

    def query(self, *, plan_id: str = '',
              operation_id: str = '') -> typing.Tuple[StepStatus, ...]:
        """
        Return the statuses of a plan's steps, or of the step carrying an operation id.

        A plan this run does not hold in memory (it ended before a restart, or its handle
        left the ring of ended plans) is read from the journal: a caller polling for a plan
        across a coordinator restart finds it with its journaled end.

        :return: Empty when the plan or operation is unknown (or pruned from the journal).
        """
        with self._lock:
            if operation_id:
                where = self._plans.where(operation_id)
                if where is None:
                    handle = self._plans.handle(single_plan_id(operation_id))
                    statuses = handle.snapshot() if handle is not None else ()
                else:
                    statuses = self._plans.snapshot(where[0])
            else:
                statuses = self._plans.snapshot(plan_id)
        if not statuses:
            # Outside the lock: a read must not hold up ticks and results.
            statuses = self._recovery.journaled_snapshot(plan_id, operation_id)
        if operation_id:
            return tuple(s for s in statuses if s.operation_id == operation_id)
        return statuses

    def dead_letters(self, robot_id: str = '', max_entries: int = 0,
                     offset: int = 0) -> typing.List[DeadLetterRecord]:
        """Return one page of dead letters, oldest first (one robot's with ``robot_id``)."""
        with self._lock:
            return self._dead.page(robot_id, max_entries, offset)

    def dead_letter_count(self, robot_id: str = '') -> int:
        """Return how many dead letters are held (of one robot with ``robot_id``)."""
        with self._lock:
            return self._dead.count(robot_id)

    def retry_dead_letters(self, operation_ids: typing.Sequence[str]) -> typing.List[PlanHandle]:
        """
        Take dead letters off the list and run each again as a single operation.

        Each runs under a new operation id ``'<id>~retry<n>'``: the robot remembers the old
        id and would answer with its old outcome instead of acting.

        :return: One handle per dead letter, in the order given.
        :raises ExecutionError: When an id is not listed (then nothing is taken), or intake
            refuses (then the dead letters not yet resubmitted are listed again).
        """
        with self._entered():
            return self._dead.retry(operation_ids, self.submit_operation)

    def purge_dead_letters(self, operation_ids: typing.Sequence[str] = (),
                           all: bool = False) -> int:  # noqa: A002 - PurgeDeadLetters.srv
        """Remove dead letters for good; return how many were removed."""
        with self._lock:
            return self._dead.purge(operation_ids, everything=all)

    def reset_circuit(self, robot_id: str = '', operation: str = '') -> int:
        """Close circuit breakers ('' matches all); return how many were reset."""
        with self._entered():
            count = self._breakers.reset(robot_id, operation)
            self._log('info', f'{count} circuit breaker(s) reset '
                              f'(robot {robot_id or "*"}, operation {operation or "*"})')
            self._pump()
            return count

    def circuit_states(self) -> typing.List[CircuitInfo]:
        """Return every circuit breaker's state."""
        with self._entered():
            return self._breakers.states()

    def stats(self) -> typing.Dict[str, typing.Any]:
        """Return diagnostics: queue depth, running, plans, dead letters, breakers, journal."""
        with self._entered():
            return {
                'pending_steps': self._scheduler.pending_step_count,
                'running': self._runner.running,
                'plans_active': len(self._plans.active),
                'compensating': self._compensator.compensating,
                'dead_letters': self._dead.count(),
                'breakers': {info.name: info.state.name for info in self._breakers.states()},
                'duration_keys': len(self._outcomes.durations),
                'journal': self._journal.stats() if self._journal is not None else None,
                'journal_fault': self._guard.fault,
                'reconciling': self._runner.reconciling,
            }

    # --- circuit breaker listener ----------------------------------------------------------

    def on_state_change(self, breaker, old, new) -> None:
        """Forward a circuit breaker transition to the listener (breaker listener API)."""
        info = breaker.state_info()
        self._log('warn' if new else 'info',
                  f"circuit '{breaker.name}' {old.name} -> {new.name}")
        self._tell(lambda listener: listener.circuit_changed(info))

    # --- internals (under the lock) --------------------------------------------------------

    def _tell(self, call: typing.Callable[[CoordinatorListener], None]) -> None:
        # The listener is read when the event is delivered, not now: one set in between
        # (tests swap it) receives the event.
        self._emit(lambda: call(self._listener))

    def _on_step_changed(self, plan_id: str, status: StepStatus) -> None:
        started = (plan_id, status.step_id) in self._run.sent
        self._guard.call(f'step {plan_id}/{status.step_id} state', lambda: (
            self._journal.record_step_state(
                plan_id, status.step_id, state=int(status.state), attempt=status.attempt,
                operation_id=status.operation_id, code=status.code, message=status.message,
                started=started)))
        self._tell(lambda listener: listener.step_changed(plan_id, status))

    def _on_plan_ended(self, plan_id: str, outcome: PlanOutcome) -> None:
        self._compensator.ended.append((plan_id, outcome))

    def _pump(self) -> None:
        """Start every ready step; finish ended plans."""
        if self._pumping:
            # A result that arrived synchronously inside a dispatch: the outer loop picks up
            # the steps it made ready, instead of recursing once per result.
            return
        self._pumping = True
        try:
            while True:
                self._compensator.process_ended()
                ready = [] if self._run.hold_reason else self._scheduler.next_ready(self._clock())
                if not ready:
                    break
                for plan_id, step in ready:
                    self._runner.start(plan_id, step)
        finally:
            self._pumping = False
        self._compensator.process_ended()

    def _reattach(self) -> None:
        """Ask the robots about the steps restored RECONCILING, then start what is ready."""
        self._runner.reattach_unresolved()
        self._pump()
