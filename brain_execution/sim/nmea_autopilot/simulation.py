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
The simulated autopilot and its boat, advanced in fixed steps of sim time.

No clock and no sockets here: :meth:`Simulation.advance_to` integrates up to a sim time the
caller gives and returns the bytes the autopilot sends meanwhile, :meth:`Simulation.receive`
takes the bytes it gets. The process around it (:mod:`.server`) owns the clock and decides
how fast sim time runs against wall time; a test may drive it by hand.
"""

import typing

from .autopilot import Autopilot
from .boat import Boat
from .events import EventLog
from .faults import Corrupter, LinkFaults
from .talker import Talker
from ...core.geo import local_to_geographic

__all__ = ['Simulation']

_MAX_LINE = 512


class Simulation:
    """
    One boat, its autopilot, what it says and what goes wrong with it.

    :param step_s: integration step, seconds of sim time.
    :param moored_throttle_mps: if set, the boat lies still (throttle 0) until the autopilot
        first engages a route, then the skipper opens the throttle to this speed: a boat
        waiting at its mooring for its mission, which would otherwise make way on its start
        heading, further the faster sim time runs against the fleet's start-up.
    """

    def __init__(self, *, boat: Boat, autopilot: Autopilot, talker: Talker,
                 faults: LinkFaults, corrupter: Corrupter, events: EventLog,
                 step_s: float = 0.05, moored_throttle_mps: typing.Optional[float] = None):
        if not step_s > 0.0:
            raise ValueError(f'step_s must be > 0, got {step_s!r}')
        self.boat = boat
        self.autopilot = autopilot
        self.talker = talker
        self.faults = faults
        self.corrupter = corrupter
        self.events = events
        self.step_s = step_s
        self.time_s = 0.0
        self._buffer = bytearray()
        self.bytes_received = 0
        self.bytes_discarded = 0
        self._moored_throttle_mps = moored_throttle_mps
        if moored_throttle_mps is not None:
            boat.throttle_mps = 0.0

    def advance_to(self, time_s: float) -> bytes:
        """Integrate up to time_s (whole steps); return the bytes sent on the way."""
        out = []
        while self.time_s + self.step_s <= time_s + 1e-9:
            self.time_s += self.step_s
            self.autopilot.update(self.time_s)
            if self._moored_throttle_mps is not None and self.autopilot.nav:
                self.boat.throttle_mps = self._moored_throttle_mps
                self._moored_throttle_mps = None
                self.events.record('cast_off', self.time_s, throttle_mps=self.boat.throttle_mps)
            self.boat.step(self.step_s, self.autopilot.heading_command)
            for sentence in self.talker.due(self.time_s, self.boat.state(),
                                            fix=not self.faults.no_fix):
                if not self.faults.link_drop:
                    out.append(self.corrupter.apply(sentence, self.faults))
        return b''.join(out)

    @property
    def next_step_s(self) -> float:
        """Return the sim time of the next step."""
        return self.time_s + self.step_s

    def receive(self, data: bytes) -> None:
        """Take bytes from the bridge (discarded while the link is cut)."""
        if self.faults.link_drop:
            self.bytes_discarded += len(data)
            return
        self.bytes_received += len(data)
        self._buffer += data
        *lines, rest = bytes(self._buffer).split(b'\n')
        self._buffer = bytearray(rest[-_MAX_LINE:])
        for line in lines:
            self.autopilot.receive(line.decode('ascii', errors='replace'), self.time_s)

    def set_faults(self, changes: typing.Mapping[str, typing.Any]) -> None:
        """Switch faults (validated all at once) and log the change as an event."""
        self.faults.update(changes)
        self.events.record('faults', self.time_s, **dict(changes))

    def place(self, *, x_m: float, y_m: float, heading_deg: float) -> None:
        """Reposition the boat, stopped, holding that heading (a new run)."""
        self.boat.place(x_m=x_m, y_m=y_m, heading_deg=heading_deg)
        self.autopilot.hold(heading_deg)
        self.events.record('placed', self.time_s, x_m=x_m, y_m=y_m, heading_deg=heading_deg)

    def state(self) -> typing.Dict[str, typing.Any]:
        """Return the boat, autopilot and link counters as plain values."""
        boat = self.boat.state()
        geo = local_to_geographic(self.talker.home, boat.x_m, boat.y_m)
        return {
            'time_s': self.time_s, 'x_m': boat.x_m, 'y_m': boat.y_m,
            'latitude_deg': geo.latitude_deg, 'longitude_deg': geo.longitude_deg,
            'heading_deg': boat.heading_deg, 'speed_mps': boat.speed_mps,
            'throttle_mps': self.boat.throttle_mps, 'nav': self.autopilot.nav,
            'heading_command_deg': self.autopilot.heading_command,
            'received': dict(self.autopilot.counts), 'mangled': dict(self.corrupter.counts),
            'bytes_received': self.bytes_received, 'bytes_discarded': self.bytes_discarded,
            'faults': {'corrupt': self.faults.corrupt, 'noise': self.faults.noise,
                       'link_drop': self.faults.link_drop, 'no_fix': self.faults.no_fix},
            'events': self.events.count,
        }
