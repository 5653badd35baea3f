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
Retry or reconcile: what the engine does with an attempt whose outcome it does not know.

An attempt ends in one of two ways. Its outcome is *known* (the robot's result, or a failure
that proves the goal never reached the robot): the retry policy decides, and a retry goes out
under a new id. Or its outcome is *unknown* (OUTCOME_UNKNOWN from the dispatcher: the link was
lost, no goal response came, the robot no longer knew the id, the coordinator stopped): then
the step is RECONCILING and :class:`Reconciler` decides, from what the robot says about the
very same id, whether to end the step with the robot's own outcome, send the same id again
(the robot still runs it and the same id attaches, or its durable record of ids says it never
saw it), ask again later, or give up with OUTCOME_UNKNOWN for an operator. A new id is never
chosen here. Reconciling comes first even for an operation that is safe_to_repeat (from the
catalog or the step): the robot usually answers within seconds, and a second send could still
act twice (a second hover preempts the first). Only a safe_to_repeat operation whose robot
stays unreachable past the deadline goes back to the retry policy instead of the dead letters.
"""

import dataclasses
import enum
import typing

from .errors import ErrorCode
from .operation import OperationState, Outcome

__all__ = ['Action', 'Decision', 'Reconciler', 'is_outcome_unknown']


def is_outcome_unknown(outcome: Outcome) -> bool:
    """Return whether an attempt's outcome says nothing of what the robot did."""
    return int(outcome.code) == ErrorCode.OUTCOME_UNKNOWN


class Action(enum.Enum):
    """What the engine does next with a RECONCILING step."""

    END = 'end'              # the robot's own outcome ends the attempt
    RESEND = 'resend'        # send the same id: it attaches, or is the first run
    ASK_AGAIN = 'ask_again'  # the robot cannot be asked now
    GIVE_UP = 'give_up'      # unreachable past the deadline: OUTCOME_UNKNOWN, dead letter
    REPEAT = 'repeat'        # safe to repeat: a known retryable failure for the retry policy


@dataclasses.dataclass(frozen=True)
class Decision:
    """One decision of :class:`Reconciler`: the action and what it needs."""

    action: Action
    outcome: typing.Optional[Outcome] = None
    ask_at_s: float = 0.0
    reason: str = ''


class Reconciler:
    """
    The decisions for steps whose outcome is unknown; pure, times in the caller's clock.

    :param deadline_s: How long a robot may stay unreachable before the step ends with
        OUTCOME_UNKNOWN (counted from when its outcome became unknown).
    :param interval_s: How long after a failed question the robot is asked again.
    :param max_resends: Same-id sends of one attempt after which a robot that keeps
        forgetting the id counts as unreachable.
    :raises ValueError: When a value is out of range.
    """

    def __init__(self, *, deadline_s: float = 120.0, interval_s: float = 2.0,
                 max_resends: int = 3):
        if not deadline_s > 0.0:
            raise ValueError(f'deadline_s={deadline_s!r} must be > 0')
        if not 0.0 < interval_s <= deadline_s:
            raise ValueError(f'interval_s={interval_s!r} must be > 0 and <= deadline_s')
        if isinstance(max_resends, bool) or not isinstance(max_resends, int) or \
                max_resends < 1:
            raise ValueError(f'max_resends={max_resends!r} must be an int >= 1')
        self.deadline_s = float(deadline_s)
        self.interval_s = float(interval_s)
        self.max_resends = max_resends

    def on_lost(self, outcome: Outcome) -> Decision:
        """Decide what an attempt's OUTCOME_UNKNOWN leads to: ask the robot, at once."""
        return Decision(Action.ASK_AGAIN, reason=outcome.message)

    def on_answer(self, state: typing.Optional[OperationState],
                  outcome: typing.Optional[Outcome], failure: typing.Optional[Outcome], *,
                  safe_to_repeat: bool, unknown_since_s: float, now_s: float,
                  resends: int, what: str) -> Decision:
        """
        Decide from the robot's answer about the same id.

        :param state: The robot's state of the id; None when it never saw it.
        :param outcome: The robot's outcome once the id ended there.
        :param failure: Why the robot could not be asked; None when it answered.
        :param unknown_since_s: When the outcome became unknown.
        :param resends: Same-id sends of this attempt so far.
        :param what: Names the operation and robot, for the reasons.
        """
        if failure is None and outcome is not None:
            return Decision(Action.END, outcome, reason='the robot reported its outcome')
        if failure is None:
            if resends >= self.max_resends:
                return self._give_up(
                    what, f'the robot lost the id {resends} times after it was sent again',
                    now_s, unknown_since_s)
            known = state is not None
            return Decision(Action.RESEND, reason=(
                'the robot still runs it; attaching by the same id' if known else
                'the robot never saw it (durable record); sending the same id'))
        if now_s - unknown_since_s >= self.deadline_s:
            if safe_to_repeat:
                return Decision(Action.REPEAT, Outcome(
                    ErrorCode.COMMUNICATION_FAILURE,
                    f'{what} unreachable for {now_s - unknown_since_s:.1f} s '
                    f'({failure.message}); safe_to_repeat, so retried', True),
                    reason='safe_to_repeat')
            return self._give_up(what, f'it could not be asked ({failure.message})', now_s,
                                 unknown_since_s)
        ask_at = min(now_s + self.interval_s, unknown_since_s + self.deadline_s)
        return Decision(Action.ASK_AGAIN, ask_at_s=ask_at, reason=failure.message)

    @staticmethod
    def _give_up(what: str, why: str, now_s: float, since_s: float) -> Decision:
        return Decision(Action.GIVE_UP, Outcome(
            ErrorCode.OUTCOME_UNKNOWN,
            f'outcome of {what} unknown after {now_s - since_s:.1f} s: {why}; not sent again '
            f'(it may have run; not safe_to_repeat): an operator decides through '
            f'retry_dead_letters', False), reason=why)
