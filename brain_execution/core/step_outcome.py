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
What a known outcome of an attempt does to its step: the retry and dead-letter decisions.

:class:`OutcomeApplier` records the outcome with the breakers and the duration statistics,
then moves the step through the scheduler: SUCCEEDED, CANCELED, held in RETRYING while a
fleet-wide emergency stop holds the engine, RETRYING when the
:class:`~brain_execution.core.retry.RetryPolicy` allows another attempt, a dead letter when
retries are exhausted (or the outcome stayed unknown), else FAILED. Outcomes that are
*unknown* never come here: the engine reconciles them by their id first.
"""

import dataclasses
import random
import typing

from .breaker import BreakerRegistry
from .dead_letters import DeadLetterOffice
from .errors import code_name, ErrorCode
from .journal_guard import JournalGuard
from .operation import Outcome
from .plan import PlanStep
from .plan_codec import safe_json
from .retry import DurationStats, NON_RETRYABLE_CODES, RetryDefaults, RetryPolicy
from .run_state import RunState
from .scheduler import PlanScheduler

if typing.TYPE_CHECKING:  # pragma: no cover - annotations only; attempts imports this module
    from .attempts import Attempt

__all__ = ['OutcomeApplier']

# Codes a step gets when a fleet-wide emergency stop reaches its robot: while the stop holds
# the engine, such a step waits to run again on release instead of failing its plan.
_HELD_CODES = frozenset({ErrorCode.PREEMPTED, ErrorCode.EMERGENCY_STOP_ACTIVE})


class OutcomeApplier:
    """
    Applies attempts' known outcomes; called under the engine lock only.

    :param retry_defaults: Values for the zero fields of each step's RetrySpec.
    :param rng: Source of the retry jitter.
    """

    def __init__(self, *, scheduler: PlanScheduler, breakers: BreakerRegistry,
                 guard: JournalGuard, dead_letters: DeadLetterOffice, run: RunState,
                 retry_defaults: RetryDefaults, rng: random.Random,
                 clock: typing.Callable[[], float], log: typing.Callable[[str, str], None]):
        self._scheduler = scheduler
        self._breakers = breakers
        self._guard = guard
        self._dead = dead_letters
        self._run = run
        self._retry_defaults = retry_defaults
        self._rng = rng
        self._clock = clock
        self._log = log
        self.durations = DurationStats()

    def apply(self, attempt: 'Attempt', outcome: Outcome, *, reached: bool, admitted: bool,
              retry_floor_s: float) -> None:
        """
        Apply an attempt's outcome: journal, breakers, durations, then the scheduler.

        :param reached: Whether the attempt may have reached the robot.
        :param admitted: Whether the breakers admitted it (an admission not used is given
            back).
        :param retry_floor_s: No retry before this time (an open breaker's probe time).
        """
        now = self._clock()
        step = attempt.step
        code = int(outcome.code)
        if reached:
            self._guard.call(f'result of {attempt.operation_id}', lambda: (
                self._guard.journal.mark_operation_result(
                    attempt.operation_id, code, outcome.message, safe_json(outcome.result))))
            self._breakers.record(step.robot_id, step.operation, code, outcome.message)
        elif admitted:
            # Admitted by the breakers but never sent: give the admission (a half-open
            # probe slot) back.
            self._breakers.release(step.robot_id, step.operation)
        plan_id, step_id = attempt.key
        if code == ErrorCode.NONE:
            elapsed = outcome.elapsed_s if outcome.elapsed_s > 0.0 else now - attempt.started_s
            self.durations.record(step.robot_id, step.operation, elapsed)
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
        if plan_id in self._run.canceled:
            self._scheduler.mark_failed(plan_id, step.step_id, now, code=code,
                                        message=outcome.message, retryable=outcome.retryable)
            return
        if self._run.hold_reason and code in _HELD_CODES:
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
            self._dead.file(plan_id, step, status, code=code, message=message,
                            first_attempt_s=first_s, now=now)
            self._scheduler.mark_dead_letter(plan_id, step.step_id, now, code=code,
                                             message=message)
            return
        self._scheduler.mark_failed(plan_id, step.step_id, now, code=code,
                                    message=outcome.message, retryable=outcome.retryable)
