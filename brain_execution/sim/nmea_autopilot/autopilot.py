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
The simulated autopilot's steering logic, after pypilot's rules for APB.

* Sentences are checked by pynmea2, checksum required; anything else is counted and
  ignored.
* APB is taken at most every 0.5 s (pypilot: ``if t - self.last_time < .5``), and only when
  its heading to steer is true (field 14 ``T``); a magnetic one is ignored, as pypilot
  treats it as a compass-mode hint it does not steer by.
* The heading command is the heading to steer plus ``xte_gain`` degrees per nautical mile of
  cross-track error (pypilot's ``apb.xte.gain``, 300, with the error capped at 0.15 nm,
  negative when the direction to steer is L), applied when it changes by more than 0.1
  degree.
* Nav mode lasts while APBs keep coming: after 8 s without one (pypilot's sensor timeout)
  the autopilot falls back to holding its last heading command. Unlike pypilot, which does
  not read it, an APB with status V (no valid route) drops nav mode at once, as the
  commercial autopilots that honour the status do.
* RMB and XTE are counted and otherwise ignored (pypilot ignores RMB).

Every change the boat physically makes is an event: ``nav_engaged``, ``steer``,
``nav_dropped``, ``arrival``.
"""

import math
import typing

import pynmea2

from .events import EventLog

__all__ = ['Autopilot']

_APB_MIN_INTERVAL_S = 0.5
_NAV_TIMEOUT_S = 8.0
_XTE_CAP_NM = 0.15
_COMMAND_DEADBAND_DEG = 0.1


class Autopilot:
    """
    Turn received NMEA lines into a heading command.

    :param events: where the physical events go.
    :param xte_gain: degrees of heading per nautical mile of cross-track error.
    """

    def __init__(self, events: EventLog, *, xte_gain: float = 300.0):
        self.events = events
        self.xte_gain = xte_gain
        self.nav = False
        #: Heading the rudder steers to (true degrees), None = standby (rudder amidships).
        self.heading_command: typing.Optional[float] = None
        self._last_apb_s = -math.inf
        self._arrived = False
        #: Received lines by what became of them.
        self.counts: typing.Dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def hold(self, heading_deg: float) -> None:
        """Start holding a heading (the skipper engaged the autopilot at this heading)."""
        self.heading_command = heading_deg % 360.0

    def receive(self, line: str, now_s: float) -> None:
        """Act on one received line."""
        line = line.strip()
        if not line:
            return
        try:
            message = pynmea2.parse(line, check=True)
        except pynmea2.ChecksumError:
            self._count('bad_checksum')
            return
        except Exception:  # noqa: B902 - a malformed line must never stop the autopilot
            self._count('unparsable')
            return
        kind = getattr(message, 'sentence_type', '')
        if kind == 'APB':
            self._apb(message, now_s)
        elif kind in ('RMB', 'XTE'):
            self._count(kind.lower())
        else:
            self._count('other')

    def _apb(self, message, now_s: float) -> None:
        if message.status_gen == 'V':
            self._count('apb_invalid')
            if self.nav:
                self._drop('APB status V (no valid route)', now_s)
            return
        if now_s - self._last_apb_s < _APB_MIN_INTERVAL_S:
            self._count('apb_rate_limited')
            return
        self._last_apb_s = now_s
        if message.heading_to_dest_type != 'T':
            self._count('apb_not_true')
            return
        try:
            track = float(message.heading_to_dest)
            xte = min(float(message.cross_track_err_mag), _XTE_CAP_NM)
        except (TypeError, ValueError):
            self._count('apb_unparsable')
            return
        if message.dir_steer == 'L':
            xte = -xte
        self._count('apb')
        if not self.nav:
            self.nav = True
            self.events.record('nav_engaged', now_s, track_deg=track)
        command = (track + self.xte_gain * xte) % 360.0
        if self.heading_command is None or abs(
                (command - self.heading_command + 180.0) % 360.0 - 180.0) > \
                _COMMAND_DEADBAND_DEG:
            self.heading_command = command
            self.events.record('steer', now_s, heading_command_deg=round(command, 2))
        arrived = message.arr_circle_entered == 'A' or message.perp_passed == 'A'
        if arrived and not self._arrived:
            self.events.record('arrival', now_s, waypoint=message.dest_waypoint_id)
        self._arrived = arrived

    def update(self, now_s: float) -> None:
        """Drop nav mode once APBs have stopped for pypilot's 8 s."""
        if self.nav and now_s - self._last_apb_s > _NAV_TIMEOUT_S:
            self._drop(f'no APB for {_NAV_TIMEOUT_S:.0f} s', now_s)

    def _drop(self, reason: str, now_s: float) -> None:
        self.nav = False
        self._arrived = False
        # The last heading command stays: pypilot falls back to GPS/compass heading hold.
        self.events.record('nav_dropped', now_s, reason=reason,
                           heading_command_deg=self.heading_command)
