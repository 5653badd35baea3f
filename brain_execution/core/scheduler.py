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
Scheduling of fleet plans: which step starts next, and what each step's state is.

:class:`PlanScheduler` is a pure state machine over one or many plans: no threads, no I/O,
no clock of its own (every call takes ``now``, in the caller's clock, e.g. ROS time so that
it follows sim time and survives a restart). The coordinator drives it::

    scheduler.add_plan(plan, now)
    for plan_id, step in scheduler.next_ready(now):
        scheduler.mark_running(plan_id, step.step_id, now)
        ...send the goal...
    # when a result arrives:
    scheduler.mark_succeeded(plan_id, step_id, now)      # or mark_failed / mark_canceled

Rules:

* A step is ready when every step in its ``depends_on`` SUCCEEDED (or, in RETRYING, when its
  ``retry_at`` has come). Ready steps start by (plan priority, step priority, both highest
  first; then plan submission order, then the plan's topological order).
* Limits: the scheduler's ``max_concurrency`` over all plans, each plan's own
  ``max_concurrency`` (never above the scheduler's), and ``max_per_robot`` steps per robot.
  The default of one step per robot keeps the coordinator simple: the robot executor runs a
  single motion at a time and preempts by priority, and although sensing and communication
  steps could run alongside a motion, the coordinator does not try to pair them.
* A step that fails terminally (FAILED, DEAD_LETTER, CANCELED) skips its transitive
  dependents with ``dependency '<id>' failed: <CODE>``; independent branches go on. The plan
  ends when no step can change any more: SUCCEEDED when every step did, otherwise FAILED (or
  CANCELED) with the first failure's step and message.
* Whether and when to retry is the caller's policy; the scheduler only records ``retry_at``.
* Steps in RUNNING or RECONCILING (outcome unknown: restored after a stop or crash, or the
  link to the robot lost) hold their slot: the robot may still be moving.
* Memory is bounded: ``max_pending_steps`` unfinished steps (intake beyond raises
  :class:`~brain_execution.core.errors.BusyError`), and at most ``max_finished_plans`` ended
  plans kept for queries, oldest dropped first, unless :meth:`PlanScheduler.forget` drops
  them earlier. Read :meth:`PlanScheduler.compensations` when a plan ends.

Every state change follows :data:`~brain_execution.core.step_state.TRANSITIONS`. Misuse (an
unknown plan or step, a transition the table does not allow) raises
:class:`~brain_execution.core.errors.ExecutionError` with code INTERNAL_ERROR.
"""

import collections
import dataclasses
import math
import typing

from .errors import BusyError, code_name, ErrorCode, ExecutionError
from .plan import operation_id_for, Plan, PlanStep, topological_order
from .step_state import (
    ACTIVE_STATES as _ACTIVE, FAILURE_STATES as _FAILURES, IllegalTransition, StepEvent,
    StepState, TERMINAL_STATES, transition)

__all__ = [
    'Compensation',
    'PlanOutcome',
    'PlanScheduler',
    'SchedulerListener',
    'StepState',
    'StepStatus',
    'TERMINAL_STATES',
]


@dataclasses.dataclass(frozen=True)
class StepStatus:
    """
    One step's state, as OperationStatus reports it.

    :param step_id: The step.
    :param robot_id: Its robot.
    :param operation: Its operation.
    :param operation_id: Its idempotency key (derived when the step has none).
    :param state: Current state.
    :param attempt: Attempts started so far (1 for the first).
    :param code: ErrorCode of the last attempt or of the skip; 0 while running or on success.
    :param message: Why it failed, was skipped or canceled; empty otherwise.
    :param retryable: Whether the last failure was retryable.
    :param first_started_s: When the first attempt started; None before.
    :param started_s: When the current (last) attempt started; None before.
    :param ended_s: When it reached a terminal state; None before.
    :param retry_at: In RETRYING, when the next attempt may start.
    :param updated_s: When the state last changed.
    """

    step_id: str
    robot_id: str
    operation: str
    operation_id: str
    state: StepState
    attempt: int = 0
    code: int = ErrorCode.NONE
    message: str = ''
    retryable: bool = False
    first_started_s: typing.Optional[float] = None
    started_s: typing.Optional[float] = None
    ended_s: typing.Optional[float] = None
    retry_at: typing.Optional[float] = None
    updated_s: typing.Optional[float] = None

    def elapsed_s(self, now: float) -> float:
        """Return seconds since the first attempt started (0 while pending)."""
        if self.first_started_s is None:
            return 0.0
        end = now if self.ended_s is None else self.ended_s
        return max(0.0, end - self.first_started_s)


@dataclasses.dataclass(frozen=True)
class PlanOutcome:
    """
    How a plan ended.

    :param plan_id: The plan.
    :param state: SUCCEEDED, FAILED or CANCELED.
    :param code: ErrorCode.NONE on success, else the first failure's code.
    :param message: Empty on success, else the first failure, naming its step.
    :param retryable: Whether the first failure was retryable.
    :param step_id: Step of the first failure; empty on success or a plan-level cancel.
    :param accepted_s: When the plan was added.
    :param ended_s: When its last step ended.
    """

    plan_id: str
    state: StepState
    code: int = ErrorCode.NONE
    message: str = ''
    retryable: bool = False
    step_id: str = ''
    accepted_s: float = 0.0
    ended_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.state is StepState.SUCCEEDED


@dataclasses.dataclass(frozen=True)
class Compensation:
    """
    An operation that undoes a completed step, on the step's robot.

    :param plan_id: The plan.
    :param step_id: The step it undoes; pass it to :meth:`PlanScheduler.mark_compensated`.
    :param robot_id: Where to run it.
    :param operation: What to run, e.g. ``'land'``.
    :param parameters: Its goal fields.
    """

    plan_id: str
    step_id: str
    robot_id: str
    operation: str
    parameters: typing.Mapping[str, typing.Any] = dataclasses.field(hash=False)


class SchedulerListener:
    """
    Receives every change, e.g. to journal it and publish events; methods do nothing here.

    Calls happen synchronously inside the scheduler's methods, after the change is complete;
    a listener must not raise and must not call back into the scheduler.
    """

    def step_changed(self, plan_id: str, status: StepStatus) -> None:
        """Call after a step changed state."""

    def plan_finished(self, plan_id: str, outcome: PlanOutcome) -> None:
        """Call after a plan's last step ended."""


class _Step:
    """Mutable bookkeeping of one step."""

    __slots__ = ('plan_id', 'step', 'index', 'topo', 'operation_id', 'state', 'attempt',
                 'code', 'message', 'retryable', 'first_started_s', 'started_s', 'ended_s',
                 'retry_at', 'updated_s', 'unmet', 'completed_seq')

    def __init__(self, plan_id: str, step: PlanStep, index: int, topo: int,
                 operation_id: str):
        # The plan's id rather than the plan: no reference cycle for the collector to break.
        self.plan_id = plan_id
        self.step = step
        self.index = index
        self.topo = topo
        self.operation_id = operation_id
        self.state = StepState.PENDING
        self.attempt = 0
        self.code = int(ErrorCode.NONE)
        self.message = ''
        self.retryable = False
        self.first_started_s = None
        self.started_s = None
        self.ended_s = None
        self.retry_at = None
        self.updated_s = None
        # Dependencies that have not succeeded yet; ready at zero.
        self.unmet = 0
        self.completed_seq = None

    @property
    def step_id(self) -> str:
        return self.step.step_id

    def status(self) -> StepStatus:
        return StepStatus(
            step_id=self.step.step_id, robot_id=self.step.robot_id,
            operation=self.step.operation, operation_id=self.operation_id, state=self.state,
            attempt=self.attempt, code=self.code, message=self.message,
            retryable=self.retryable, first_started_s=self.first_started_s,
            started_s=self.started_s, ended_s=self.ended_s, retry_at=self.retry_at,
            updated_s=self.updated_s)


class _Plan:
    """Mutable bookkeeping of one plan."""

    def __init__(self, plan: Plan, seq: int, accepted_s: float):
        self.plan = plan
        self.seq = seq
        self.accepted_s = accepted_s
        order = topological_order(plan)
        topo = {step.step_id: position for position, step in enumerate(order)}
        self.steps: typing.Dict[str, _Step] = {
            step.step_id: _Step(plan.plan_id, step, index, topo[step.step_id],
                                operation_id_for(plan.plan_id, step))
            for index, step in enumerate(plan.steps)}
        self.dependents: typing.Dict[str, typing.List[str]] = collections.defaultdict(list)
        for step in plan.steps:
            for dep in dict.fromkeys(step.depends_on):
                self.dependents[dep].append(step.step_id)
        self.ready: typing.Set[str] = set()
        self.retrying: typing.Set[str] = set()
        self.active = 0
        self.unfinished = len(plan.steps)
        self.canceled = False
        # (step_id, code, message, retryable) of the first failure, or of the plan cancel.
        self.failure: typing.Optional[typing.Tuple[str, int, str, bool]] = None
        self.outcome: typing.Optional[PlanOutcome] = None

    def limit(self, global_limit: int) -> int:
        own = self.plan.max_concurrency
        return min(own, global_limit) if own else global_limit


class PlanScheduler:
    """
    Plans, their steps' states, and the order in which ready steps start.

    :param max_concurrency: Steps running at once over all plans, at least 1.
    :param max_per_robot: Steps running at once on one robot, at least 1.
    :param max_pending_steps: Unfinished steps over all plans; :meth:`add_plan` beyond it
        raises BusyError.
    :param max_finished_plans: Ended plans kept for queries, at least 1; the oldest is
        dropped when one more ends.
    :param listener: Told about every step change and plan end.
    :raises ValueError: When a limit is out of range.
    """

    def __init__(self, *, max_concurrency: int = 16, max_per_robot: int = 1,
                 max_pending_steps: int = 10000, max_finished_plans: int = 100,
                 listener: typing.Optional[SchedulerListener] = None):
        for name, value in (('max_concurrency', max_concurrency),
                            ('max_per_robot', max_per_robot),
                            ('max_pending_steps', max_pending_steps),
                            ('max_finished_plans', max_finished_plans)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'{name}={value!r} must be an integer of at least 1')
        self.max_concurrency = max_concurrency
        self.max_per_robot = max_per_robot
        self.max_pending_steps = max_pending_steps
        self.max_finished_plans = max_finished_plans
        self._listener = listener or SchedulerListener()
        # Insertion order is submission order: next_ready and the listings rely on it.
        self._active: typing.Dict[str, _Plan] = {}
        self._finished: 'collections.OrderedDict[str, _Plan]' = collections.OrderedDict()
        self._seq = 0
        self._completions = 0
        self._unfinished_total = 0
        self._active_total = 0
        self._active_by_robot: typing.Counter[str] = collections.Counter()

    # --- intake ----------------------------------------------------------------------------

    @property
    def pending_step_count(self) -> int:
        """Unfinished steps over all plans (what ``max_pending_steps`` bounds)."""
        return self._unfinished_total

    def __contains__(self, plan_id: str) -> bool:
        return plan_id in self._active or plan_id in self._finished

    def add_plan(self, plan: Plan, now: float) -> None:
        """
        Accept a plan; its steps start through :meth:`next_ready`.

        Validate it with :func:`~brain_execution.core.plan.validate_plan` first: here only
        the structure the scheduler relies on is checked. Idempotency (the same plan id sent
        twice) is the caller's: a known plan id is refused.

        :param plan: The plan.
        :param now: Acceptance time; the plan's ``timeout_s`` counts from it.
        :raises BusyError: When its steps would exceed ``max_pending_steps``.
        :raises ExecutionError: INVALID_PLAN when the plan id is known (running or
            remembered) or the steps are not a DAG with unique ids.
        """
        if plan.plan_id in self:
            raise ExecutionError(f'plan {plan.plan_id!r} is already known to the scheduler',
                                 code=ErrorCode.INVALID_PLAN)
        count = len(plan.steps)
        if self._unfinished_total + count > self.max_pending_steps:
            raise BusyError(
                f'plan {plan.plan_id!r} refused: it adds {count} steps to '
                f'{self._unfinished_total} unfinished, limit {self.max_pending_steps}; '
                f'retry when running plans have ended')
        record = _Plan(plan, self._next_seq(), now)
        for step in record.steps.values():
            step.unmet = len(set(step.step.depends_on))
            if step.unmet == 0:
                record.ready.add(step.step.step_id)
        self._active[plan.plan_id] = record
        self._unfinished_total += count
        self._check_finished(record, now)

    def restore_plan(self, plan: Plan,
                     step_states: typing.Mapping[str, typing.Union[StepStatus, StepState, int]],
                     *, now: float, accepted_s: typing.Optional[float] = None,
                     canceled: bool = False) -> None:
        """
        Rebuild a plan from journaled step states after a restart.

        Steps that were RUNNING come back as RECONCILING (see :meth:`unresolved_steps`): the
        robot may have finished them, or may still be moving. Steps absent from
        ``step_states`` are PENDING. PENDING steps behind a failed or skipped dependency are
        skipped again. ``max_pending_steps`` does not apply: a restart must not lose work.

        :param plan: The plan as it was accepted.
        :param step_states: Journaled state per step id: a :class:`StepStatus` (attempts,
            codes, times and ``retry_at`` kept) or just a state. ``retry_at`` is in the
            caller's clock; None retries at once.
        :param now: Current time.
        :param accepted_s: When the plan was first accepted (for its timeout); default now.
        :param canceled: The plan had been canceled: nothing new starts.
        :raises ExecutionError: INVALID_PLAN when the plan id is known or the steps are not a
            DAG; INTERNAL_ERROR when ``step_states`` names an unknown step or state.
        """
        if plan.plan_id in self:
            raise ExecutionError(f'plan {plan.plan_id!r} is already known to the scheduler',
                                 code=ErrorCode.INVALID_PLAN)
        record = _Plan(plan, self._next_seq(), now if accepted_s is None else accepted_s)
        unknown = sorted(str(step_id) for step_id in step_states
                         if step_id not in record.steps)
        if unknown:
            raise ExecutionError(f'plan {plan.plan_id!r}: journal names unknown step(s) '
                                 f'{", ".join(unknown)}', code=ErrorCode.INTERNAL_ERROR)
        failures = []
        # Steps whose state the restore changed (RUNNING -> RECONCILING), for the listener.
        changed = []
        for step_id, saved in step_states.items():
            step = record.steps[step_id]
            if self._restore_step(record, step, saved, now):
                changed.append(step)
            if step.state in _FAILURES:
                failures.append(step)
        for step in record.steps.values():
            step.unmet = sum(1 for dep in set(step.step.depends_on)
                             if record.steps[dep].state is not StepState.SUCCEEDED)
            if step.state in TERMINAL_STATES:
                record.unfinished -= 1
            elif step.state in _ACTIVE:
                record.active += 1
                self._active_total += 1
                self._active_by_robot[step.step.robot_id] += 1
            elif step.state is StepState.RETRYING:
                record.retrying.add(step.step_id)
            elif step.unmet == 0:
                record.ready.add(step.step_id)
        self._active[plan.plan_id] = record
        self._unfinished_total += record.unfinished
        for step in changed:
            self._notify(record, step)
        # The earliest recorded failure is the plan's first one.
        failures.sort(key=lambda s: (math.inf if s.ended_s is None else s.ended_s, s.index))
        if failures:
            first = failures[0]
            record.failure = (first.step.step_id, first.code,
                              self._failure_message(first), first.retryable)
        # Steps skipped in the journal and steps behind journaled failures skip their pending
        # dependents (the journal may have been cut between the two writes).
        for step in sorted(record.steps.values(), key=lambda s: s.topo):
            if step.state in _FAILURES:
                self._skip_dependents(record, step, now,
                                      f'dependency {step.step_id!r} failed: '
                                      f'{code_name(step.code)}', ErrorCode.DEPENDENCY_FAILED)
            elif step.state is StepState.SKIPPED:
                self._skip_dependents(record, step, now, step.message or 'skipped',
                                      step.code or ErrorCode.DEPENDENCY_FAILED)
        if canceled:
            self.cancel_plan(plan.plan_id, now)
        else:
            self._check_finished(record, now)

    def _restore_step(self, record: _Plan, step: _Step, saved: typing.Any,
                      now: float) -> bool:
        """Set a step from its journaled state; return whether the state differs from it."""
        status = saved if isinstance(saved, StepStatus) else None
        try:
            state = StepState(status.state if status else saved)
        except ValueError as e:
            raise ExecutionError(f'plan {record.plan.plan_id!r} step {step.step_id!r}: '
                                 f'journaled state {saved!r} is not a StepState',
                                 code=ErrorCode.INTERNAL_ERROR) from e
        if status is not None:
            step.attempt = status.attempt
            step.code = status.code
            step.message = status.message
            step.retryable = status.retryable
            step.first_started_s = status.first_started_s
            step.started_s = status.started_s
            step.ended_s = status.ended_s
            step.retry_at = status.retry_at
            step.updated_s = status.updated_s
        changed = state in (StepState.RUNNING, StepState.UNKNOWN)
        if state in (StepState.RUNNING, StepState.UNKNOWN, StepState.RECONCILING):
            state = StepState.RECONCILING
            if changed or not step.message:
                step.message = 'outcome unknown after a coordinator restart; ask the robot'
            step.updated_s = now
        if state is StepState.RETRYING and step.retry_at is None:
            step.retry_at = -math.inf
        if state in (StepState.SUCCEEDED, StepState.COMPENSATED):
            # Journaled completions keep their relative order for compensation.
            self._completions += 1
            step.completed_seq = (-math.inf if step.ended_s is None else step.ended_s,
                                  self._completions)
        step.state = state
        return changed

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- scheduling ------------------------------------------------------------------------

    def next_ready(self, now: float, *,
                   robot_load: typing.Optional[typing.Mapping[str, int]] = None
                   ) -> typing.List[typing.Tuple[str, PlanStep]]:
        """
        Return the steps to start now, best first, within every concurrency limit.

        A pure query: the caller starts them and calls :meth:`mark_running` for each;
        a step not marked is returned again by the next call.

        :param now: Current time; RETRYING steps whose ``retry_at`` has come are ready.
        :param robot_load: Operations per robot running outside any plan (e.g. single
            operations through the coordinator), counted against ``max_per_robot``.
        :return: (plan_id, step) pairs.
        """
        candidates = []
        for record in self._active.values():
            if record.canceled:
                continue
            for step_id in record.ready:
                candidates.append(record.steps[step_id])
            for step_id in record.retrying:
                step = record.steps[step_id]
                if step.retry_at <= now:
                    candidates.append(step)
        if not candidates:
            return []
        plans = self._active
        candidates.sort(key=lambda step: (
            -plans[step.plan_id].plan.priority, -step.step.priority, plans[step.plan_id].seq,
            step.topo))
        total = self._active_total
        per_robot = collections.Counter(self._active_by_robot)
        for robot_id, load in (robot_load or {}).items():
            per_robot[robot_id] += load
        per_plan = {}
        chosen = []
        for step in candidates:
            if total >= self.max_concurrency:
                break
            record = plans[step.plan_id]
            running = per_plan.get(record.plan.plan_id, record.active)
            if running >= record.limit(self.max_concurrency):
                continue
            robot_id = step.step.robot_id
            if per_robot[robot_id] >= self.max_per_robot:
                continue
            chosen.append((record.plan.plan_id, step.step))
            total += 1
            per_robot[robot_id] += 1
            per_plan[record.plan.plan_id] = running + 1
        return chosen

    def next_retry_at(self) -> typing.Optional[float]:
        """Return the earliest ``retry_at`` of a RETRYING step, to set a timer; None if none."""
        times = [record.steps[step_id].retry_at for record in self._active.values()
                 if not record.canceled for step_id in record.retrying]
        return min(times) if times else None

    def overdue_plans(self, now: float) -> typing.Tuple[str, ...]:
        """
        Return the running plans whose ``timeout_s`` has passed and that are not canceled.

        The caller cancels them, e.g. ``cancel_plan(plan_id, now, code=ErrorCode.TIMEOUT,
        message=...)``, and cancels the steps that returns.
        """
        return tuple(
            plan_id for plan_id, record in self._active.items()
            if not record.canceled and record.plan.timeout_s
            and now >= record.accepted_s + record.plan.timeout_s)

    # --- transitions -----------------------------------------------------------------------

    def mark_running(self, plan_id: str, step_id: str, now: float, *,
                     resumed: bool = False) -> None:
        """
        Record that a step's attempt started (from PENDING or RETRYING), or resumed.

        Capacity is :meth:`next_ready`'s business and is not checked here, so that a step
        found still running on its robot after a restart can always be recorded.

        :param resumed: From RECONCILING only: the robot still runs the same attempt, or never
            saw it, and the same id is sent again, so the attempt count stays.
        :raises ExecutionError: INTERNAL_ERROR when the step is in another state, its
            dependencies have not all succeeded, or its plan was canceled (a canceled plan's
            RECONCILING step may only be resumed).
        """
        record, step = self._lookup(plan_id, step_id)
        self._expect(record, step, StepEvent.RESUME if resumed else StepEvent.START)
        if record.canceled and not resumed:
            self._misuse(record, step, 'run: the plan was canceled')
        if step.state is not StepState.RECONCILING:
            if step.unmet:
                self._misuse(record, step, f'run before its dependencies succeeded '
                                           f'({step.unmet} outstanding)')
            self._enter_active(record, step)
        record.ready.discard(step_id)
        record.retrying.discard(step_id)
        if not resumed:
            step.attempt += 1
            step.started_s = now
            if step.first_started_s is None:
                step.first_started_s = now
        step.state = StepState.RUNNING
        step.code, step.message, step.retryable = int(ErrorCode.NONE), '', False
        step.retry_at = None
        step.updated_s = now
        self._notify(record, step)

    def mark_succeeded(self, plan_id: str, step_id: str,
                       now: float) -> typing.Optional[PlanOutcome]:
        """
        Record that a step succeeded (from RUNNING or RECONCILING); its dependents may start.

        :return: The plan's outcome if this ended the plan, else None.
        """
        record, step = self._lookup(plan_id, step_id)
        self._expect(record, step, StepEvent.SUCCEED)
        self._leave_active(record, step)
        step.code, step.message, step.retryable = int(ErrorCode.NONE), '', False
        self._completions += 1
        step.completed_seq = (now, self._completions)
        self._end(record, step, StepState.SUCCEEDED, now)
        for dependent_id in record.dependents.get(step_id, ()):
            dependent = record.steps[dependent_id]
            dependent.unmet -= 1
            if dependent.unmet == 0 and dependent.state is StepState.PENDING \
                    and not record.canceled:
                record.ready.add(dependent_id)
        return self._check_finished(record, now)

    def mark_failed(self, plan_id: str, step_id: str, now: float, *, code: int, message: str,
                    retryable: bool = False,
                    retry_at: typing.Optional[float] = None) -> typing.Optional[PlanOutcome]:
        """
        Record that an attempt failed (from RUNNING or RECONCILING).

        With ``retry_at`` the step waits in RETRYING and is ready again at that time; without
        it (or once the plan was canceled) it is FAILED and its dependents are skipped.

        :param code: ErrorCode (or operation code) of the attempt.
        :param message: Why, naming the field.
        :param retryable: Whether the result was retryable.
        :param retry_at: When to try again, in the caller's clock; None = do not retry.
        :return: The plan's outcome if this ended the plan, else None.
        """
        record, step = self._lookup(plan_id, step_id)
        retry = retry_at is not None and not record.canceled
        self._expect(record, step, StepEvent.RETRY if retry else StepEvent.FAIL)
        self._leave_active(record, step)
        step.code, step.message, step.retryable = int(code), str(message), bool(retryable)
        if retry:
            step.state = StepState.RETRYING
            step.retry_at = float(retry_at)
            step.updated_s = now
            record.retrying.add(step_id)
            self._notify(record, step)
            return None
        return self._fail(record, step, StepState.FAILED, now)

    def mark_dead_letter(self, plan_id: str, step_id: str, now: float, *,
                         code: typing.Optional[int] = None,
                         message: typing.Optional[str] = None) -> typing.Optional[PlanOutcome]:
        """
        Record that a step's retries are exhausted (from RUNNING, RECONCILING, RETRYING or FAILED).

        :param code: Final code; None keeps the last attempt's.
        :param message: Final message; None keeps the last attempt's.
        :return: The plan's outcome if this ended the plan, else None.
        """
        record, step = self._lookup(plan_id, step_id)
        self._expect(record, step, StepEvent.DEAD_LETTER)
        if code is not None:
            step.code = int(code)
        if message is not None:
            step.message = str(message)
        if step.state is StepState.FAILED:
            # Already ended and its dependents skipped: only the label changes.
            step.state = StepState.DEAD_LETTER
            step.updated_s = now
            self._notify(record, step)
            return None
        self._leave_active(record, step)
        record.retrying.discard(step_id)
        return self._fail(record, step, StepState.DEAD_LETTER, now)

    def mark_canceled(self, plan_id: str, step_id: str, now: float, *,
                      message: str = 'canceled') -> typing.Optional[PlanOutcome]:
        """
        Record that a step was canceled (from PENDING, RUNNING, RETRYING or RECONCILING).

        Its dependents are skipped. Unless the plan itself was canceled, the plan fails with
        this step as its first failure (code CANCELED).

        :return: The plan's outcome if this ended the plan, else None.
        """
        record, step = self._lookup(plan_id, step_id)
        self._expect(record, step, StepEvent.CANCEL)
        self._leave_active(record, step)
        record.ready.discard(step_id)
        record.retrying.discard(step_id)
        step.code, step.message, step.retryable = int(ErrorCode.CANCELED), str(message), False
        return self._fail(record, step, StepState.CANCELED, now)

    def mark_reconciling(self, plan_id: str, step_id: str, now: float, *,
                         message: str = 'outcome unknown; ask the robot') -> None:
        """
        Record that a step's outcome is unknown (e.g. the robot's link was lost).

        It keeps its slot until the caller records what the robot says, and is never sent
        again under a new id from here: only resumed (same id) or ended.
        """
        record, step = self._lookup(plan_id, step_id)
        self._expect(record, step, StepEvent.LOSE)
        step.state = StepState.RECONCILING
        step.message = str(message)
        step.updated_s = now
        self._notify(record, step)

    def mark_compensated(self, plan_id: str, step_id: str, now: float) -> None:
        """Record that a SUCCEEDED step's compensation succeeded."""
        record, step = self._lookup(plan_id, step_id)
        self._expect(record, step, StepEvent.COMPENSATE)
        step.state = StepState.COMPENSATED
        step.updated_s = now
        self._notify(record, step)

    def cancel_plan(self, plan_id: str, now: float, *, code: int = ErrorCode.CANCELED,
                    message: str = 'plan canceled') -> typing.Tuple[PlanStep, ...]:
        """
        Cancel a plan: nothing new starts, pending steps are SKIPPED, waiting retries CANCELED.

        An ended plan is left as it is. The plan ends once the returned steps report back
        (through :meth:`mark_canceled`, or whatever their robots answer). If a step had
        already failed, that first failure stays the plan's outcome.

        :param code: The plan's outcome code: CANCELED, or e.g. TIMEOUT for an overdue plan.
        :param message: Why, recorded on the skipped steps and in the outcome.
        :return: Steps in RUNNING or RECONCILING, for the caller to cancel on their robots.
        """
        record = self._active.get(plan_id)
        if record is None:
            if plan_id in self._finished:
                return ()
            raise self._unknown_plan(plan_id)
        if record.canceled:
            return tuple(step.step for step in record.steps.values() if step.state in _ACTIVE)
        record.canceled = True
        if record.failure is None:
            record.failure = ('', int(code), str(message), False)
        running = []
        for step in sorted(record.steps.values(), key=lambda s: s.index):
            if step.state is StepState.PENDING:
                step.code, step.message = int(code), str(message)
                self._end(record, step, StepState.SKIPPED, now)
            elif step.state is StepState.RETRYING:
                step.code, step.message = int(code), str(message)
                self._end(record, step, StepState.CANCELED, now)
            elif step.state in _ACTIVE:
                running.append(step.step)
        record.ready.clear()
        record.retrying.clear()
        self._check_finished(record, now)
        return tuple(running)

    # --- queries ---------------------------------------------------------------------------

    def plan(self, plan_id: str) -> Plan:
        """Return a known plan; raise ExecutionError (INTERNAL_ERROR) if unknown."""
        return self._record(plan_id).plan

    def active_plan_ids(self) -> typing.Tuple[str, ...]:
        """Return the plans that have not ended, in submission order."""
        return tuple(self._active)

    def finished_plan_ids(self) -> typing.Tuple[str, ...]:
        """Return the remembered ended plans, oldest end first."""
        return tuple(self._finished)

    def outcome(self, plan_id: str) -> typing.Optional[PlanOutcome]:
        """Return how a plan ended, or None while it runs."""
        return self._record(plan_id).outcome

    def status(self, plan_id: str, step_id: str) -> StepStatus:
        """Return one step's status."""
        return self._lookup(plan_id, step_id)[1].status()

    def snapshot(self, plan_id: str) -> typing.Tuple[StepStatus, ...]:
        """Return every step's status, in plan order."""
        record = self._record(plan_id)
        return tuple(record.steps[step.step_id].status() for step in record.plan.steps)

    def unresolved_steps(self) -> typing.Tuple[typing.Tuple[str, PlanStep], ...]:
        """Return (plan_id, step) for every RECONCILING step, to reconcile."""
        return tuple((plan_id, step.step) for plan_id, record in self._active.items()
                     for step in sorted(record.steps.values(), key=lambda s: s.index)
                     if step.state is StepState.RECONCILING)

    def compensations(self, plan_id: str) -> typing.Tuple[Compensation, ...]:
        """
        Return what undoes a failed or canceled plan's completed steps, last completed first.

        Empty while the plan runs (undoing a step while others still move is unsafe), when it
        succeeded, when its ``compensate`` is false, and for steps already compensated or
        without a compensation.
        """
        record = self._record(plan_id)
        if record.outcome is None or record.outcome.succeeded or not record.plan.compensate:
            return ()
        done = [step for step in record.steps.values()
                if step.state is StepState.SUCCEEDED and step.step.compensation_operation]
        done.sort(key=lambda s: s.completed_seq, reverse=True)
        return tuple(Compensation(plan_id, s.step.step_id, s.step.robot_id,
                                  s.step.compensation_operation,
                                  s.step.compensation_parameters) for s in done)

    def forget(self, plan_id: str) -> bool:
        """
        Drop an ended plan.

        :return: True if it was remembered, False if unknown.
        :raises ExecutionError: INTERNAL_ERROR when the plan has not ended.
        """
        if plan_id in self._active:
            raise ExecutionError(f'plan {plan_id!r} has not ended; cancel it first',
                                 code=ErrorCode.INTERNAL_ERROR)
        return self._finished.pop(plan_id, None) is not None

    # --- internals -------------------------------------------------------------------------

    def _record(self, plan_id: str) -> _Plan:
        record = self._active.get(plan_id) or self._finished.get(plan_id)
        if record is None:
            raise self._unknown_plan(plan_id)
        return record

    @staticmethod
    def _unknown_plan(plan_id: str) -> ExecutionError:
        return ExecutionError(f'unknown plan {plan_id!r} (never added, or forgotten)',
                              code=ErrorCode.INTERNAL_ERROR)

    def _lookup(self, plan_id: str, step_id: str) -> typing.Tuple[_Plan, _Step]:
        record = self._record(plan_id)
        step = record.steps.get(step_id)
        if step is None:
            raise ExecutionError(f'plan {plan_id!r} has no step {step_id!r}',
                                 code=ErrorCode.INTERNAL_ERROR)
        return record, step

    def _expect(self, record: _Plan, step: _Step, event: StepEvent) -> None:
        try:
            transition(step.state, event)
        except IllegalTransition as e:
            self._misuse(record, step, str(e))

    @staticmethod
    def _misuse(record: _Plan, step: _Step, what: str) -> None:
        raise ExecutionError(f'plan {record.plan.plan_id!r} step {step.step_id!r} is '
                             f'{step.state.name}; cannot {what}', code=ErrorCode.INTERNAL_ERROR)

    def _enter_active(self, record: _Plan, step: _Step) -> None:
        record.active += 1
        self._active_total += 1
        self._active_by_robot[step.step.robot_id] += 1

    def _leave_active(self, record: _Plan, step: _Step) -> None:
        if step.state not in _ACTIVE:
            return
        record.active -= 1
        self._active_total -= 1
        robot_id = step.step.robot_id
        self._active_by_robot[robot_id] -= 1
        if self._active_by_robot[robot_id] <= 0:
            # Robots come and go; a zero entry per robot ever seen would grow without bound.
            del self._active_by_robot[robot_id]

    def _end(self, record: _Plan, step: _Step, state: StepState, now: float) -> None:
        """Move a non-terminal step to a terminal state."""
        step.state = state
        step.ended_s = now
        step.updated_s = now
        step.retry_at = None
        record.unfinished -= 1
        self._unfinished_total -= 1
        self._notify(record, step)

    def _fail(self, record: _Plan, step: _Step, state: StepState,
              now: float) -> typing.Optional[PlanOutcome]:
        self._end(record, step, state, now)
        if record.failure is None:
            record.failure = (step.step.step_id, step.code, self._failure_message(step),
                              step.retryable)
        self._skip_dependents(record, step, now,
                              f'dependency {step.step_id!r} failed: {code_name(step.code)}',
                              ErrorCode.DEPENDENCY_FAILED)
        return self._check_finished(record, now)

    @staticmethod
    def _failure_message(step: _Step) -> str:
        verb = {StepState.CANCELED: 'was canceled',
                StepState.DEAD_LETTER: 'became a dead letter'}.get(step.state, 'failed')
        attempts = 'attempt' if step.attempt == 1 else 'attempts'
        return (f'step {step.step_id!r} ({step.step.operation} on {step.step.robot_id}) '
                f'{verb} after {step.attempt} {attempts}: {code_name(step.code)}: '
                f'{step.message}')

    def _skip_dependents(self, record: _Plan, root: _Step, now: float, reason: str,
                         code: int) -> None:
        """Skip every PENDING step that transitively depends on ``root``."""
        queue = collections.deque(record.dependents.get(root.step_id, ()))
        seen = set()
        while queue:
            step_id = queue.popleft()
            if step_id in seen:
                continue
            seen.add(step_id)
            step = record.steps[step_id]
            if step.state is StepState.PENDING:
                record.ready.discard(step_id)
                step.code, step.message, step.retryable = int(code), reason, False
                self._end(record, step, StepState.SKIPPED, now)
            queue.extend(record.dependents.get(step_id, ()))

    def _check_finished(self, record: _Plan, now: float) -> typing.Optional[PlanOutcome]:
        if record.unfinished or record.outcome is not None:
            return None
        plan_id = record.plan.plan_id
        if record.failure is None:
            outcome = PlanOutcome(plan_id, StepState.SUCCEEDED, accepted_s=record.accepted_s,
                                  ended_s=now)
        else:
            step_id, code, message, retryable = record.failure
            state = StepState.CANCELED if code == ErrorCode.CANCELED else StepState.FAILED
            outcome = PlanOutcome(plan_id, state, code, message, retryable, step_id,
                                  record.accepted_s, now)
        record.outcome = outcome
        del self._active[plan_id]
        self._finished[plan_id] = record
        while len(self._finished) > self.max_finished_plans:
            self._finished.popitem(last=False)
        self._listener.plan_finished(plan_id, outcome)
        return outcome

    def _notify(self, record: _Plan, step: _Step) -> None:
        self._listener.step_changed(record.plan.plan_id, step.status())
