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
How long a robot has been silent, on the clocks its silence is about.

A robot executor publishes ``robot_state`` from a timer on its node clock. Under
``use_sim_time`` that clock follows ``/clock``: when the simulator pauses, every robot stops
publishing, and a wall-time silence would count the whole fleet lost. So, with the node's
ROS time active, a silence counts only as far as *both* clocks moved: the node clock (the
robots' time, so a paused ``/clock`` pauses it) and the steady wall clock (so a ``/clock``
faster than real time does not shrink the wall time DDS has to deliver a message). Without
sim time it is the steady clock alone, as it always was.

The waits about communication itself (discovery, goal response, service answers) and the
timers that check deadlines stay on the steady clock: they must go on while ``/clock`` is
paused, and DDS is no faster in simulation.
"""

import time
import typing

from rclpy.clock import Clock

__all__ = ['Instant', 'LinkClock']


class Instant(typing.NamedTuple):
    """A moment on the steady clock and on the node clock (s); sim: ROS time was active."""

    mono: float
    clock_s: float
    sim: bool = False

    def latest(self, other: 'Instant') -> 'Instant':
        """Return the later of the two moments on each clock."""
        return Instant(max(self.mono, other.mono), max(self.clock_s, other.clock_s), self.sim)


class LinkClock:
    """
    Stamp robot_state arrivals and measure silences, by the rule of the module docstring.

    :param clock: the node's clock (``node.get_clock()``); sim time under ``use_sim_time``.
    """

    def __init__(self, clock: Clock):
        self._clock = clock

    def now(self) -> Instant:
        """Return this moment on both clocks."""
        mono = time.monotonic()
        return Instant(mono, self._clock.now().nanoseconds * 1e-9,
                       bool(getattr(self._clock, 'ros_time_is_active', False)))

    @staticmethod
    def silence_s(since: Instant, now: Instant) -> float:
        """Return the seconds of silence from since to now that liveness counts."""
        wall_s = now.mono - since.mono
        if not now.sim:
            return wall_s
        # A /clock reset (simulation restarted) runs the node clock backwards: no silence.
        return max(0.0, min(wall_s, now.clock_s - since.clock_s))
