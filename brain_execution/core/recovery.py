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
Restart recovery: the plans the journal holds but this run's memory does not.

After a restart, :meth:`Recovery.resume_unfinished` puts the journal's unfinished plans back
into the scheduler: steps that were running (or RECONCILING when the coordinator stopped)
come back RECONCILING, and ``reattach`` then asks each robot about the journaled attempt's
id. A plan that ended before the restart is read back as a finished handle, and queries for
plans memory no longer holds are answered from the journal.
"""

import typing

from .attempt_ids import single_plan_id
from .errors import ErrorCode, ExecutionError
from .journal import Journal, StepRecord
from .plan_codec import journaled_statuses, outcome_from_dict, plan_from_dict, status_from_record
from .plan_handles import PlanHandle, PlanRegistry
from .run_state import RunState
from .scheduler import PlanScheduler, StepStatus

__all__ = ['Recovery']


class Recovery:
    """
    Brings journaled plans back; under the engine lock, except :meth:`journaled_snapshot`.

    :param journal: The journal; None keeps everything in memory (nothing to recover).
    :param reattach: Asks the robots about the steps restored RECONCILING, then starts what
        is ready.
    """

    def __init__(self, *, journal: typing.Optional[Journal], scheduler: PlanScheduler,
                 plans: PlanRegistry, run: RunState, clock: typing.Callable[[], float],
                 log: typing.Callable[[str, str], None],
                 reattach: typing.Callable[[], None]):
        self._journal = journal
        self._scheduler = scheduler
        self._plans = plans
        self._run = run
        self._clock = clock
        self._log = log
        self._reattach = reattach

    def resume_unfinished(self) -> typing.List[PlanHandle]:
        """Restore every unfinished journaled plan (the caller then reattaches)."""
        handles = []
        for unfinished in self._journal.unfinished_plans():
            handle = self.restore(unfinished.plan, unfinished.steps)
            if handle is not None:
                handles.append(handle)
        return handles

    def restore(self, data: typing.Mapping[str, typing.Any],
                steps: typing.Mapping[str, StepRecord]) -> typing.Optional[PlanHandle]:
        """Put a journaled plan back into the scheduler; return its handle, None if it cannot."""
        try:
            plan = plan_from_dict(data)
            if plan.plan_id in self._scheduler:
                return self._plans.handle(plan.plan_id)
            record = self._journal.plan(plan.plan_id)
            states = {step_id: status_from_record(plan.step(step_id), plan.plan_id, saved)
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
                self._run.sent.add((plan.plan_id, step_id))
        handle = self._plans.register(plan)
        self._log('info', f'plan {plan.plan_id!r} resumed from the journal')
        return handle

    def from_journal(self, plan_id: str) -> PlanHandle:
        """Return the handle of a plan the journal knows but memory does not."""
        record = self._journal.plan(plan_id)
        if record is None:
            raise ExecutionError(f'plan {plan_id!r} vanished from the journal',
                                 code=ErrorCode.INTERNAL_ERROR)
        if not record.finished:
            # Journaled by an earlier run and not resumed yet: resume it now rather than
            # run it a second time or leave the caller without an outcome.
            handle = self.restore(record.plan, record.steps)
            if handle is None:
                raise ExecutionError(f'plan {plan_id!r} is journaled but cannot be resumed',
                                     code=ErrorCode.INTERNAL_ERROR)
            self._reattach()
            return handle
        final = journaled_statuses(record)
        handle = PlanHandle(plan_id, snapshot=lambda: final, content=record.plan)
        handle._complete(outcome_from_dict(plan_id, record.outcome), final)
        self._plans.keep_finished(handle)
        return handle

    def journaled_snapshot(self, plan_id: str,
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
            return journaled_statuses(record) if record is not None else ()
        except (TypeError, ValueError, KeyError, ExecutionError) as e:
            self._log('warn', f'query of plan {plan_id!r} from the journal failed: {e}')
            return ()
