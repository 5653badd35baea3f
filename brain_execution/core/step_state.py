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
The life of a plan step: its states and every transition between them, in one table.

A step is PENDING until its dependencies succeeded, RUNNING while an attempt is out, and
RECONCILING when the coordinator no longer knows how that attempt stands (the robot's link
was lost, no goal response came, the coordinator stopped, the robot restarted). A
RECONCILING step is never sent under a new operation id: the robot is asked by the same id
and the step ends with the robot's own outcome, or goes back to RUNNING when the robot still
runs it (or never saw it, which its durable record of ids makes a proof of "never started").

:data:`TRANSITIONS` is the whole machine: ``event -> (states it may leave, state it enters)``.
:func:`transition` checks one move against it; the scheduler applies nothing else.
"""

import enum
import typing

__all__ = [
    'ACTIVE_STATES',
    'FAILURE_STATES',
    'StepEvent',
    'StepState',
    'TERMINAL_STATES',
    'TRANSITIONS',
    'IllegalTransition',
    'transition',
]


class StepState(enum.IntEnum):
    """
    State of a plan step; same values as OperationStatus.STATE_*.

    UNKNOWN (0) is the message's default and never a state the engine holds; a step whose
    outcome the coordinator does not know is RECONCILING.
    """

    UNKNOWN = 0
    PENDING = 1
    RUNNING = 2
    RETRYING = 3
    SUCCEEDED = 4
    FAILED = 5
    CANCELED = 6
    SKIPPED = 7
    DEAD_LETTER = 8
    COMPENSATED = 9
    RECONCILING = 10


class StepEvent(enum.Enum):
    """What happens to a step; each moves it along one row of :data:`TRANSITIONS`."""

    START = 'start'              # an attempt is sent (a new one, or the first)
    RESUME = 'resume'            # the robot still runs (or never saw) the same id: reattached
    LOSE = 'lose'                # the attempt's outcome became unknown
    SUCCEED = 'succeed'
    FAIL = 'fail'                # a known failure, not retried
    RETRY = 'retry'              # a known retryable failure (or proven never started)
    DEAD_LETTER = 'dead_letter'  # retries exhausted, or outcome unknown past the deadline
    CANCEL = 'cancel'
    SKIP = 'skip'                # a dependency failed, or the plan ended first
    COMPENSATE = 'compensate'    # a succeeded step was undone


_S = StepState
TRANSITIONS: typing.Mapping[StepEvent, typing.Tuple[typing.FrozenSet[StepState], StepState]] = {
    StepEvent.START: (frozenset({_S.PENDING, _S.RETRYING}), _S.RUNNING),
    StepEvent.RESUME: (frozenset({_S.RECONCILING}), _S.RUNNING),
    StepEvent.LOSE: (frozenset({_S.RUNNING, _S.RECONCILING}), _S.RECONCILING),
    StepEvent.SUCCEED: (frozenset({_S.RUNNING, _S.RECONCILING}), _S.SUCCEEDED),
    StepEvent.FAIL: (frozenset({_S.RUNNING, _S.RECONCILING}), _S.FAILED),
    StepEvent.RETRY: (frozenset({_S.RUNNING, _S.RECONCILING}), _S.RETRYING),
    StepEvent.DEAD_LETTER: (frozenset({_S.RUNNING, _S.RECONCILING, _S.RETRYING, _S.FAILED}),
                            _S.DEAD_LETTER),
    StepEvent.CANCEL: (frozenset({_S.PENDING, _S.RUNNING, _S.RETRYING, _S.RECONCILING}),
                       _S.CANCELED),
    StepEvent.SKIP: (frozenset({_S.PENDING}), _S.SKIPPED),
    StepEvent.COMPENSATE: (frozenset({_S.SUCCEEDED}), _S.COMPENSATED),
}
del _S

TERMINAL_STATES = frozenset({
    StepState.SUCCEEDED, StepState.FAILED, StepState.CANCELED, StepState.SKIPPED,
    StepState.DEAD_LETTER, StepState.COMPENSATED})
# States in which the robot may be working on the step: they hold a concurrency slot.
ACTIVE_STATES = frozenset({StepState.RUNNING, StepState.RECONCILING})
# Terminal states that end a plan as failed and skip the step's dependents.
FAILURE_STATES = frozenset({StepState.FAILED, StepState.CANCELED, StepState.DEAD_LETTER})


class IllegalTransition(ValueError):
    """Raised when an event is applied to a step in a state the table does not allow."""


def transition(state: StepState, event: StepEvent) -> StepState:
    """
    Return the state ``event`` moves a step in ``state`` to.

    :raises IllegalTransition: When the table has no such move, naming the states allowed.
    """
    sources, target = TRANSITIONS[event]
    if state not in sources:
        raise IllegalTransition(
            f'{event.value} not allowed from {state.name} (allowed from '
            f'{", ".join(s.name for s in sorted(sources))})')
    return target
