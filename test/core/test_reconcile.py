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

"""The step state table and the reconcile decisions, on their own."""

from brain_execution.core.errors import ErrorCode
from brain_execution.core.operation import OperationState, Outcome
from brain_execution.core.reconcile import Action, Reconciler
from brain_execution.core.step_state import (
    IllegalTransition, StepEvent, StepState, transition, TRANSITIONS)
import pytest

LOST = Outcome(ErrorCode.COMMUNICATION_FAILURE, 'no answer', True)


def decide(reconciler, *, state=None, outcome=None, failure=None, repeat=False, now=10.0,
           resends=0):
    return reconciler.on_answer(state, outcome, failure, safe_to_repeat=repeat,
                                unknown_since_s=0.0, now_s=now, resends=resends, what='op')


def test_a_reconciling_step_never_starts_a_new_attempt_directly():
    with pytest.raises(IllegalTransition, match='start not allowed from RECONCILING'):
        transition(StepState.RECONCILING, StepEvent.START)
    assert transition(StepState.RECONCILING, StepEvent.RESUME) is StepState.RUNNING
    assert transition(StepState.RUNNING, StepEvent.LOSE) is StepState.RECONCILING
    targets = {target for _, target in TRANSITIONS.values()}
    assert StepState.UNKNOWN not in targets


def test_the_robots_outcome_ends_the_step():
    ended = Outcome(ErrorCode.NONE)
    decision = decide(Reconciler(), state=OperationState.SUCCEEDED, outcome=ended)
    assert (decision.action, decision.outcome) == (Action.END, ended)


def test_running_or_never_seen_resends_the_same_id_a_bounded_number_of_times():
    reconciler = Reconciler(max_resends=2)
    assert decide(reconciler, state=OperationState.RUNNING).action is Action.RESEND
    assert decide(reconciler).action is Action.RESEND
    gave_up = decide(reconciler, resends=2)
    assert gave_up.action is Action.GIVE_UP
    assert gave_up.outcome.code == ErrorCode.OUTCOME_UNKNOWN


def test_unreachable_is_asked_again_until_the_deadline_then_gives_up_or_repeats():
    reconciler = Reconciler(deadline_s=30.0, interval_s=4.0)
    again = decide(reconciler, failure=LOST, now=28.0)
    assert (again.action, again.ask_at_s) == (Action.ASK_AGAIN, 30.0)
    gave_up = decide(reconciler, failure=LOST, now=30.0)
    assert gave_up.action is Action.GIVE_UP and not gave_up.outcome.retryable
    repeated = decide(reconciler, failure=LOST, now=30.0, repeat=True)
    assert repeated.action is Action.REPEAT and repeated.outcome.retryable


@pytest.mark.parametrize('kwargs', [{'deadline_s': 0.0}, {'interval_s': 0.0},
                                    {'deadline_s': 1.0, 'interval_s': 2.0},
                                    {'max_resends': 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Reconciler(**kwargs)
