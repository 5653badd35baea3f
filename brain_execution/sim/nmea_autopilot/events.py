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
What the simulated boat physically did, from its own side: one JSON object per event.

Each event has ``seq`` (from 0, never reused), ``t`` (sim time, s) and ``event``, plus its
own fields. They are kept in memory (the last ``capacity``, read through the control
socket) and, with ``--events PATH``, appended to a JSON-lines file as they happen, so a
test counts what the boat did without trusting the bridge's account.
"""

import collections
import json
import typing

__all__ = ['EventLog']


class EventLog:
    """
    A bounded, numbered log of events, optionally mirrored to a JSON-lines file.

    :param path: file to append to; None = memory only.
    :param capacity: events kept in memory.
    """

    def __init__(self, path: typing.Optional[str] = None, capacity: int = 10000):
        self._events: typing.Deque[dict] = collections.deque(maxlen=capacity)
        self._next = 0
        self._file = open(path, 'a', encoding='utf-8') if path else None

    def record(self, event: str, t: float, **fields) -> dict:
        """Append an event at sim time t; return it."""
        entry = {'seq': self._next, 't': round(t, 3), 'event': event, **fields}
        self._next += 1
        self._events.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(entry) + '\n')
            self._file.flush()
        return entry

    def since(self, seq: int) -> typing.List[dict]:
        """Return the events numbered seq and later that are still in memory."""
        return [e for e in self._events if e['seq'] >= seq]

    @property
    def count(self) -> int:
        """Return how many events were recorded in all."""
        return self._next

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
