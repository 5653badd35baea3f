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

:class:`Coordinator` ties the rclpy-free pieces together: it validates and journals plans,
lets :class:`~brain_execution.core.scheduler.PlanScheduler` pick the steps to start, guards
each attempt with the circuit breakers, sends it through the
:class:`~brain_execution.core.dispatch.Dispatcher` seam, applies the retry policy to what comes
back, turns exhausted steps into dead letters, compensates failed plans and, after a restart,
resumes the journaled plans by asking the robots what became of the operations in flight.

Threading: one re-entrant lock makes every public call atomic. Dispatcher callbacks may
arrive on any thread, or synchronously inside ``dispatch``. Listener events, handle callbacks
and emergency stop results are delivered outside the lock, in order, so a listener may call
back into the coordinator.

Operation ids on the robot: attempt 1 of an operation uses its operation id; attempt n > 1
uses :func:`attempt_operation_id` (``'<id>~<n>'``). A robot executor treats a known id as an
idempotency key and returns the earlier outcome, so a retry under the same id would only
repeat the failure instead of acting again. A new attempt follows only a *known* outcome
(a retryable failure the robot reported, or one proving the goal never reached it). An
attempt whose outcome is unknown (OUTCOME_UNKNOWN from the dispatcher, a coordinator stop or
restart) makes the step RECONCILING: the robot is asked about that very id and the
:class:`~brain_execution.core.reconcile.Reconciler` decides (end with the robot's outcome,
send the same id again, ask again, or give up with OUTCOME_UNKNOWN into the dead letters).

Journal faults: a write the journal failed to store (disk full, I/O error, locked) is never
swallowed: intake refuses new work with JOURNAL_UNAVAILABLE and :meth:`Coordinator.stats`
reports the fault until a probe write succeeds again.
"""

import collections
import contextlib
import dataclasses
import hashlib
import json
import random
import threading
import typing

from .breaker import BreakerRegistry, CircuitInfo, CircuitOpenError
from .catalog import get_operation
from .dispatch import Dispatcher, DispatchRequest, QueryAnswer
from .errors import (
    BusyError, code_name, ErrorCode, ExecutionError, InvalidParametersError,
    JournalUnavailableError)
from .journal import DeadLetterRecord, Journal, JournalFullError, PlanRecord, StepRecord
from .operation import Outcome
from .plan import operation_id_for, Plan, PlanStep, RetrySpec, validate_plan
from .plan_identity import check_plan_reuse, check_step_reuse
from .reconcile import Action, is_outcome_unknown, Reconciler
from .retry import DurationStats, NON_RETRYABLE_CODES, RetryDefaults, RetryPolicy
from .scheduler import (
    Compensation, PlanOutcome, PlanScheduler, SchedulerListener, StepState, StepStatus,
    TERMINAL_STATES)
from .state import Platform

__all__ = [
    'Coordinator',
    'CoordinatorListener',
    'EmergencyStopResult',
    'PlanHandle',
    'attempt_operation_id',
    'single_plan_id',
]

_MAX_OPERATION_ID_LENGTH = 128

# A journal that failed a write is probed at most this often (s, engine clock) until a write
# succeeds again and intake reopens.
_JOURNAL_PROBE_INTERVAL_S = 1.0

_MAX_PLAN_ID_LENGTH = 63

# Codes a step gets when a fleet-wide emergency stop reaches its robot: while the stop holds
# the engine, such a step waits to run again on release instead of failing its plan.
_HELD_CODES = frozenset({ErrorCode.PREEMPTED, ErrorCode.EMERGENCY_STOP_ACTIVE})


def _digest(text: str, length: int) -> str:
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:length]


def _with_suffix(base: str, suffix: str, limit: int) -> str:
    """Return base + suffix, shortening base (with a hash, to stay unique) to fit limit."""
    if len(base) + len(suffix) <= limit:
        return base + suffix
    keep = limit - len(suffix) - 9
    return f'{base[:keep]}#{_digest(base, 8)}{suffix}'


def attempt_operation_id(operation_id: str, attempt: int) -> str:
    """
    Return the id an attempt carries to the robot.

    The first attempt carries the operation id itself, so that callers and robots agree on
    it; later ones a derived id, since the robot returns the earlier outcome for a known id.

    :param operation_id: The operation's idempotency key.
    :param attempt: 1 for the first attempt.
    :return: At most 128 characters.
    """
    if attempt <= 1:
        return operation_id
    return _with_suffix(operation_id, f'~{attempt}', _MAX_OPERATION_ID_LENGTH)


def single_plan_id(operation_id: str) -> str:
    """
    Return the id of the one-step plan that carries a single operation: ``'op/<id>'``.

    Derived from the operation id alone, so the same operation id maps to the same plan and
    runs once; long ids are shortened with a hash to fit the 63 characters of a plan id.
    """
    if len(operation_id) + 3 <= _MAX_PLAN_ID_LENGTH:
        return 'op/' + operation_id
    return f'op/{operation_id[:20]}#{_digest(operation_id, 32)}'


def _jsonable(value: typing.Any) -> typing.Any:
    """Return plain JSON data: mappings become dicts, bytes lists of integers (as YAML)."""
    if isinstance(value, collections.abc.Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        # A plan step spells uint8[] as a list of integers, which validation accepts too.
        return list(bytes(value))
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidParametersError(
        f'value of type {type(value).__name__} cannot be journaled; use numbers, text, '
        f'lists and mappings')


def _plan_to_dict(plan: Plan) -> typing.Dict[str, typing.Any]:
    return {
        'plan_id': plan.plan_id, 'max_concurrency': plan.max_concurrency,
        'compensate': plan.compensate, 'priority': plan.priority, 'timeout_s': plan.timeout_s,
        'steps': [{
            'step_id': step.step_id, 'robot_id': step.robot_id, 'operation': step.operation,
            'parameters': _jsonable(step.parameters), 'depends_on': list(step.depends_on),
            'operation_id': step.operation_id, 'priority': step.priority,
            'timeout_s': step.timeout_s, 'retry': dataclasses.asdict(step.retry),
            'safe_to_repeat': step.safe_to_repeat,
            'compensation_operation': step.compensation_operation,
            'compensation_parameters': _jsonable(step.compensation_parameters),
        } for step in plan.steps]}


def _plan_from_dict(data: typing.Mapping[str, typing.Any]) -> Plan:
    steps = []
    for raw in data['steps']:
        fields = dict(raw)
        fields['retry'] = RetrySpec(**fields.get('retry', {}))
        fields['depends_on'] = tuple(fields.get('depends_on', ()))
        steps.append(PlanStep(**fields))
    return Plan(plan_id=data['plan_id'], steps=tuple(steps),
                max_concurrency=data.get('max_concurrency', 0),
                compensate=data.get('compensate', True), priority=data.get('priority', 100),
                timeout_s=data.get('timeout_s', 0.0))


def _outcome_to_dict(outcome: PlanOutcome) -> typing.Dict[str, typing.Any]:
    data = dataclasses.asdict(outcome)
    data['state'] = int(outcome.state)
    return data


def _outcome_from_dict(plan_id: str, data: typing.Any) -> PlanOutcome:
    try:
        fields = dict(data)
        fields['state'] = StepState(fields['state'])
        return PlanOutcome(**fields)
    except (TypeError, ValueError, KeyError):
        return PlanOutcome(plan_id, StepState.FAILED, ErrorCode.INTERNAL_ERROR,
                           f'journaled outcome of plan {plan_id!r} is unreadable: {data!r}')


def _status_from_record(step: PlanStep, plan_id: str, record: StepRecord) -> StepStatus:
    state = StepState(record.state)
    return StepStatus(
        step_id=step.step_id, robot_id=step.robot_id, operation=step.operation,
        operation_id=record.operation_id or operation_id_for(plan_id, step), state=state,
        attempt=record.attempt, code=record.code, message=record.message,
        # The journal keeps no retryable flag: a journaled failure is final anyway.
        retryable=False, started_s=record.updated_s if record.started else None,
        ended_s=record.updated_s if state in TERMINAL_STATES else None,
        updated_s=record.updated_s)


def _journaled_statuses(record: PlanRecord) -> typing.Tuple[StepStatus, ...]:
    """Return the statuses of a journaled plan's steps (PENDING for a step never journaled)."""
    plan = _plan_from_dict(record.plan)
    return tuple(
        _status_from_record(step, record.plan_id, record.steps[step.step_id])
        if step.step_id in record.steps else
        StepStatus(step.step_id, step.robot_id, step.operation,
                   operation_id_for(record.plan_id, step), StepState.PENDING)
        for step in plan.steps)


class CoordinatorListener:
    """
    Receives the coordinator's events (for the ROS adapter to publish); methods do nothing.

    Called outside the coordinator's lock, in the order the events happened, after the
    change was journaled. A listener may call back into the coordinator.
    """

    def step_changed(self, plan_id: str, status: StepStatus) -> None:
        """Call after a step changed state."""

    def plan_finished(self, plan_id: str, outcome: PlanOutcome) -> None:
        """Call after a plan ended (and its compensations ran)."""

    def dead_letter_added(self, record: DeadLetterRecord) -> None:
        """Call after an exhausted operation became a dead letter."""

    def circuit_changed(self, info: CircuitInfo) -> None:
        """Call after a circuit breaker changed state."""

    def journal_changed(self, fault: str) -> None:
        """Call when the journal failed a write (fault names it) or works again ('')."""

    def compensation_done(self, plan_id: str, step_id: str, operation: str,
                          outcome: Outcome) -> None:
        """Call after a compensation of a failed or canceled plan ended."""


class PlanHandle:
    """
    A submitted plan (or single operation): its outcome once ended, and its steps' states.

    :param plan_id: The plan.
    """

    def __init__(self, plan_id: str, *, snapshot: typing.Callable[[], tuple],
                 operation_ids: typing.Sequence[str] = (),
                 content: typing.Optional[typing.Mapping[str, typing.Any]] = None):
        self.plan_id = plan_id
        # The plan as journaled, to refuse its id reused for another plan (plan_identity).
        self.content = content
        self._snapshot = snapshot
        self._operation_ids = tuple(operation_ids)
        self._lock = threading.Lock()
        self._outcome: typing.Optional[PlanOutcome] = None
        self._callbacks: typing.List[typing.Callable[[PlanOutcome], None]] = []
        self._final: tuple = ()

    @property
    def done(self) -> bool:
        return self._outcome is not None

    @property
    def outcome(self) -> typing.Optional[PlanOutcome]:
        """Return how the plan ended, or None while it runs."""
        return self._outcome

    def add_done_callback(self, callback: typing.Callable[[PlanOutcome], None]) -> None:
        """Call ``callback(outcome)`` once the plan ends (at once if it has)."""
        with self._lock:
            if self._outcome is None:
                self._callbacks.append(callback)
                return
        callback(self._outcome)

    def snapshot(self) -> typing.Tuple[StepStatus, ...]:
        """Return every step's status, in plan order."""
        return self._snapshot()

    def _complete(self, outcome: PlanOutcome,
                  final: tuple) -> typing.List[typing.Callable[[PlanOutcome], None]]:
        with self._lock:
            self._final = final
            self._outcome = outcome
            callbacks, self._callbacks = self._callbacks, []
        return callbacks

    def __repr__(self) -> str:
        state = self._outcome.state.name if self._outcome else 'RUNNING'
        return f'PlanHandle({self.plan_id!r}, {state})'


class EmergencyStopResult:
    """
    Outcomes of one fleet emergency stop, robot by robot, as they arrive.

    :param robot_ids: The robots the stop was sent to.
    """

    def __init__(self, robot_ids: typing.Sequence[str]):
        self.robot_ids = tuple(robot_ids)
        self._lock = threading.Lock()
        self._outcomes: typing.Dict[str, Outcome] = {}
        self._callbacks: typing.List[typing.Callable[[typing.Dict[str, Outcome]], None]] = []

    @property
    def done(self) -> bool:
        with self._lock:
            return len(self._outcomes) == len(self.robot_ids)

    @property
    def outcomes(self) -> typing.Dict[str, Outcome]:
        """Return the outcomes received so far, by robot id."""
        with self._lock:
            return dict(self._outcomes)

    def add_done_callback(
            self, callback: typing.Callable[[typing.Dict[str, Outcome]], None]) -> None:
        """Call ``callback(outcomes)`` once every robot answered (at once if all have)."""
        with self._lock:
            if len(self._outcomes) < len(self.robot_ids):
                self._callbacks.append(callback)
                return
            outcomes = dict(self._outcomes)
        callback(outcomes)

    def _set(self, robot_id: str, outcome: Outcome) -> None:
        with self._lock:
            if robot_id in self._outcomes:
                return
            self._outcomes[robot_id] = outcome
            if len(self._outcomes) < len(self.robot_ids):
                return
            callbacks, self._callbacks = self._callbacks, []
            outcomes = dict(self._outcomes)
        for callback in callbacks:
            callback(outcomes)


class _Attempt:
    """One attempt of one step: sent to the robot, or being reconciled after a restart."""

    __slots__ = ('plan_id', 'step', 'operation_id', 'wire_id', 'attempt', 'started_s',
                 'querying', 'queries', 'done', 'unknown_since_s', 'resends')

    def __init__(self, plan_id: str, step: PlanStep, operation_id: str, attempt: int,
                 started_s: float):
        self.plan_id = plan_id
        self.step = step
        self.operation_id = operation_id
        self.wire_id = attempt_operation_id(operation_id, attempt)
        self.attempt = attempt
        self.started_s = started_s
        self.querying = False
        self.queries = 0
        self.done = False
        # When its outcome became unknown (RECONCILING), and same-id sends since then.
        self.unknown_since_s = started_s
        self.resends = 0

    @property
    def key(self) -> typing.Tuple[str, str]:
        return (self.plan_id, self.step.step_id)


class _Undo:
    """The compensations of one ended plan, run one after another."""

    def __init__(self, plan_id: str, outcome: PlanOutcome, priority: int,
                 compensations: typing.Sequence[Compensation]):
        self.plan_id = plan_id
        self.outcome = outcome
        self.priority = priority
        # (compensation, operation id) pairs: computed up front, since the scheduler may
        # forget the ended plan while its compensations still run.
        self.remaining = collections.deque(compensations)


class _MemoryDeadLetters:
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


class _SchedulerEvents(SchedulerListener):
    """Journals every step change and queues plan ends; never calls back into the scheduler."""

    def __init__(self, coordinator: 'Coordinator'):
        self._coordinator = coordinator

    def step_changed(self, plan_id: str, status: StepStatus) -> None:
        self._coordinator._on_step_changed(plan_id, status)

    def plan_finished(self, plan_id: str, outcome: PlanOutcome) -> None:
        # Compensations and the handle run after the scheduler call returns: a scheduler
        # listener must not call back into the scheduler.
        self._coordinator._ended.append((plan_id, outcome))


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
        self._retry_defaults = retry_defaults
        self._reconciler = reconciler or Reconciler()
        self._listener = listener or CoordinatorListener()
        self._log = logger or (lambda level, message: None)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._events: typing.Deque[typing.Callable[[], None]] = collections.deque()
        self._delivering = threading.Lock()
        self._scheduler = PlanScheduler(
            max_concurrency=max_concurrency, max_per_robot=max_per_robot,
            max_pending_steps=max_pending_steps, max_finished_plans=max_finished_plans,
            listener=_SchedulerEvents(self))
        self._breakers = BreakerRegistry(
            clock=clock, failure_threshold=failure_threshold, reset_timeout_s=reset_timeout_s,
            listeners=(self,))
        self._durations = DurationStats()
        self._dead = journal if journal is not None else _MemoryDeadLetters(
            max_dead_letters, self._log)
        self._active: typing.Dict[str, PlanHandle] = {}
        # Handles of ended plans: a ring, so memory stays bounded however many plans end.
        self._finished: 'collections.OrderedDict[str, PlanHandle]' = collections.OrderedDict()
        self._max_finished = max_finished_plans
        # Operation id -> (plan_id, step_id), for the active plans only.
        self._op_index: typing.Dict[str, typing.Tuple[str, str]] = {}
        self._attempts: typing.Dict[typing.Tuple[str, str], _Attempt] = {}
        # Steps of which an attempt may have reached the robot (journaled as started).
        self._sent: typing.Set[typing.Tuple[str, str]] = set()
        self._canceled: typing.Set[str] = set()
        self._ended: typing.Deque[typing.Tuple[str, PlanOutcome]] = collections.deque()
        self._undoing: typing.Dict[str, _Undo] = {}
        self._pumping = False
        # Why the engine is held (a latched fleet-wide emergency stop); '' = not held.
        self._hold_reason = ''
        self._retry_counter = 0
        # (due time, attempt) of reconciliation queries to ask again.
        self._requery: typing.List[typing.Tuple[float, _Attempt]] = []
        # After shutdown(): no intake, and in-flight steps stay journaled RECONCILING.
        self._stopping = False
        # Why the journal is failing writes ('' while it works), and when it was last probed.
        self._journal_fault = ''
        self._journal_probed_s = -float('inf')

    # --- intake ----------------------------------------------------------------------------

    def submit_plan(self, plan: Plan) -> PlanHandle:
        """
        Accept a plan; its steps start at once (as far as the limits allow) and on tick().

        Idempotent by plan id: a plan id seen before returns the existing handle (already
        done, with the stored outcome, for a finished plan) and the new content is ignored.

        :param plan: The plan.
        :return: Its handle.
        :raises ExecutionError: Every problem of an invalid plan (before anything is
            journaled or moves); INVALID_PLAN when an operation id is in use by another
            running plan.
        :raises BusyError: When its steps would exceed ``max_pending_steps``, or the journal
            cannot keep up.
        """
        validate_plan(plan, robots=self._robots)
        data = _plan_to_dict(plan)
        with self._entered():
            known = self._handle(plan.plan_id)
            if known is not None:
                check_plan_reuse(plan.plan_id, known.content, data)
                return known
            if self._stopping:
                raise ExecutionError(f'plan {plan.plan_id!r} refused: the coordinator is '
                                     f'shutting down', code=ErrorCode.SHUTDOWN)
            if self._journal_fault:
                raise JournalUnavailableError(
                    f'plan {plan.plan_id!r} refused: the journal failed to store a write '
                    f'({self._journal_fault}); nothing new is accepted until it works again')
            now = self._clock()
            taken = [(step.step_id, self._op_index[op_id][0]) for step in plan.steps
                     for op_id in (operation_id_for(plan.plan_id, step),)
                     if op_id in self._op_index]
            if taken:
                step_id, other = taken[0]
                step = next(s for s in plan.steps if s.step_id == step_id)
                other_step = next(s for s in self._scheduler.plan(other).steps
                                  if operation_id_for(other, s) ==
                                  operation_id_for(plan.plan_id, step))
                check_step_reuse(operation_id_for(plan.plan_id, step), other_step, step)
                raise ExecutionError(
                    f'plan {plan.plan_id!r}: step {step_id!r}: operation_id: in use by running '
                    f'plan {other!r}; the step would not run', code=ErrorCode.INVALID_PLAN)
            pending = self._scheduler.pending_step_count
            if pending + len(plan.steps) > self._scheduler.max_pending_steps:
                # Refused before journaling: a journaled plan that never ran would be resumed
                # after a restart although its caller was told no.
                raise BusyError(
                    f'plan {plan.plan_id!r} refused: {len(plan.steps)} steps on top of '
                    f'{pending} unfinished exceed the limit of '
                    f'{self._scheduler.max_pending_steps}; retry when running plans end')
            if self._journal is not None:
                try:
                    stored = self._journal.record_plan(plan.plan_id, data, now)
                except JournalFullError:
                    raise
                except ExecutionError as e:
                    self._journal_failed(f'plan {plan.plan_id}', e)
                    raise JournalUnavailableError(
                        f'plan {plan.plan_id!r} refused: not journaled: {e}') from e
                if not stored:
                    known = self._from_journal(plan.plan_id)
                    check_plan_reuse(plan.plan_id, known.content, data)
                    return known
            self._scheduler.add_plan(plan, now)
            handle = self._register(plan)
            self._log('info', f'plan {plan.plan_id!r} accepted with {len(plan.steps)} step(s)')
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
            if self._stopping:
                return
            now = self._clock()
            self._probe_journal(now)
            for plan_id in () if self._hold_reason else self._scheduler.overdue_plans(now):
                plan = self._scheduler.plan(plan_id)
                self._log('warn', f'plan {plan_id!r} timed out after {plan.timeout_s:g} s')
                self._cancel_plan(plan_id, now, code=ErrorCode.TIMEOUT,
                                  message=f'plan timed out after {plan.timeout_s:g} s')
            due = [attempt for at, attempt in self._requery if at <= now]
            self._requery = [(at, attempt) for at, attempt in self._requery if at > now]
            for attempt in due:
                if self._attempts.get(attempt.key) is attempt and attempt.querying:
                    self._query_attempt(attempt)
            self._pump()

    def note_journal_failure(self, what: str, error: Exception) -> None:
        """Record a journal write that failed outside the engine (e.g. pruning)."""
        with self._entered():
            self._journal_failed(what, error)

    def shutdown(self) -> int:
        """
        Stop as safely as a SIGKILL would: no intake, in-flight steps journaled RECONCILING.

        Robot goals are not canceled (nobody would follow their cancel up): a restart on the
        same journal asks each robot about its step's id and ends the step with the robot's
        own outcome. Outcomes arriving after this call are left for that reconciliation.

        :return: How many steps were in flight.
        """
        with self._entered():
            self._stopping = True
            now = self._clock()
            count = 0
            for attempt in list(self._attempts.values()):
                status = self._scheduler.status(attempt.plan_id, attempt.step.step_id)
                count += 1
                if status.state is StepState.RUNNING:
                    self._scheduler.mark_reconciling(
                        attempt.plan_id, attempt.step.step_id, now,
                        message=f'coordinator stopped while {attempt.wire_id} was in flight on '
                                f'{attempt.step.robot_id}; reconciled by that id on restart')
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
            now = self._clock()
            if operation_id:
                where = self._op_index.get(operation_id)
                if where is None:
                    return []
                plan_id, step_id = where
                if len(self._scheduler.plan(plan_id).steps) > 1:
                    return self._cancel_step(plan_id, step_id, now)
            if plan_id not in self._scheduler.active_plan_ids():
                return []
            ids = self._cancel_plan(plan_id, now, code=ErrorCode.CANCELED,
                                    message='plan canceled')
            self._pump()
            return ids

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
        if isinstance(robot_ids, str):
            robot_ids = (robot_ids,)
        targets = list(dict.fromkeys(robot_ids)) or list(self._robots)
        result = EmergencyStopResult(targets)
        for robot_id in targets:
            if robot_id not in self._robots:
                result._set(robot_id, Outcome(ErrorCode.UNKNOWN_ROBOT,
                                              f'unknown robot {robot_id!r}'))
                continue

            def on_done(outcome: Outcome, robot_id: str = robot_id) -> None:
                if not outcome.succeeded:
                    self._log('error', f'emergency_stop on {robot_id} failed: '
                                       f'{code_name(outcome.code)}: {outcome.message}')
                result._set(robot_id, outcome)
            try:
                self._dispatcher.emergency_stop(robot_id, reason=reason, release=release,
                                                on_done=on_done)
            except Exception as e:  # noqa: B902 - every robot must still get its stop
                on_done(Outcome(ErrorCode.COMMUNICATION_FAILURE,
                                f'emergency_stop not sent: {type(e).__name__}: {e}', True))
        self._log('warn', f'emergency_stop {"released" if release else "sent"} to '
                          f'{", ".join(targets)}: {reason or "no reason given"}')
        return result

    @property
    def held(self) -> str:
        """Return why no step starts now (a fleet-wide emergency stop), or ''."""
        return self._hold_reason

    def hold(self, reason: str) -> None:
        """
        Start no step until :meth:`release_hold`: a fleet-wide emergency stop is latched.

        Takes no lock, so the emergency lane never waits for a busy engine. Running steps
        that the stop ends (PREEMPTED, EMERGENCY_STOP_ACTIVE) wait in RETRYING and run again
        once released, under a new attempt id; plan timeouts wait too.
        """
        self._hold_reason = reason or 'emergency stop latched'

    def release_hold(self) -> None:
        """Let held plans go on; their steps start at the next :meth:`tick`."""
        self._hold_reason = ''

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
            handles = []
            for unfinished in self._journal.unfinished_plans():
                handle = self._restore(unfinished.plan, unfinished.steps)
                if handle is not None:
                    handles.append(handle)
            self._reconcile_all()
            self._pump()
            return handles

    # --- queries and operator actions ------------------------------------------------------

    def handle(self, plan_id: str) -> typing.Optional[PlanHandle]:
        """Return the handle of a known plan, or None."""
        with self._lock:
            return self._handle(plan_id)

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
                where = self._op_index.get(operation_id)
                if where is None:
                    handle = self._handle(single_plan_id(operation_id))
                    statuses = handle.snapshot() if handle is not None else ()
                else:
                    statuses = self._snapshot(where[0])
            else:
                statuses = self._snapshot(plan_id)
        if not statuses:
            # Outside the lock: a read must not hold up ticks and results.
            statuses = self._journaled_snapshot(plan_id, operation_id)
        if operation_id:
            return tuple(s for s in statuses if s.operation_id == operation_id)
        return statuses

    def dead_letters(self, robot_id: str = '', max_entries: int = 0,
                     offset: int = 0) -> typing.List[DeadLetterRecord]:
        """Return one page of dead letters, oldest first (one robot's with ``robot_id``)."""
        with self._lock:
            return list(self._dead.list_dead_letters(robot_id, max_entries, offset))

    def dead_letter_count(self, robot_id: str = '') -> int:
        """Return how many dead letters are held (of one robot with ``robot_id``)."""
        with self._lock:
            return self._dead.dead_letter_count(robot_id)

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
            records = self._dead.take_dead_letters(list(operation_ids))
            handles = []
            for index, record in enumerate(records):
                try:
                    params = json.loads(record.parameters) if record.parameters else {}
                    handles.append(self.submit_operation(
                        record.robot_id, record.operation, params,
                        operation_id=self._retry_id(record.operation_id)))
                except Exception:
                    # Put back what was not resubmitted, so nothing is lost.
                    for unsent in records[index:]:
                        self._dead.add_dead_letter(unsent)
                    raise
            return handles

    def purge_dead_letters(self, operation_ids: typing.Sequence[str] = (),
                           all: bool = False) -> int:  # noqa: A002 - PurgeDeadLetters.srv
        """Remove dead letters for good; return how many were removed."""
        with self._lock:
            return self._dead.purge_dead_letters(list(operation_ids), all=all)

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
                'running': len(self._attempts),
                'plans_active': len(self._active),
                'compensating': len(self._undoing),
                'dead_letters': self._dead.dead_letter_count(),
                'breakers': {info.name: info.state.name for info in self._breakers.states()},
                'duration_keys': len(self._durations),
                'journal': self._journal.stats() if self._journal is not None else None,
                'journal_fault': self._journal_fault,
                'reconciling': sum(1 for a in self._attempts.values() if a.querying),
            }

    # --- circuit breaker listener ----------------------------------------------------------

    def on_state_change(self, breaker, old, new) -> None:
        """Forward a circuit breaker transition to the listener (breaker listener API)."""
        info = breaker.state_info()
        self._log('warn' if new else 'info',
                  f"circuit '{breaker.name}' {old.name} -> {new.name}")
        self._emit(lambda: self._listener.circuit_changed(info))

    # --- internals: locking and events -----------------------------------------------------

    @contextlib.contextmanager
    def _entered(self):
        """Hold the lock for one public call; deliver queued events after the outermost."""
        with self._lock:
            self._local.depth = getattr(self._local, 'depth', 0) + 1
            try:
                yield
            finally:
                self._local.depth -= 1
        if self._local.depth == 0:
            self._deliver()

    def _emit(self, event: typing.Callable[[], None]) -> None:
        with self._lock:
            self._events.append(event)

    def _deliver(self) -> None:
        # Whoever holds the delivery lock delivers everyone's events, in order; others
        # return at once, so a listener calling back into the coordinator cannot deadlock.
        while True:
            if not self._delivering.acquire(blocking=False):
                return
            try:
                while True:
                    with self._lock:
                        if not self._events:
                            break
                        event = self._events.popleft()
                    try:
                        event()
                    except Exception as e:  # noqa: B902 - a listener must not break the engine
                        self._log('error', f'event listener raised {type(e).__name__}: {e}')
            finally:
                self._delivering.release()
            with self._lock:
                if not self._events:
                    return

    def _journal_call(self, what: str, call: typing.Callable[[], typing.Any]) -> typing.Any:
        """Run a journal write whose failure must not stop the engine; raise the fault."""
        if self._journal is None:
            return None
        try:
            return call()
        except (ExecutionError, ValueError) as e:
            self._journal_failed(what, e)
            return None

    def _journal_failed(self, what: str, error: Exception) -> None:
        """
        Record that the journal did not store a write: intake closes until a probe succeeds.

        What was not stored is safe to lose only because nothing is acknowledged on top of
        it: the step the write belonged to is reconciled by its id after a restart.
        """
        first = not self._journal_fault
        self._journal_fault = f'{what}: {error}'
        self._log('error', f'journal: {what} not stored: {error}; new work is refused with '
                           f'JOURNAL_UNAVAILABLE until the journal stores writes again')
        if first:
            fault = self._journal_fault
            self._emit(lambda: self._listener.journal_changed(fault))

    def _probe_journal(self, now: float) -> None:
        """While the journal is failing, try one real write now and then; reopen on success."""
        if not self._journal_fault or self._journal is None or \
                now - self._journal_probed_s < _JOURNAL_PROBE_INTERVAL_S:
            return
        self._journal_probed_s = now
        try:
            self._journal.probe()
        except (ExecutionError, ValueError) as e:
            self._log('debug', f'journal still failing: {e}')
            return
        self._log('info', f'journal stores writes again (after: {self._journal_fault}); '
                          f'intake reopened')
        self._journal_fault = ''
        self._emit(lambda: self._listener.journal_changed(''))

    # --- internals: handles ----------------------------------------------------------------

    def _handle(self, plan_id: str) -> typing.Optional[PlanHandle]:
        return self._active.get(plan_id) or self._finished.get(plan_id)

    def _snapshot(self, plan_id: str) -> typing.Tuple[StepStatus, ...]:
        with self._lock:
            if plan_id in self._scheduler:
                return self._scheduler.snapshot(plan_id)
            handle = self._handle(plan_id)
            return handle._final if handle is not None else ()

    def _register(self, plan: Plan) -> PlanHandle:
        op_ids = [operation_id_for(plan.plan_id, step) for step in plan.steps]
        handle = PlanHandle(plan.plan_id, operation_ids=op_ids,
                            snapshot=lambda: self._snapshot(plan.plan_id),
                            content=_plan_to_dict(plan))
        self._active[plan.plan_id] = handle
        for step, op_id in zip(plan.steps, op_ids):
            self._op_index[op_id] = (plan.plan_id, step.step_id)
        return handle

    def _keep_finished(self, handle: PlanHandle) -> None:
        self._finished[handle.plan_id] = handle
        while len(self._finished) > self._max_finished:
            self._finished.popitem(last=False)

    def _from_journal(self, plan_id: str) -> PlanHandle:
        """Return the handle of a plan the journal knows but memory does not."""
        record = self._journal.plan(plan_id)
        if record is None:
            raise ExecutionError(f'plan {plan_id!r} vanished from the journal',
                                 code=ErrorCode.INTERNAL_ERROR)
        if not record.finished:
            # Journaled by an earlier run and not resumed yet: resume it now rather than
            # run it a second time or leave the caller without an outcome.
            handle = self._restore(record.plan, record.steps)
            if handle is None:
                raise ExecutionError(f'plan {plan_id!r} is journaled but cannot be resumed',
                                     code=ErrorCode.INTERNAL_ERROR)
            self._reconcile_all()
            self._pump()
            return handle
        final = _journaled_statuses(record)
        handle = PlanHandle(plan_id, snapshot=lambda: final, content=record.plan)
        handle._complete(_outcome_from_dict(plan_id, record.outcome), final)
        self._keep_finished(handle)
        return handle

    def _journaled_snapshot(self, plan_id: str,
                            operation_id: str) -> typing.Tuple[StepStatus, ...]:
        """Return the journaled statuses of a plan (the one holding operation_id), or ()."""
        if self._journal is None:
            return ()
        try:
            if operation_id:
                # A plan step's operation is journaled with its plan; a single operation's
                # plan id follows from its id.
                operation = self._journal.operation(operation_id)
                plan_id = operation.plan_id if operation is not None and operation.plan_id \
                    else single_plan_id(operation_id)
            record = self._journal.plan(plan_id)
            return _journaled_statuses(record) if record is not None else ()
        except (TypeError, ValueError, KeyError, ExecutionError) as e:
            self._log('warn', f'query of plan {plan_id!r} from the journal failed: {e}')
            return ()

    # --- internals: scheduling -------------------------------------------------------------

    def _on_step_changed(self, plan_id: str, status: StepStatus) -> None:
        started = (plan_id, status.step_id) in self._sent
        self._journal_call(f'step {plan_id}/{status.step_id} state', lambda: (
            self._journal.record_step_state(
                plan_id, status.step_id, state=int(status.state), attempt=status.attempt,
                operation_id=status.operation_id, code=status.code, message=status.message,
                started=started)))
        self._emit(lambda: self._listener.step_changed(plan_id, status))

    def _pump(self) -> None:
        """Start every ready step; finish ended plans."""
        if self._pumping:
            # A result that arrived synchronously inside a dispatch: the outer loop picks up
            # the steps it made ready, instead of recursing once per result.
            return
        self._pumping = True
        try:
            while True:
                self._process_ended()
                ready = [] if self._hold_reason else self._scheduler.next_ready(self._clock())
                if not ready:
                    break
                for plan_id, step in ready:
                    self._start_attempt(plan_id, step)
        finally:
            self._pumping = False
        self._process_ended()

    def _start_attempt(self, plan_id: str, step: PlanStep) -> None:
        status = self._scheduler.status(plan_id, step.step_id)
        if status.state not in (StepState.PENDING, StepState.RETRYING):
            return
        now = self._clock()
        attempt = _Attempt(plan_id, step, status.operation_id, status.attempt + 1, now)
        try:
            self._breakers.check(step.robot_id, step.operation)
        except CircuitOpenError as e:
            # Fails fast as an attempt: the retry policy decides, no later than the
            # breaker's probe time, or the step becomes a dead letter.
            self._scheduler.mark_running(plan_id, step.step_id, now)
            self._attempts[attempt.key] = attempt
            self._finish_attempt(attempt, Outcome.from_error(e), reached=False,
                                 admitted=False, retry_floor_s=e.retry_at_s)
            return
        if self._journal is not None:
            try:
                # One commit for both; the block ends once it is durable.
                with self._journal.grouped():
                    self._journal.record_operation(
                        status.operation_id, step.robot_id, step.operation,
                        _jsonable(step.parameters), step.safe_to_repeat, plan_id=plan_id,
                        step_id=step.step_id)
                    # Before the send: after a crash the attempt shows as unresolved and the
                    # robot is asked, rather than the step being sent blindly again.
                    self._journal.mark_dispatched(status.operation_id, attempt.attempt)
            except (ExecutionError, ValueError) as e:
                # Not journaled, so not sent: the attempt fails without reaching the robot,
                # which makes a later attempt safe.
                self._scheduler.mark_running(plan_id, step.step_id, now)
                self._attempts[attempt.key] = attempt
                if isinstance(e, BusyError):
                    outcome = Outcome(e.code, f'not journaled: {e}', True)
                else:
                    self._journal_failed(f'dispatch of {status.operation_id}', e)
                    outcome = Outcome(ErrorCode.JOURNAL_UNAVAILABLE,
                                      f'not sent: the journal did not store it: {e}', True)
                self._finish_attempt(attempt, outcome, reached=False)
                return
        self._sent.add(attempt.key)
        self._scheduler.mark_running(plan_id, step.step_id, now)
        self._attempts[attempt.key] = attempt
        self._send(attempt)

    def _send(self, attempt: _Attempt) -> None:
        step = attempt.step
        # A step's own timeout, else 0: the robot executor derives an adaptive deadline from
        # the catalog estimate of this very goal and the robot's state, which the
        # coordinator does not have; a deadline from past durations alone could cut a
        # longer goal short.
        request = DispatchRequest(
            robot_id=step.robot_id, operation=step.operation, params=step.parameters,
            operation_id=attempt.wire_id, priority=step.priority, timeout_s=step.timeout_s)
        try:
            self._dispatcher.dispatch(
                request, on_done=lambda outcome: self._on_attempt_done(attempt, outcome))
        except Exception as e:  # noqa: B902 - a failing seam must still end the attempt
            self._on_attempt_done(attempt, Outcome(
                ErrorCode.COMMUNICATION_FAILURE, f'dispatch failed: {type(e).__name__}: {e}',
                True), reached=False)

    def _on_attempt_done(self, attempt: _Attempt, outcome: Outcome, *,
                         reached: bool = True) -> None:
        with self._entered():
            if self._stopping:
                # Journaled RECONCILING by shutdown(); a restart asks the robot.
                return
            if attempt.done:
                self._log('warn', f'second result for {attempt.wire_id} ignored')
                return
            if reached and is_outcome_unknown(outcome) and \
                    self._attempts.get(attempt.key) is attempt:
                self._lose(attempt, outcome)
            else:
                self._finish_attempt(attempt, outcome, reached=reached)
            self._pump()

    def _repeatable(self, step: PlanStep) -> bool:
        """Return whether the step may be sent again not knowing whether it ran."""
        if step.safe_to_repeat:
            return True
        try:
            return get_operation(step.operation, self._robots[step.robot_id]).safe_to_repeat
        except (KeyError, ExecutionError):
            return False

    def _lose(self, attempt: _Attempt, outcome: Outcome) -> None:
        """Reconcile an attempt whose outcome became unknown by its id, never a new one."""
        step = attempt.step
        self._reconciler.on_lost(outcome)
        now = self._clock()
        attempt.querying = True
        attempt.unknown_since_s = now
        self._log('warn', f'{attempt.wire_id} on {step.robot_id}: outcome unknown '
                          f'({outcome.message}); RECONCILING: asking the robot by that id')
        self._scheduler.mark_reconciling(
            attempt.plan_id, step.step_id, now,
            message=f'outcome unknown ({outcome.message}); asking {step.robot_id} about '
                    f'{attempt.wire_id}')
        self._query_attempt(attempt)

    def _finish_attempt(self, attempt: _Attempt, outcome: Outcome, *, reached: bool,
                        admitted: bool = True, retry_floor_s: float = 0.0) -> None:
        """Apply an attempt's outcome: journal, breakers, durations, then the scheduler."""
        attempt.done = True
        if self._attempts.get(attempt.key) is not attempt:
            self._log('warn', f'result of stale attempt {attempt.wire_id} ignored')
            return
        del self._attempts[attempt.key]
        if self._journal is not None and reached:
            # The result, the step's new state (and a dead letter) in one commit. Events go
            # out only after the engine call returns, so after the block has waited for it.
            try:
                with self._journal.grouped():
                    self._apply_outcome(attempt, outcome, reached=reached, admitted=admitted,
                                        retry_floor_s=retry_floor_s)
            except (ExecutionError, ValueError) as e:
                self._journal_failed(f'result of {attempt.operation_id}', e)
        else:
            self._apply_outcome(attempt, outcome, reached=reached, admitted=admitted,
                                retry_floor_s=retry_floor_s)

    def _apply_outcome(self, attempt: _Attempt, outcome: Outcome, *, reached: bool,
                       admitted: bool, retry_floor_s: float) -> None:
        now = self._clock()
        step = attempt.step
        code = int(outcome.code)
        if reached:
            self._journal_call(f'result of {attempt.operation_id}', lambda: (
                self._journal.mark_operation_result(
                    attempt.operation_id, code, outcome.message, _safe_json(outcome.result))))
            self._breakers.record(step.robot_id, step.operation, code, outcome.message)
        elif admitted:
            # Admitted by the breakers but never sent: give the admission (a half-open
            # probe slot) back.
            self._breakers.release(step.robot_id, step.operation)
        plan_id, step_id = attempt.key
        if code == ErrorCode.NONE:
            elapsed = outcome.elapsed_s if outcome.elapsed_s > 0.0 else now - attempt.started_s
            self._durations.record(step.robot_id, step.operation, elapsed)
            self._scheduler.mark_succeeded(plan_id, step_id, now)
        elif code == ErrorCode.CANCELED:
            self._scheduler.mark_canceled(plan_id, step_id, now,
                                          message=outcome.message or 'canceled')
        else:
            self._apply_failure(plan_id, step, outcome, now, retry_floor_s)

    def _apply_failure(self, plan_id: str, step: PlanStep, outcome: Outcome, now: float,
                       retry_floor_s: float) -> None:
        status = self._scheduler.status(plan_id, step.step_id)
        code = int(outcome.code)
        if plan_id in self._canceled:
            self._scheduler.mark_failed(plan_id, step.step_id, now, code=code,
                                        message=outcome.message, retryable=outcome.retryable)
            return
        if self._hold_reason and code in _HELD_CODES:
            # Ended by the fleet-wide stop, not by its own fault: it runs again on release,
            # which is the operator's decision to go on.
            self._scheduler.mark_failed(
                plan_id, step.step_id, now, code=code, retryable=True, retry_at=now,
                message=f'{outcome.message}; held until the emergency stop is released')
            return
        first_s = status.first_started_s if status.first_started_s is not None else now
        policy = RetryPolicy.from_fields(**dataclasses.asdict(step.retry),
                                         defaults=self._retry_defaults, rng=self._rng)
        decision = policy.decide(attempt=max(1, status.attempt), first_attempt_s=first_s,
                                 now_s=now, code=code, retryable=outcome.retryable)
        if decision.retry:
            retry_at = max(now + decision.delay_s, retry_floor_s)
            self._log('info', f'{status.operation_id} on {step.robot_id}: '
                              f'{code_name(code)}: {outcome.message}; retry at '
                              f't={retry_at:.2f} s ({decision.reason})')
            self._scheduler.mark_failed(plan_id, step.step_id, now, code=code,
                                        message=outcome.message, retryable=True,
                                        retry_at=retry_at)
            return
        # Whether it ran is not known (unreachable past the reconcile deadline, or the robot
        # died while running it): never retried automatically, an operator decides.
        unknown = code in (ErrorCode.OUTCOME_UNKNOWN, ErrorCode.INTERRUPTED)
        if unknown or (outcome.retryable and code not in NON_RETRYABLE_CODES):
            message = outcome.message if unknown else f'{outcome.message} ({decision.reason})'
            record = DeadLetterRecord(
                operation_id=status.operation_id, robot_id=step.robot_id,
                operation=step.operation,
                parameters=json.dumps(_jsonable(step.parameters), sort_keys=True),
                attempts=status.attempt, error_code=code, error_msg=message,
                first_attempt_s=first_s, dead_letter_s=now, plan_id=plan_id,
                step_id=step.step_id)
            try:
                self._dead.add_dead_letter(record)
            except (ExecutionError, ValueError) as e:
                self._journal_failed(f'dead letter {status.operation_id}', e)
            self._log('warn', f'{status.operation_id} on {step.robot_id} is a dead letter '
                              f'after {status.attempt} attempt(s): {code_name(code)}: {message}')
            self._emit(lambda: self._listener.dead_letter_added(record))
            self._scheduler.mark_dead_letter(plan_id, step.step_id, now, code=code,
                                             message=message)
            return
        self._scheduler.mark_failed(plan_id, step.step_id, now, code=code,
                                    message=outcome.message, retryable=outcome.retryable)

    def _cancel_plan(self, plan_id: str, now: float, *, code: int,
                     message: str) -> typing.List[str]:
        before = [s.operation_id for s in self._scheduler.snapshot(plan_id)
                  if s.state not in TERMINAL_STATES]
        self._canceled.add(plan_id)
        running = self._scheduler.cancel_plan(plan_id, now, code=code, message=message)
        for step in running:
            self._cancel_on_robot(plan_id, step)
        return before

    def _cancel_step(self, plan_id: str, step_id: str, now: float) -> typing.List[str]:
        status = self._scheduler.status(plan_id, step_id)
        if status.state in TERMINAL_STATES:
            return []
        if status.state in (StepState.RUNNING, StepState.RECONCILING):
            self._cancel_on_robot(plan_id, self._scheduler.plan(plan_id).step(step_id))
        else:
            self._scheduler.mark_canceled(plan_id, step_id, now, message='canceled')
            self._pump()
        return [status.operation_id]

    def _cancel_on_robot(self, plan_id: str, step: PlanStep) -> None:
        attempt = self._attempts.get((plan_id, step.step_id))
        if attempt is None or attempt.querying:
            # Being reconciled: the cancel is sent once the robot's answer says it runs.
            return
        try:
            self._dispatcher.cancel(step.robot_id, attempt.wire_id)
        except Exception as e:  # noqa: B902 - the other steps must still be canceled
            self._log('error', f'cancel of {attempt.wire_id} on {step.robot_id} failed: {e}')

    # --- internals: plan end and compensation ----------------------------------------------

    def _process_ended(self) -> None:
        while self._ended:
            plan_id, outcome = self._ended.popleft()
            compensations = self._scheduler.compensations(plan_id)
            if not compensations:
                self._finalize(plan_id, outcome)
                continue
            self._log('info', f'plan {plan_id!r} {outcome.state.name}: running '
                              f'{len(compensations)} compensation(s)')
            plan = self._scheduler.plan(plan_id)
            undo = _Undo(plan_id, outcome, plan.priority, [
                (comp, _with_suffix(operation_id_for(plan_id, plan.step(comp.step_id)),
                                    '~undo', _MAX_OPERATION_ID_LENGTH))
                for comp in compensations])
            self._undoing[plan_id] = undo
            self._next_compensation(undo)

    def _next_compensation(self, undo: _Undo) -> None:
        if not undo.remaining:
            del self._undoing[undo.plan_id]
            self._finalize(undo.plan_id, undo.outcome)
            return
        comp, op_id = undo.remaining.popleft()
        # Best effort and not gated by the breakers: undoing (landing) matters most when the
        # robot has been failing. Journaled so a restart does not run it twice: the robot
        # answers a known id with its earlier outcome.
        self._journal_call(f'compensation {op_id}', lambda: (
            self._journal.record_operation(op_id, comp.robot_id, comp.operation,
                                           _jsonable(comp.parameters), False,
                                           plan_id=undo.plan_id, step_id=comp.step_id),
            self._journal.mark_dispatched(op_id, 1)))
        request = DispatchRequest(robot_id=comp.robot_id, operation=comp.operation,
                                  params=comp.parameters, operation_id=op_id,
                                  priority=undo.priority)
        answered = []

        def on_done(outcome: Outcome) -> None:
            with self._entered():
                if answered or self._stopping:
                    return
                answered.append(True)
                self._compensation_done(undo, comp, op_id, outcome)
                self._pump()
        try:
            self._dispatcher.dispatch(request, on_done=on_done)
        except Exception as e:  # noqa: B902 - the remaining compensations must still run
            on_done(Outcome(ErrorCode.COMMUNICATION_FAILURE,
                            f'dispatch failed: {type(e).__name__}: {e}', True))

    def _compensation_done(self, undo: _Undo, comp: Compensation, op_id: str,
                           outcome: Outcome) -> None:
        self._journal_call(f'result of {op_id}', lambda: self._journal.mark_operation_result(
            op_id, int(outcome.code), outcome.message, _safe_json(outcome.result)))
        if outcome.succeeded:
            self._log('info', f'compensation {comp.operation} of step {comp.step_id!r} '
                              f'(plan {undo.plan_id!r}) succeeded')
            try:
                self._scheduler.mark_compensated(undo.plan_id, comp.step_id, self._clock())
            except ExecutionError as e:
                self._log('warn', f'compensated state of {comp.step_id!r} not recorded: {e}')
        else:
            self._log('error', f'compensation {comp.operation} of step {comp.step_id!r} '
                               f'(plan {undo.plan_id!r}) failed: {code_name(outcome.code)}: '
                               f'{outcome.message}')
        self._emit(lambda: self._listener.compensation_done(
            undo.plan_id, comp.step_id, comp.operation, outcome))
        self._next_compensation(undo)

    def _finalize(self, plan_id: str, outcome: PlanOutcome) -> None:
        self._journal_call(f'finish of plan {plan_id}', lambda: self._journal.finish_plan(
            plan_id, _outcome_to_dict(outcome)))
        final = self._scheduler.snapshot(plan_id) if plan_id in self._scheduler else ()
        handle = self._active.pop(plan_id, None)
        self._canceled.discard(plan_id)
        if handle is None:
            return
        for op_id in handle._operation_ids:
            if self._op_index.get(op_id, (None,))[0] == plan_id:
                del self._op_index[op_id]
        for status in final:
            self._sent.discard((plan_id, status.step_id))
        self._keep_finished(handle)
        level = 'info' if outcome.succeeded else 'warn'
        self._log(level, f'plan {plan_id!r} {outcome.state.name}'
                         + (f': {outcome.message}' if outcome.message else ''))
        for callback in handle._complete(outcome, final):
            self._emit(lambda callback=callback: callback(outcome))
        self._emit(lambda: self._listener.plan_finished(plan_id, outcome))

    # --- internals: restart ----------------------------------------------------------------

    def _restore(self, data: typing.Mapping[str, typing.Any],
                 steps: typing.Mapping[str, StepRecord]) -> typing.Optional[PlanHandle]:
        try:
            plan = _plan_from_dict(data)
            if plan.plan_id in self._scheduler:
                return self._handle(plan.plan_id)
            record = self._journal.plan(plan.plan_id)
            states = {step_id: _status_from_record(plan.step(step_id), plan.plan_id, saved)
                      for step_id, saved in steps.items()}
            # A plan canceled before the restart had its pending steps journaled as
            # skipped; only its steps in flight come back, reconciled like any other.
            self._scheduler.restore_plan(plan, states, now=self._clock(),
                                         accepted_s=record.received_s if record else None)
        except (TypeError, ValueError, KeyError, ExecutionError) as e:
            self._log('error', f'journaled plan {data.get("plan_id")!r} not resumed: {e}')
            return None
        for step_id, saved in steps.items():
            if saved.started:
                self._sent.add((plan.plan_id, step_id))
        handle = self._register(plan)
        self._log('info', f'plan {plan.plan_id!r} resumed from the journal')
        return handle

    def _reconcile_all(self) -> None:
        for plan_id, step in self._scheduler.unresolved_steps():
            if (plan_id, step.step_id) in self._attempts:
                continue
            status = self._scheduler.status(plan_id, step.step_id)
            attempt = _Attempt(plan_id, step, status.operation_id, max(1, status.attempt),
                               status.started_s if status.started_s is not None
                               else self._clock())
            attempt.querying = True
            attempt.unknown_since_s = self._clock()
            self._attempts[attempt.key] = attempt
            self._query_attempt(attempt)

    def _query_attempt(self, attempt: _Attempt) -> None:
        attempt.queries += 1
        answered = []

        def on_answer(answer: typing.Optional[QueryAnswer],
                      failure: typing.Optional[Outcome]) -> None:
            with self._entered():
                if answered or self._stopping:
                    return
                answered.append(True)
                self._on_answer(attempt, answer, failure)
                self._pump()
        try:
            self._dispatcher.query(attempt.step.robot_id, attempt.wire_id, on_answer)
        except Exception as e:  # noqa: B902 - an unreachable robot is asked again later
            on_answer(None, Outcome(ErrorCode.COMMUNICATION_FAILURE,
                                    f'query failed: {type(e).__name__}: {e}', True))

    def _on_answer(self, attempt: _Attempt, answer: typing.Optional[QueryAnswer],
                   failure: typing.Optional[Outcome]) -> None:
        if self._attempts.get(attempt.key) is not attempt or not attempt.querying:
            return
        step = attempt.step
        now = self._clock()
        decision = self._reconciler.on_answer(
            answer.state if answer is not None else None,
            answer.outcome if answer is not None else None, failure,
            safe_to_repeat=self._repeatable(step), unknown_since_s=attempt.unknown_since_s,
            now_s=now, resends=attempt.resends,
            what=f'{step.operation} {attempt.wire_id} on {step.robot_id}')
        where = f'{attempt.wire_id} on {step.robot_id}'
        if decision.action is Action.ASK_AGAIN:
            self._log('warn', f'{where}: robot cannot be asked ({decision.reason}); asking '
                              f'again at t={decision.ask_at_s:.2f} s')
            self._requery.append((decision.ask_at_s, attempt))
            return
        if decision.action is Action.END:
            self._log('info', f'{where}: the robot reports {code_name(decision.outcome.code)}; '
                              f'the step ends with it')
            self._finish_attempt(attempt, decision.outcome, reached=True)
            return
        if decision.action in (Action.GIVE_UP, Action.REPEAT):
            level = 'error' if decision.action is Action.GIVE_UP else 'info'
            self._log(level, f'{where}: {decision.outcome.message}')
            self._finish_attempt(attempt, decision.outcome, reached=True)
            return
        # RESEND: the same id attaches to the running operation, or (never seen by the
        # robot, whose record of ids is durable) is its first run.
        self._log('info', f'{where}: {decision.reason}')
        attempt.querying = False
        attempt.resends += 1
        self._scheduler.mark_running(attempt.plan_id, step.step_id, now, resumed=True)
        self._send(attempt)
        if attempt.plan_id in self._canceled and not attempt.done:
            self._cancel_on_robot(attempt.plan_id, step)

    def _retry_id(self, operation_id: str) -> str:
        base, _, count = operation_id.rpartition('~retry')
        number = int(count) + 1 if base and count.isdigit() else 1
        base = base if base and count.isdigit() else operation_id
        return _with_suffix(base, f'~retry{number}', _MAX_OPERATION_ID_LENGTH)


def _safe_json(value: typing.Any) -> typing.Any:
    """Return result fields as JSON data, or their text when they cannot be (for the log)."""
    try:
        return _jsonable(value)
    except ExecutionError:
        return {'text': repr(value)[:1000]}
