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
Plan intake: accept a valid plan, or refuse it with a reason, before anything runs.

Intake never loses a plan silently. A plan id seen before returns its existing handle; a
new plan is refused while the coordinator shuts down, while the journal fails writes, when
one of its operation ids is in use by a running plan, or when its steps would exceed the
limit of unfinished steps. Otherwise it is journaled first and only then scheduled, so a
plan the caller was told is accepted survives a restart, and one refused never runs.
"""

import typing

from .errors import BusyError, ErrorCode, ExecutionError, JournalUnavailableError
from .journal import JournalFullError
from .journal_guard import JournalGuard
from .plan import operation_id_for, Plan
from .plan_handles import PlanHandle, PlanRegistry
from .plan_identity import check_plan_reuse, check_step_reuse
from .recovery import Recovery
from .run_state import RunState
from .scheduler import PlanScheduler

__all__ = ['Intake']


class Intake:
    """Admits validated plans; under the engine lock only."""

    def __init__(self, *, scheduler: PlanScheduler, plans: PlanRegistry, guard: JournalGuard,
                 recovery: Recovery, run: RunState, clock: typing.Callable[[], float],
                 log: typing.Callable[[str, str], None]):
        self._scheduler = scheduler
        self._plans = plans
        self._guard = guard
        self._recovery = recovery
        self._run = run
        self._clock = clock
        self._log = log

    def admit(self, plan: Plan,
              data: typing.Mapping[str, typing.Any]) -> typing.Tuple[PlanHandle, bool]:
        """
        Return the plan's handle, and whether the plan is new (its steps may start now).

        :param data: The plan as journaled (plan_codec), to compare a reused plan id.
        :raises ExecutionError: As :meth:`Coordinator.submit_plan`.
        """
        known = self._plans.handle(plan.plan_id)
        if known is not None:
            check_plan_reuse(plan.plan_id, known.content, data)
            return known, False
        if self._run.stopping:
            raise ExecutionError(f'plan {plan.plan_id!r} refused: the coordinator is '
                                 f'shutting down', code=ErrorCode.SHUTDOWN)
        if self._guard.fault:
            raise JournalUnavailableError(
                f'plan {plan.plan_id!r} refused: the journal failed to store a write '
                f'({self._guard.fault}); nothing new is accepted until it works again')
        now = self._clock()
        self._refuse_ids_in_use(plan)
        pending = self._scheduler.pending_step_count
        if pending + len(plan.steps) > self._scheduler.max_pending_steps:
            # Refused before journaling: a journaled plan that never ran would be resumed
            # after a restart although its caller was told no.
            raise BusyError(
                f'plan {plan.plan_id!r} refused: {len(plan.steps)} steps on top of '
                f'{pending} unfinished exceed the limit of '
                f'{self._scheduler.max_pending_steps}; retry when running plans end')
        journal = self._guard.journal
        if journal is not None:
            try:
                stored = journal.record_plan(plan.plan_id, data, now)
            except JournalFullError:
                raise
            except ExecutionError as e:
                self._guard.failed(f'plan {plan.plan_id}', e)
                raise JournalUnavailableError(
                    f'plan {plan.plan_id!r} refused: not journaled: {e}') from e
            if not stored:
                known = self._recovery.from_journal(plan.plan_id)
                check_plan_reuse(plan.plan_id, known.content, data)
                return known, False
        self._scheduler.add_plan(plan, now)
        handle = self._plans.register(plan)
        self._log('info', f'plan {plan.plan_id!r} accepted with {len(plan.steps)} step(s)')
        return handle, True

    def _refuse_ids_in_use(self, plan: Plan) -> None:
        """Raise unless every operation id of the plan is free of the running plans."""
        taken = [(step, where[0]) for step in plan.steps
                 for where in (self._plans.where(operation_id_for(plan.plan_id, step)),)
                 if where is not None]
        if not taken:
            return
        step, other = taken[0]
        op_id = operation_id_for(plan.plan_id, step)
        other_step = next(s for s in self._scheduler.plan(other).steps
                          if operation_id_for(other, s) == op_id)
        check_step_reuse(op_id, other_step, step)
        raise ExecutionError(
            f'plan {plan.plan_id!r}: step {step.step_id!r}: operation_id: in use by running '
            f'plan {other!r}; the step would not run', code=ErrorCode.INVALID_PLAN)
