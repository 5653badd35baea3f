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
The coordinator's events: what its listener receives, and how they reach it.

:class:`EngineEvents` holds the engine's one re-entrant lock. Events are queued under it
while a public call runs and delivered after the outermost call has released it, in the
order they happened, so a listener (or a handle's callback) may call back into the
coordinator without deadlocking and never runs with the lock held.
"""

import collections
import contextlib
import threading
import typing

from .breaker import CircuitInfo
from .journal import DeadLetterRecord
from .operation import Outcome
from .scheduler import PlanOutcome, StepStatus

__all__ = ['CoordinatorListener', 'EngineEvents']


class CoordinatorListener:
    """
    Receives the coordinator's events (for the ROS adapter to publish); methods do nothing.

    Called outside the coordinator's lock, in the order the events happened, after the
    change was journaled. A listener may call back into the coordinator.
    """

    def step_changed(self, plan_id: str, status: StepStatus) -> None:
        """Call after a step changed state."""

    def plan_finished(self, plan_id: str, outcome: PlanOutcome) -> None:
        """Call after a plan ended (and its compensations ran)."""

    def dead_letter_added(self, record: DeadLetterRecord) -> None:
        """Call after an exhausted operation became a dead letter."""

    def circuit_changed(self, info: CircuitInfo) -> None:
        """Call after a circuit breaker changed state."""

    def journal_changed(self, fault: str) -> None:
        """Call when the journal failed a write (fault names it) or works again ('')."""

    def compensation_done(self, plan_id: str, step_id: str, operation: str,
                          outcome: Outcome) -> None:
        """Call after a compensation of a failed or canceled plan ended."""


class EngineEvents:
    """
    The engine's lock, and the queue of events delivered outside it.

    :param log: Receives (level, message), for a listener that raised.
    """

    def __init__(self, log: typing.Callable[[str, str], None]):
        self.lock = threading.RLock()
        self._log = log
        self._local = threading.local()
        self._events: typing.Deque[typing.Callable[[], None]] = collections.deque()
        self._delivering = threading.Lock()

    @contextlib.contextmanager
    def entered(self):
        """Hold the lock for one public call; deliver queued events after the outermost."""
        with self.lock:
            self._local.depth = getattr(self._local, 'depth', 0) + 1
            try:
                yield
            finally:
                self._local.depth -= 1
        if self._local.depth == 0:
            self._deliver()

    def emit(self, event: typing.Callable[[], None]) -> None:
        """Queue ``event()`` for delivery after the current public call."""
        with self.lock:
            self._events.append(event)

    def _deliver(self) -> None:
        # Whoever holds the delivery lock delivers everyone's events, in order; others
        # return at once, so a listener calling back into the coordinator cannot deadlock.
        while True:
            if not self._delivering.acquire(blocking=False):
                return
            try:
                while True:
                    with self.lock:
                        if not self._events:
                            break
                        event = self._events.popleft()
                    try:
                        event()
                    except Exception as e:  # noqa: B902 - a listener must not break the engine
                        self._log('error', f'event listener raised {type(e).__name__}: {e}')
            finally:
                self._delivering.release()
            with self.lock:
                if not self._events:
                    return
