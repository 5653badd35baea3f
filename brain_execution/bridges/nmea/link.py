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
Link supervision: is the autopilot's state known, and if not, why not.

The link is up while a valid position and a valid heading are both younger than the link
timeout (and, on TCP, while connected). When it is not, the reason decides the code the
running operation ends with:

* nothing arrives, or nothing since early in the outage (disconnected, silent, frozen
  peer): COMMUNICATION_FAILURE;
* sentences arrive and the GNSS says it has no fix (RMC status V, GGA quality 0):
  NAVIGATION_DATA_UNAVAILABLE, as when position or heading sentences are simply absent;
* bytes arrive but fail validation (checksums, garbage): LINK_CORRUPTED.

Not thread-safe: the bridge calls it under its own lock.
"""

import math
import typing

from brain_execution.core.errors import (
    CommunicationError, ExecutionError, LinkCorruptedError, NavigationDataUnavailableError)

from .reading import BAD_CATEGORIES, ReadCounts

__all__ = ['LinkMonitor']


class LinkMonitor:
    """
    Ages of the last data, fix and heading, and what went wrong since.

    :param timeout_s: how old the last valid position or heading may be, seconds.
    :param transport: where the data comes from, for messages.
    """

    def __init__(self, *, timeout_s: float, transport: str):
        self.timeout_s = timeout_s
        self.transport = transport
        self.connected = False
        self.disconnect_reason = 'not connected yet'
        self._data_s: typing.Optional[float] = None
        self._fix_s: typing.Optional[float] = None
        self._heading_s: typing.Optional[float] = None
        # What arrived since the last valid fix and heading: why they are missing.
        self._since_fix = ReadCounts()
        self._since_heading = ReadCounts()

    def on_connection(self, connected: bool, reason: str = '') -> None:
        """Record that the transport connected, or lost its peer (with the reason)."""
        self.connected = connected
        if not connected:
            self.disconnect_reason = reason or 'disconnected'

    def on_data(self, now_s: float) -> None:
        """Record that bytes arrived."""
        self._data_s = now_s

    def on_line(self, category: str) -> None:
        """Record one line's category (see :class:`~.reading.ReadCounts`)."""
        self._since_fix[category] += 1
        self._since_heading[category] += 1

    def on_fix(self, now_s: float) -> None:
        """Record a valid position."""
        self._fix_s = now_s
        self._since_fix.clear()

    def on_heading(self, now_s: float) -> None:
        """Record a valid heading."""
        self._heading_s = now_s
        self._since_heading.clear()

    def _age(self, stamp: typing.Optional[float], now_s: float) -> float:
        return math.inf if stamp is None else now_s - stamp

    def problem(self, now_s: float) -> typing.Optional[ExecutionError]:
        """Return why the link is down now, or None while it is up."""
        if not self.connected:
            return CommunicationError(f'NMEA link ({self.transport}) down: '
                                      f'{self.disconnect_reason}')
        fix_age = self._age(self._fix_s, now_s)
        heading_age = self._age(self._heading_s, now_s)
        if fix_age <= self.timeout_s and heading_age <= self.timeout_s:
            return None
        data_age = self._age(self._data_s, now_s)
        outage = fix_age if fix_age > self.timeout_s else heading_age
        # Silence, unless data kept coming through the later half of the outage: a link
        # that died just after the last fix still delivered a heading or two after it.
        if data_age > self.timeout_s or data_age > 0.5 * outage:
            if self._data_s is None:
                return CommunicationError(f'no NMEA data received yet on {self.transport}')
            return CommunicationError(
                f'NMEA data on {self.transport} stopped {data_age:.1f} s ago: no valid '
                f'position or heading for {outage:.1f} s (link timeout {self.timeout_s:.1f} s)')
        if fix_age > self.timeout_s:
            return self._missing('position', 'RMC/GGA', fix_age, self._since_fix)
        return self._missing('heading', 'HDT/HDG', heading_age, self._since_heading)

    def _missing(self, what: str, sentences: str, age_s: float,
                 since: ReadCounts) -> ExecutionError:
        when = ('never received' if math.isinf(age_s) else
                f'none for {age_s:.1f} s (timeout {self.timeout_s:.1f} s)')
        if what == 'position' and since['no_fix']:
            return NavigationDataUnavailableError(
                f'GNSS reports no fix ({since["no_fix"]} sentences with status V or quality '
                f'0): valid position {when}')
        if since.bad:
            detail = ', '.join(f'{name.replace("_", " ")} {since[name]}'
                               for name in BAD_CATEGORIES if since[name])
            return LinkCorruptedError(
                f'NMEA stream on {self.transport} corrupted: {since.bad} of '
                f'{sum(since.values())} lines failed validation ({detail}); valid {what} '
                f'{when}')
        return NavigationDataUnavailableError(
            f'autopilot sends no valid {what} ({sentences}): {when}')
