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
What an action server's goal callback took in, kept for the goal's execute callback.

A goal is answered ACCEPT only once it is stored ("accepted" means durable, DESIGN.md), so
the goal callback submits it, and the execute callback needs what that submit returned.
rclpy hands both callbacks the same goal message object (``ServerGoalHandle.request``):
entries are keyed by its identity, and each entry holds the message, so that the identity
cannot be reused while the entry exists.
"""

import collections
import threading
import typing

__all__ = ['Admissions']


class Admissions:
    """
    Goal message -> what its goal callback admitted (a record, or the error it raised).

    Thread-safe. An entry normally lives from the goal callback to the start of the execute
    callback. Only a goal whose execute callback never runs (its goal response could not be
    sent, the client gone) leaves one behind; ``limit`` bounds those, the oldest dropped
    first. A dropped goal that runs after all is submitted again by its execute callback
    (by its operation id, so it attaches to what the first submit started).

    :param limit: most entries kept.
    :param on_dropped: called (without arguments) each time an entry is dropped.
    """

    def __init__(self, *, limit: int, on_dropped: typing.Callable[[], None] = None):
        if limit < 1:
            raise ValueError(f'limit={limit} must be at least 1')
        self._limit = limit
        self._on_dropped = on_dropped or (lambda: None)
        self._entries: 'collections.OrderedDict[int, typing.Tuple[typing.Any, typing.Any]]' = (
            collections.OrderedDict())
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, goal: typing.Any, admitted: typing.Any) -> None:
        """Keep what goal's goal callback admitted (never None)."""
        dropped = 0
        with self._lock:
            self._entries[id(goal)] = (goal, admitted)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)
                dropped += 1
        for _ in range(dropped):
            self._on_dropped()

    def get(self, goal: typing.Any) -> typing.Any:
        """Return what goal's goal callback admitted, or None (not admitted, or dropped)."""
        with self._lock:
            entry = self._entries.get(id(goal))
        return entry[1] if entry is not None and entry[0] is goal else None

    def discard(self, goal: typing.Any) -> None:
        """Forget goal's entry (its execute callback has taken it)."""
        with self._lock:
            entry = self._entries.get(id(goal))
            if entry is not None and entry[0] is goal:
                del self._entries[id(goal)]
