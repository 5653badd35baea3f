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
Journal writes the engine must not stop for, and the fault a failed one leaves.

A write the journal failed to store is never swallowed: :class:`JournalGuard` keeps the
fault, which closes the coordinator's intake (JOURNAL_UNAVAILABLE), until a probe write
succeeds again. What was not stored is safe to lose only because nothing is acknowledged on
top of it: the step the write belonged to is reconciled by its id after a restart.
"""

import typing

from .errors import ExecutionError
from .journal import Journal

__all__ = ['JournalGuard']

# A journal that failed a write is probed at most this often (s, engine clock) until a write
# succeeds again and intake reopens.
_JOURNAL_PROBE_INTERVAL_S = 1.0


class JournalGuard:
    """
    Runs the engine's journal writes and tracks whether the journal stores them.

    Called under the engine lock only.

    :param journal: The journal; None (no journal) makes every write a no-op.
    :param log: Receives (level, message).
    :param on_change: Called with the fault when the journal starts failing, '' once it
        stores writes again.
    """

    def __init__(self, journal: typing.Optional[Journal], *,
                 log: typing.Callable[[str, str], None],
                 on_change: typing.Callable[[str], None]):
        self.journal = journal
        self._log = log
        self._on_change = on_change
        # Why the journal is failing writes ('' while it works), and when it was last probed.
        self.fault = ''
        self._probed_s = -float('inf')

    def call(self, what: str, call: typing.Callable[[], typing.Any]) -> typing.Any:
        """Run a journal write whose failure must not stop the engine; raise the fault."""
        if self.journal is None:
            return None
        try:
            return call()
        except (ExecutionError, ValueError) as e:
            self.failed(what, e)
            return None

    def failed(self, what: str, error: Exception) -> None:
        """Record that the journal did not store a write: intake closes until a probe succeeds."""
        first = not self.fault
        self.fault = f'{what}: {error}'
        self._log('error', f'journal: {what} not stored: {error}; new work is refused with '
                           f'JOURNAL_UNAVAILABLE until the journal stores writes again')
        if first:
            self._on_change(self.fault)

    def probe(self, now: float) -> None:
        """While the journal is failing, try one real write now and then; reopen on success."""
        if not self.fault or self.journal is None or \
                now - self._probed_s < _JOURNAL_PROBE_INTERVAL_S:
            return
        self._probed_s = now
        try:
            self.journal.probe()
        except (ExecutionError, ValueError) as e:
            self._log('debug', f'journal still failing: {e}')
            return
        self._log('info', f'journal stores writes again (after: {self.fault}); '
                          f'intake reopened')
        self.fault = ''
        self._on_change('')
