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
A re-entrant lock with a lane for work that must not wait for it (emergencies).

:class:`UrgentLock` is used like ``threading.RLock`` (``with lock:``). :meth:`UrgentLock.submit`
queues a callable and never blocks: when the lock is free the caller runs it at once under
the lock; when another thread holds it, that holder runs it, either where it calls
:meth:`UrgentLock.drain` (a tick does so between two program steps) or as it releases the
lock, whichever comes first. So an emergency stop waits for at most one program step, not for
a whole tick over hundreds of operations.

Why nothing is stranded: a submitter appends, then tries the lock. If the try fails, some
holder had the lock at that moment, and every holder, after its outermost release, checks the
queue again (and tries the lock again if it is not empty). That check comes after the append.
"""

import collections
import threading
import typing

__all__ = ['UrgentLock']


class UrgentLock:
    """
    A re-entrant lock whose holders also serve queued urgent work.

    :param on_release: called after the outermost release when urgent work is queued, with
        the lock taken again; normally it calls :meth:`drain`. None = :meth:`drain`.
    """

    def __init__(self, on_release: typing.Optional[typing.Callable[[], None]] = None):
        self._lock = threading.RLock()
        self._depth = 0  # changed only by the holder
        self._urgent: typing.Deque[typing.Callable[[], None]] = collections.deque()
        self._on_release = on_release or self.drain

    def __enter__(self) -> 'UrgentLock':
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(self, *exc_info) -> None:
        self._depth -= 1
        outermost = self._depth == 0
        self._lock.release()
        if outermost:
            self._serve()

    def submit(self, work: typing.Callable[[], None]) -> None:
        """Queue work to run under the lock as soon as possible; never blocks."""
        self._urgent.append(work)
        self._serve()

    @property
    def pending(self) -> int:
        """Return the number of queued urgent callables."""
        return len(self._urgent)

    def drain(self) -> None:
        """Run every queued urgent callable now; only while holding the lock."""
        while True:
            try:
                work = self._urgent.popleft()
            except IndexError:
                return
            work()

    def _serve(self) -> None:
        while self._urgent:
            if not self._lock.acquire(blocking=False):
                return  # the holder serves it (drain, or its own release)
            self._depth += 1
            try:
                self._on_release()
            finally:
                self._depth -= 1
                self._lock.release()
