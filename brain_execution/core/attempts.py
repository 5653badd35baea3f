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
Attempts of plan steps: sent to the robots, their outcomes applied, unknown ones reconciled.

Attempt 1 of an operation carries its operation id; attempt n > 1
:func:`~brain_execution.core.attempt_ids.attempt_operation_id`. A new attempt follows only a
*known* outcome (see :mod:`~brain_execution.core.step_outcome`). An attempt whose outcome is
unknown makes its step RECONCILING: :class:`AttemptRunner` asks the robot about that very id
and the :class:`~brain_execution.core.reconcile.Reconciler` decides (end with the robot's
outcome, send the same id again, ask again, or give up with OUTCOME_UNKNOWN). After a
restart, :meth:`AttemptRunner.reattach_unresolved` does the same for every step the journal
left RECONCILING.
"""

import typing

from .attempt_ids import attempt_operation_id
from .breaker import BreakerRegistry, CircuitOpenError
from .catalog import get_operation
from .dispatch import Dispatcher, DispatchRequest, QueryAnswer
from .errors import BusyError, code_name, ErrorCode, ExecutionError
from .journal_guard import JournalGuard
from .operation import Outcome
from .plan import PlanStep
from .plan_codec import jsonable
from .reconcile import Action, is_outcome_unknown, Reconciler
from .run_state import RunState
from .scheduler import PlanScheduler, StepState
from .state import Platform
from .step_outcome import OutcomeApplier
from .step_state import StepEvent, TRANSITIONS

__all__ = ['Attempt', 'AttemptRunner']

# The states a step may start an attempt from, as the step lifecycle's table has them.
_STARTABLE = TRANSITIONS[StepEvent.START][0]


class Attempt:
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


class AttemptRunner:
    """
    Runs the attempts of the steps the scheduler picks; under the engine lock only.

    Dispatcher callbacks (results, answers to queries) may arrive on any thread, or
    synchronously inside the dispatcher call; they take the lock again through ``entered``
    and ``pump`` afterwards.

    :param robots: Platform of every robot, for the catalog's safe_to_repeat.
    :param entered: The engine's public-call context (lock, then event delivery).
    :param pump: Starts the steps made ready and finishes ended plans.
    """

    def __init__(self, *, robots: typing.Mapping[str, Platform], scheduler: PlanScheduler,
                 dispatcher: Dispatcher, breakers: BreakerRegistry, guard: JournalGuard,
                 reconciler: Reconciler, outcomes: OutcomeApplier, run: RunState,
                 clock: typing.Callable[[], float], log: typing.Callable[[str, str], None],
                 entered: typing.Callable[[], typing.ContextManager],
                 pump: typing.Callable[[], None]):
        self._robots = robots
        self._scheduler = scheduler
        self._dispatcher = dispatcher
        self._breakers = breakers
        self._guard = guard
        self._reconciler = reconciler
        self._outcomes = outcomes
        self._run = run
        self._clock = clock
        self._log = log
        self._entered = entered
        self._pump = pump
        self._attempts: typing.Dict[typing.Tuple[str, str], Attempt] = {}
        # (due time, attempt) of reconciliation queries to ask again.
        self._requery: typing.List[typing.Tuple[float, Attempt]] = []

    @property
    def running(self) -> int:
        """Return how many attempts are out (sent, or being reconciled)."""
        return len(self._attempts)

    @property
    def reconciling(self) -> int:
        """Return how many attempts are being reconciled."""
        return sum(1 for a in self._attempts.values() if a.querying)

    def start(self, plan_id: str, step: PlanStep) -> None:
        """Start the next attempt of a step the scheduler found ready."""
        status = self._scheduler.status(plan_id, step.step_id)
        if status.state not in _STARTABLE:
            return
        now = self._clock()
        attempt = Attempt(plan_id, step, status.operation_id, status.attempt + 1, now)
        try:
            self._breakers.check(step.robot_id, step.operation)
        except CircuitOpenError as e:
            # Fails fast as an attempt: the retry policy decides, no later than the
            # breaker's probe time, or the step becomes a dead letter.
            self._scheduler.mark_running(plan_id, step.step_id, now)
            self._attempts[attempt.key] = attempt
            self._finish(attempt, Outcome.from_error(e), reached=False,
                         admitted=False, retry_floor_s=e.retry_at_s)
            return
        journal = self._guard.journal
        if journal is not None:
            try:
                # One commit for both; the block ends once it is durable.
                with journal.grouped():
                    journal.record_operation(
                        status.operation_id, step.robot_id, step.operation,
                        jsonable(step.parameters), step.safe_to_repeat, plan_id=plan_id,
                        step_id=step.step_id)
                    # Before the send: after a crash the attempt shows as unresolved and the
                    # robot is asked, rather than the step being sent blindly again.
                    journal.mark_dispatched(status.operation_id, attempt.attempt)
            except (ExecutionError, ValueError) as e:
                # Not journaled, so not sent: the attempt fails without reaching the robot,
                # which makes a later attempt safe.
                self._scheduler.mark_running(plan_id, step.step_id, now)
                self._attempts[attempt.key] = attempt
                if isinstance(e, BusyError):
                    outcome = Outcome(e.code, f'not journaled: {e}', True)
                else:
                    self._guard.failed(f'dispatch of {status.operation_id}', e)
                    outcome = Outcome(ErrorCode.JOURNAL_UNAVAILABLE,
                                      f'not sent: the journal did not store it: {e}', True)
                self._finish(attempt, outcome, reached=False)
                return
        self._run.sent.add(attempt.key)
        self._scheduler.mark_running(plan_id, step.step_id, now)
        self._attempts[attempt.key] = attempt
        self._send(attempt)

    def cancel_on_robot(self, plan_id: str, step: PlanStep) -> None:
        """Cancel a step's attempt on its robot (later, if it is being reconciled)."""
        attempt = self._attempts.get((plan_id, step.step_id))
        if attempt is None or attempt.querying:
            # Being reconciled: the cancel is sent once the robot's answer says it runs.
            return
        try:
            self._dispatcher.cancel(step.robot_id, attempt.wire_id)
        except Exception as e:  # noqa: B902 - the other steps must still be canceled
            self._log('error', f'cancel of {attempt.wire_id} on {step.robot_id} failed: {e}')

    def hold_in_flight(self, now: float) -> int:
        """
        Journal every RUNNING attempt as RECONCILING, for a restart to ask its robot.

        :return: How many attempts were out.
        """
        count = 0
        for attempt in list(self._attempts.values()):
            status = self._scheduler.status(attempt.plan_id, attempt.step.step_id)
            count += 1
            if status.state is StepState.RUNNING:
                self._scheduler.mark_reconciling(
                    attempt.plan_id, attempt.step.step_id, now,
                    message=f'coordinator stopped while {attempt.wire_id} was in flight on '
                            f'{attempt.step.robot_id}; reconciled by that id on restart')
        return count

    def reattach_unresolved(self) -> None:
        """Ask the robots about every RECONCILING step that has no attempt out yet."""
        for plan_id, step in self._scheduler.unresolved_steps():
            if (plan_id, step.step_id) in self._attempts:
                continue
            status = self._scheduler.status(plan_id, step.step_id)
            attempt = Attempt(plan_id, step, status.operation_id, max(1, status.attempt),
                              status.started_s if status.started_s is not None
                              else self._clock())
            attempt.querying = True
            attempt.unknown_since_s = self._clock()
            self._attempts[attempt.key] = attempt
            self._query(attempt)

    def ask_due(self, now: float) -> None:
        """Ask again the robots whose earlier answer said to, once due."""
        due = [attempt for at, attempt in self._requery if at <= now]
        self._requery = [(at, attempt) for at, attempt in self._requery if at > now]
        for attempt in due:
            if self._attempts.get(attempt.key) is attempt and attempt.querying:
                self._query(attempt)

    # --- sending and results -----------------------------------------------------------------

    def _send(self, attempt: Attempt) -> None:
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
                request, on_done=lambda outcome: self._on_done(attempt, outcome))
        except Exception as e:  # noqa: B902 - a failing seam must still end the attempt
            self._on_done(attempt, Outcome(
                ErrorCode.COMMUNICATION_FAILURE, f'dispatch failed: {type(e).__name__}: {e}',
                True), reached=False)

    def _on_done(self, attempt: Attempt, outcome: Outcome, *, reached: bool = True) -> None:
        with self._entered():
            if self._run.stopping:
                # Journaled RECONCILING by shutdown(); a restart asks the robot.
                return
            if attempt.done:
                self._log('warn', f'second result for {attempt.wire_id} ignored')
                return
            if reached and is_outcome_unknown(outcome) and \
                    self._attempts.get(attempt.key) is attempt:
                self._lose(attempt, outcome)
            else:
                self._finish(attempt, outcome, reached=reached)
            self._pump()

    def _finish(self, attempt: Attempt, outcome: Outcome, *, reached: bool,
                admitted: bool = True, retry_floor_s: float = 0.0) -> None:
        """Apply an attempt's outcome, unless a newer attempt of its step replaced it."""
        attempt.done = True
        if self._attempts.get(attempt.key) is not attempt:
            self._log('warn', f'result of stale attempt {attempt.wire_id} ignored')
            return
        del self._attempts[attempt.key]
        journal = self._guard.journal
        if journal is not None and reached:
            # The result, the step's new state (and a dead letter) in one commit. Events go
            # out only after the engine call returns, so after the block has waited for it.
            try:
                with journal.grouped():
                    self._outcomes.apply(attempt, outcome, reached=reached, admitted=admitted,
                                         retry_floor_s=retry_floor_s)
            except (ExecutionError, ValueError) as e:
                self._guard.failed(f'result of {attempt.operation_id}', e)
        else:
            self._outcomes.apply(attempt, outcome, reached=reached, admitted=admitted,
                                 retry_floor_s=retry_floor_s)

    # --- reconciling -------------------------------------------------------------------------

    def _repeatable(self, step: PlanStep) -> bool:
        """Return whether the step may be sent again not knowing whether it ran."""
        if step.safe_to_repeat:
            return True
        try:
            return get_operation(step.operation, self._robots[step.robot_id]).safe_to_repeat
        except (KeyError, ExecutionError):
            return False

    def _lose(self, attempt: Attempt, outcome: Outcome) -> None:
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
        self._query(attempt)

    def _query(self, attempt: Attempt) -> None:
        attempt.queries += 1
        answered = []

        def on_answer(answer: typing.Optional[QueryAnswer],
                      failure: typing.Optional[Outcome]) -> None:
            with self._entered():
                if answered or self._run.stopping:
                    return
                answered.append(True)
                self._on_answer(attempt, answer, failure)
                self._pump()
        try:
            self._dispatcher.query(attempt.step.robot_id, attempt.wire_id, on_answer)
        except Exception as e:  # noqa: B902 - an unreachable robot is asked again later
            on_answer(None, Outcome(ErrorCode.COMMUNICATION_FAILURE,
                                    f'query failed: {type(e).__name__}: {e}', True))

    def _on_answer(self, attempt: Attempt, answer: typing.Optional[QueryAnswer],
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
            self._finish(attempt, decision.outcome, reached=True)
            return
        if decision.action in (Action.GIVE_UP, Action.REPEAT):
            level = 'error' if decision.action is Action.GIVE_UP else 'info'
            self._log(level, f'{where}: {decision.outcome.message}')
            self._finish(attempt, decision.outcome, reached=True)
            return
        # RESEND: the same id attaches to the running operation, or (never seen by the
        # robot, whose record of ids is durable) is its first run.
        self._log('info', f'{where}: {decision.reason}')
        attempt.querying = False
        attempt.resends += 1
        self._scheduler.mark_running(attempt.plan_id, step.step_id, now, resumed=True)
        self._send(attempt)
        if attempt.plan_id in self._run.canceled and not attempt.done:
            self.cancel_on_robot(attempt.plan_id, step)
