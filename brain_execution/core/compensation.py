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
Compensation: undoing the succeeded steps of a plan that failed or was canceled.

When the scheduler ends a plan, :class:`Compensator` runs the compensations the scheduler
lists for it (e.g. land after takeoff), one after another, then hands the plan on to be
finalized. Compensations are best effort and not gated by the circuit breakers: undoing
(landing) matters most when the robot has been failing.
"""

import collections
import typing

from .attempt_ids import compensation_operation_id
from .dispatch import Dispatcher, DispatchRequest
from .errors import code_name, ErrorCode, ExecutionError
from .journal_guard import JournalGuard
from .operation import Outcome
from .plan import operation_id_for
from .plan_codec import jsonable, safe_json
from .run_state import RunState
from .scheduler import Compensation, PlanOutcome, PlanScheduler

__all__ = ['Compensator']


class _Undo:
    """The compensations of one ended plan, run one after another."""

    def __init__(self, plan_id: str, outcome: PlanOutcome, priority: int,
                 compensations: typing.Sequence[typing.Tuple[Compensation, str]]):
        self.plan_id = plan_id
        self.outcome = outcome
        self.priority = priority
        # (compensation, operation id) pairs: computed up front, since the scheduler may
        # forget the ended plan while its compensations still run.
        self.remaining = collections.deque(compensations)


class Compensator:
    """
    Takes the plans the scheduler ended, compensates them, then finalizes them.

    Its methods run under the engine lock; a compensation's result takes it again through
    ``entered``.

    :param finalize: ``finalize(plan_id, outcome)`` once a plan's compensations ended.
    :param on_done: ``on_done(plan_id, step_id, operation, outcome)`` per compensation, to
        tell the listener.
    :param entered: The engine's public-call context (lock, then event delivery).
    :param pump: Starts the steps made ready (called after a result, under the lock).
    """

    def __init__(self, *, scheduler: PlanScheduler, dispatcher: Dispatcher,
                 guard: JournalGuard, run: RunState, clock: typing.Callable[[], float],
                 log: typing.Callable[[str, str], None],
                 finalize: typing.Callable[[str, PlanOutcome], None],
                 on_done: typing.Callable[[str, str, str, Outcome], None],
                 entered: typing.Callable[[], typing.ContextManager],
                 pump: typing.Callable[[], None]):
        self._scheduler = scheduler
        self._dispatcher = dispatcher
        self._guard = guard
        self._run = run
        self._clock = clock
        self._log = log
        self._finalize = finalize
        self._on_done = on_done
        self._entered = entered
        self._pump = pump
        # Plans the scheduler ended, queued by its listener: compensations start after the
        # scheduler call returns, since a scheduler listener must not call back into it.
        self.ended: typing.Deque[typing.Tuple[str, PlanOutcome]] = collections.deque()
        self._undoing: typing.Dict[str, _Undo] = {}

    @property
    def compensating(self) -> int:
        """Return how many ended plans are being compensated."""
        return len(self._undoing)

    def process_ended(self) -> None:
        """Compensate (or finalize at once) every plan ended since the last call."""
        while self.ended:
            plan_id, outcome = self.ended.popleft()
            compensations = self._scheduler.compensations(plan_id)
            if not compensations:
                self._finalize(plan_id, outcome)
                continue
            self._log('info', f'plan {plan_id!r} {outcome.state.name}: running '
                              f'{len(compensations)} compensation(s)')
            plan = self._scheduler.plan(plan_id)
            undo = _Undo(plan_id, outcome, plan.priority, [
                (comp, compensation_operation_id(
                    operation_id_for(plan_id, plan.step(comp.step_id))))
                for comp in compensations])
            self._undoing[plan_id] = undo
            self._next(undo)

    def _next(self, undo: _Undo) -> None:
        if not undo.remaining:
            del self._undoing[undo.plan_id]
            self._finalize(undo.plan_id, undo.outcome)
            return
        comp, op_id = undo.remaining.popleft()
        # Best effort and not gated by the breakers: undoing (landing) matters most when the
        # robot has been failing. Journaled so a restart does not run it twice: the robot
        # answers a known id with its earlier outcome.
        self._guard.call(f'compensation {op_id}', lambda: (
            self._guard.journal.record_operation(op_id, comp.robot_id, comp.operation,
                                                 jsonable(comp.parameters), False,
                                                 plan_id=undo.plan_id, step_id=comp.step_id),
            self._guard.journal.mark_dispatched(op_id, 1)))
        request = DispatchRequest(robot_id=comp.robot_id, operation=comp.operation,
                                  params=comp.parameters, operation_id=op_id,
                                  priority=undo.priority)
        answered = []

        def on_done(outcome: Outcome) -> None:
            with self._entered():
                if answered or self._run.stopping:
                    return
                answered.append(True)
                self._done(undo, comp, op_id, outcome)
                self._pump()
        try:
            self._dispatcher.dispatch(request, on_done=on_done)
        except Exception as e:  # noqa: B902 - the remaining compensations must still run
            on_done(Outcome(ErrorCode.COMMUNICATION_FAILURE,
                            f'dispatch failed: {type(e).__name__}: {e}', True))

    def _done(self, undo: _Undo, comp: Compensation, op_id: str, outcome: Outcome) -> None:
        self._guard.call(f'result of {op_id}', lambda: self._guard.journal.mark_operation_result(
            op_id, int(outcome.code), outcome.message, safe_json(outcome.result)))
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
        self._on_done(undo.plan_id, comp.step_id, comp.operation, outcome)
        self._next(undo)
