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
Canceling: a plan, one step of a plan, and plans past their timeout.

Running steps are canceled on their robots and end when their robots answer (CANCELED, or
whatever they report); steps not running end at once. A plan canceled stays in
:attr:`RunState.canceled <brain_execution.core.run_state.RunState.canceled>` until it ends,
so no failure of it is retried and a step reattached meanwhile is canceled too.
"""

import typing

from .errors import ErrorCode
from .plan import PlanStep
from .plan_handles import PlanRegistry
from .run_state import RunState
from .scheduler import PlanScheduler, TERMINAL_STATES
from .step_state import ACTIVE_STATES

__all__ = ['Canceller']


class Canceller:
    """
    Cancels plans and steps; under the engine lock only.

    :param cancel_on_robot: ``cancel_on_robot(plan_id, step)`` cancels a step's attempt on
        its robot.
    :param pump: Starts the steps made ready and finishes ended plans.
    """

    def __init__(self, *, scheduler: PlanScheduler, plans: PlanRegistry, run: RunState,
                 cancel_on_robot: typing.Callable[[str, PlanStep], None],
                 log: typing.Callable[[str, str], None], pump: typing.Callable[[], None]):
        self._scheduler = scheduler
        self._plans = plans
        self._run = run
        self._cancel_on_robot = cancel_on_robot
        self._log = log
        self._pump = pump

    def cancel(self, plan_id: str, operation_id: str, now: float) -> typing.List[str]:
        """
        Cancel a plan, or the operation with ``operation_id`` (a step, or a one-step plan).

        :return: Operation ids of the steps that had not ended.
        """
        if operation_id:
            where = self._plans.where(operation_id)
            if where is None:
                return []
            plan_id, step_id = where
            if len(self._scheduler.plan(plan_id).steps) > 1:
                return self._cancel_step(plan_id, step_id, now)
        if plan_id not in self._scheduler.active_plan_ids():
            return []
        ids = self._cancel_plan(plan_id, now, code=ErrorCode.CANCELED, message='plan canceled')
        self._pump()
        return ids

    def cancel_overdue(self, now: float) -> None:
        """Cancel the plans past their timeout (none while a fleet-wide stop holds them)."""
        for plan_id in () if self._run.hold_reason else self._scheduler.overdue_plans(now):
            plan = self._scheduler.plan(plan_id)
            self._log('warn', f'plan {plan_id!r} timed out after {plan.timeout_s:g} s')
            self._cancel_plan(plan_id, now, code=ErrorCode.TIMEOUT,
                              message=f'plan timed out after {plan.timeout_s:g} s')

    def _cancel_plan(self, plan_id: str, now: float, *, code: int,
                     message: str) -> typing.List[str]:
        before = [s.operation_id for s in self._scheduler.snapshot(plan_id)
                  if s.state not in TERMINAL_STATES]
        self._run.canceled.add(plan_id)
        running = self._scheduler.cancel_plan(plan_id, now, code=code, message=message)
        for step in running:
            self._cancel_on_robot(plan_id, step)
        return before

    def _cancel_step(self, plan_id: str, step_id: str, now: float) -> typing.List[str]:
        status = self._scheduler.status(plan_id, step_id)
        if status.state in TERMINAL_STATES:
            return []
        if status.state in ACTIVE_STATES:
            self._cancel_on_robot(plan_id, self._scheduler.plan(plan_id).step(step_id))
        else:
            self._scheduler.mark_canceled(plan_id, step_id, now, message='canceled')
            self._pump()
        return [status.operation_id]
