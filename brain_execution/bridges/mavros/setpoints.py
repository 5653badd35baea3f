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
What the setpoint stream sends on each period of its timer; no ROS here.

PX4 leaves OFFBOARD (and fails safe to RTL) when setpoints stop for ``COM_OF_LOSS_T``
(1 s) and refuses OFFBOARD without a stream already running, so for PX4 the stream runs from
the first pose to the end, whether or not an operation ticks: the latched target, else the
current position (hover or stand here). Leaving OFFBOARD drops the target, so the next entry
starts where the vehicle is, never at a stale target.

ArduPilot needs no stream; in GUIDED the latched target is re-sent once a second (rovers
and boats stop when commands cease), and nothing is sent in other modes, where ArduPilot
ignores targets anyway. While the link is down only a newly latched target is sent (the
link-loss hold, in case it gets through): a re-sent one could not arrive, and the first to
arrive when the link comes back would be stale (the bridge latches a fresh hold first).
"""

import typing

from .fcu_state import FcuState, Pose
from .modes import ModeProfile

__all__ = ['SetpointStream']

# ArduPilot: a guided target is re-sent this often, s (velocity commands time out after 1 s).
_ARDUPILOT_RESEND_S = 1.0


class SetpointStream:
    """
    The target of the stream and when to send it; not thread-safe (the bridge locks).

    :param modes: the autopilot's mode table.
    :param period_s: the timer's period.
    """

    def __init__(self, modes: ModeProfile, period_s: float):
        self._modes = modes
        self._period_s = period_s
        self.target: typing.Optional[Pose] = None
        self._last_mode = ''
        self._first_s: typing.Optional[float] = None
        self._last_s: typing.Optional[float] = None
        self._fresh = False

    def set_target(self, target: typing.Optional[Pose]) -> None:
        """Latch a target (MAVROS local frame); None streams the current position."""
        self.target = target
        self._fresh = True

    def setpoint(self, state: FcuState, now_s: float,
                 link_up: bool = True) -> typing.Optional[Pose]:
        """
        Return the setpoint to publish now, or None; call once per timer period.

        :param link_up: whether the bridge finds the link up; PX4's stream ignores it.
        """
        guided = self._modes.guided
        if self._last_mode == guided and state.mode != guided:
            self.target = None
        self._last_mode = state.mode
        if self._modes.needs_stream:
            setpoint = self.target or state.pose
        elif state.mode == guided and self.target is not None and (
                self._fresh or (link_up and (self._last_s is None
                                             or now_s - self._last_s >= _ARDUPILOT_RESEND_S))):
            setpoint = self.target
        else:
            setpoint = None
        if setpoint is not None:
            self._fresh = False
            if self._last_s is None or now_s - self._last_s > 3.0 * self._period_s + 0.05:
                self._first_s = now_s  # a gap: PX4 starts counting again
            self._last_s = now_s
        return setpoint

    def streaming_s(self, now_s: float) -> float:
        """Return for how long setpoints have gone out without a gap, s (0 = not streaming)."""
        if self._last_s is None or now_s - self._last_s > 3.0 * self._period_s + 0.05:
            return 0.0
        return now_s - self._first_s
