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
Handles of submitted plans, and the registry of the plans one coordinator run knows.

A :class:`PlanHandle` is what a caller holds: the outcome once the plan ended, callbacks, and
the steps' states. :class:`PlanRegistry` finds a plan's handle by plan id, or an active
plan's step by operation id, completes a handle once its plan ended, and keeps a bounded
ring of ended plans' handles.
"""

import collections
import threading
import typing

from .journal_guard import JournalGuard
from .plan import operation_id_for, Plan
from .plan_codec import outcome_to_dict, plan_to_dict
from .run_state import RunState
from .scheduler import PlanOutcome, PlanScheduler, StepStatus

__all__ = ['PlanHandle', 'PlanRegistry']


class PlanHandle:
    """
    A submitted plan (or single operation): its outcome once ended, and its steps' states.

    :param plan_id: The plan.
    """

    def __init__(self, plan_id: str, *, snapshot: typing.Callable[[], tuple],
                 operation_ids: typing.Sequence[str] = (),
                 content: typing.Optional[typing.Mapping[str, typing.Any]] = None):
        self.plan_id = plan_id
        # The plan as journaled, to refuse its id reused for another plan (plan_identity).
        self.content = content
        self._snapshot = snapshot
        self._operation_ids = tuple(operation_ids)
        self._lock = threading.Lock()
        self._outcome: typing.Optional[PlanOutcome] = None
        self._callbacks: typing.List[typing.Callable[[PlanOutcome], None]] = []
        self._final: tuple = ()

    @property
    def done(self) -> bool:
        return self._outcome is not None

    @property
    def outcome(self) -> typing.Optional[PlanOutcome]:
        """Return how the plan ended, or None while it runs."""
        return self._outcome

    def add_done_callback(self, callback: typing.Callable[[PlanOutcome], None]) -> None:
        """Call ``callback(outcome)`` once the plan ends (at once if it has)."""
        with self._lock:
            if self._outcome is None:
                self._callbacks.append(callback)
                return
        callback(self._outcome)

    def snapshot(self) -> typing.Tuple[StepStatus, ...]:
        """Return every step's status, in plan order."""
        return self._snapshot()

    def _complete(self, outcome: PlanOutcome,
                  final: tuple) -> typing.List[typing.Callable[[PlanOutcome], None]]:
        with self._lock:
            self._final = final
            self._outcome = outcome
            callbacks, self._callbacks = self._callbacks, []
        return callbacks

    def __repr__(self) -> str:
        state = self._outcome.state.name if self._outcome else 'RUNNING'
        return f'PlanHandle({self.plan_id!r}, {state})'


class PlanRegistry:
    """
    The handles of one coordinator run's plans, from acceptance to their end.

    Used under the engine lock (which :meth:`snapshot` takes itself, for handles read from
    other threads).

    :param max_finished: Ended plans whose handles stay known.
    :param emit: Queues a call for delivery outside the lock (the handles' callbacks).
    :param on_finished: ``on_finished(plan_id, outcome)`` once a plan ended, to tell the
        listener.
    """

    def __init__(self, *, max_finished: int, lock: typing.ContextManager,
                 scheduler: PlanScheduler, guard: JournalGuard, run: RunState,
                 log: typing.Callable[[str, str], None],
                 emit: typing.Callable[[typing.Callable[[], None]], None],
                 on_finished: typing.Callable[[str, PlanOutcome], None]):
        self.active: typing.Dict[str, PlanHandle] = {}
        # Handles of ended plans: a ring, so memory stays bounded however many plans end.
        self._finished: 'collections.OrderedDict[str, PlanHandle]' = collections.OrderedDict()
        self._max_finished = max_finished
        self._lock = lock
        self._scheduler = scheduler
        self._guard = guard
        self._run = run
        self._log = log
        self._emit = emit
        self._on_finished = on_finished
        # Operation id -> (plan_id, step_id), for the active plans only.
        self._op_index: typing.Dict[str, typing.Tuple[str, str]] = {}

    def handle(self, plan_id: str) -> typing.Optional[PlanHandle]:
        """Return the handle of an active or a remembered ended plan, or None."""
        return self.active.get(plan_id) or self._finished.get(plan_id)

    def where(self, operation_id: str) -> typing.Optional[typing.Tuple[str, str]]:
        """Return (plan_id, step_id) of the active plan step with an operation id, or None."""
        return self._op_index.get(operation_id)

    def snapshot(self, plan_id: str) -> typing.Tuple[StepStatus, ...]:
        """Return the statuses of a plan's steps: live, or as it ended; () when unknown."""
        with self._lock:
            if plan_id in self._scheduler:
                return self._scheduler.snapshot(plan_id)
            handle = self.handle(plan_id)
            return handle._final if handle is not None else ()

    def register(self, plan: Plan) -> PlanHandle:
        """Return a new handle of an active plan, found by its plan and operation ids."""
        op_ids = [operation_id_for(plan.plan_id, step) for step in plan.steps]
        handle = PlanHandle(plan.plan_id, operation_ids=op_ids,
                            snapshot=lambda: self.snapshot(plan.plan_id),
                            content=plan_to_dict(plan))
        self.active[plan.plan_id] = handle
        for step, op_id in zip(plan.steps, op_ids):
            self._op_index[op_id] = (plan.plan_id, step.step_id)
        return handle

    def keep_finished(self, handle: PlanHandle) -> None:
        """Remember an ended plan's handle, dropping the oldest beyond the limit."""
        self._finished[handle.plan_id] = handle
        while len(self._finished) > self._max_finished:
            self._finished.popitem(last=False)

    def finalize(self, plan_id: str, outcome: PlanOutcome) -> None:
        """Journal a plan's end (after its compensations), then complete its handle."""
        self._guard.call(f'finish of plan {plan_id}', lambda: self._guard.journal.finish_plan(
            plan_id, outcome_to_dict(outcome)))
        final = self._scheduler.snapshot(plan_id) if plan_id in self._scheduler else ()
        handle = self.active.pop(plan_id, None)
        self._run.canceled.discard(plan_id)
        if handle is None:
            return
        for op_id in handle._operation_ids:
            if self._op_index.get(op_id, (None,))[0] == plan_id:
                del self._op_index[op_id]
        for status in final:
            self._run.sent.discard((plan_id, status.step_id))
        self.keep_finished(handle)
        level = 'info' if outcome.succeeded else 'warn'
        self._log(level, f'plan {plan_id!r} {outcome.state.name}'
                         + (f': {outcome.message}' if outcome.message else ''))
        for callback in handle._complete(outcome, final):
            self._emit(lambda callback=callback: callback(outcome))
        self._on_finished(plan_id, outcome)
