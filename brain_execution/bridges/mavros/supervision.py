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
Who controls the vehicle, and whether the link holds; no ROS here.

:class:`Supervisor` looks at every new :class:`~.fcu_state.FcuState` and says when the running
operation must end, and what the bridge must command then (:attr:`Event.action`):

* the link is lost: ``connected`` false, or ``state`` or the local pose stale
  (COMMUNICATION_FAILURE); the action is ``mavros.link_loss_action``;
* the position is lost: the GPS reports no fix (POSITION_LOST); a copter lands, a rover or
  boat holds;
* the mode changed while armed to one the bridge did not command: a failsafe mode is the
  autopilot's own (PLATFORM_FAILSAFE), any other a pilot's or another client's
  (MANUAL_OVERRIDE). Control is then *released*: the bridge never switches back; ``hold``
  is acknowledged without acting, and new motion is refused until the pilot hands back
  (selects the guided mode) or the vehicle is disarmed.

Two rules keep the bridge from overriding the autopilot's own safety:

* Staleness counts only time the bridge itself ran. It checks on every period of its
  timer; a longer silence between two checks means its own process was not scheduled
  (stopped, starved), so the messages that came meanwhile are still queued, unread. Such a
  silence counts as one period: after a resume the link has its full timeout to show
  fresh messages before it is called lost. (PX4 meanwhile saw the setpoint stream stop
  and failed safe to AUTO.RTL; commanding ``link_loss_action`` over that would make it
  loiter instead of returning.) A bridge starved again and again still finds a dead link,
  later: every check adds at least one period.
* No action is commanded while the vehicle is in a mode the autopilot flies by itself
  (RTL, LAND, its failsafes) or while a pilot or the autopilot has control: a link lost
  while the autopilot is in a failsafe it entered by itself ends the operation with
  PLATFORM_FAILSAFE and leaves the vehicle to it.

A ``land`` or ``rtl`` link-loss action rarely reaches the vehicle: the link is down. It is
kept, and :meth:`Supervisor.late_action` hands it back once when the link is back, decided
on the first ``state`` received after the loss (one from before could show the guided mode
while PX4 has long failed safe): the bridge commands it then if the vehicle is still armed
in a mode the bridge commanded, with its position; in any other case (disarmed, already in
it, the autopilot's own RTL, LAND or failsafe, a pilot's mode) it is dropped, with the
reason. An operator's command in between (:meth:`Supervisor.take_back`) drops it too. A
``hold`` has no late action: the bridge holds where the vehicle is when the link is back.
"""

import collections
import dataclasses
import typing

from brain_execution.core.errors import (
    CommunicationError, ExecutionError, ManualOverrideError, PlatformFailsafeError,
    PositionLostError)

from .fcu_state import FcuState
from .settings import MavrosSettings

__all__ = ['Event', 'LateAction', 'Supervisor']


@dataclasses.dataclass(frozen=True)
class Event:
    """
    Why the running operation ends; ``kind`` is link, position, failsafe or pilot.

    :param action: the mode the bridge must command now; '' = none (the autopilot or a
        pilot has the vehicle).
    """

    kind: str
    error: ExecutionError
    action: str = ''


@dataclasses.dataclass(frozen=True)
class LateAction:
    """
    The link-loss action the link did not let through, decided once it is back.

    :param mode: the mode the bridge must command now; '' = dropped.
    :param reason: why it is commanded, or why not.
    """

    mode: str
    reason: str


class Supervisor:
    """
    Decide link health and who controls the vehicle; not thread-safe (the bridge locks).

    :param settings: the ``mavros.*`` parameters (timeouts, mode table, names).
    """

    def __init__(self, settings: MavrosSettings):
        self._s = settings
        self._modes = settings.modes
        self.expected: typing.FrozenSet[str] = frozenset()
        self._coming: typing.FrozenSet[str] = frozenset()
        #: Why the bridge gave control away (pilot, failsafe), or '' while it has it.
        self.released = ''
        self._link_problem = 'no state from MAVROS yet'
        self._had_fix = False
        self._position_lost = False
        m = self._modes
        # Modes the autopilot flies by itself: never overridden by a link-loss action.
        self._autopilot_modes = (m.failsafe | m.after_rtl | {m.rtl, m.land}) - {''}
        # Checks come every timer period; a longer silence is the bridge not running. Three
        # periods of slack, as for the setpoint stream (PX4 sees the same gap).
        self._period_s = 1.0 / settings.setpoint_rate_hz
        self._gap_s = 3.0 * self._period_s + 0.05
        self._checked_s: typing.Optional[float] = None
        # Time the bridge was not scheduled, in total, and per stall (when it resumed, the
        # total before it); bounded: a message older than 64 stalls is stale anyway.
        self._unscheduled_s = 0.0
        self._stalls: typing.Deque[typing.Tuple[float, float]] = collections.deque(maxlen=64)
        #: How long the bridge was not scheduled before the last check, s (0 = it ran).
        self.stalled_s = 0.0
        # The land or rtl link-loss action to command once the link is back ('' = none),
        # and when the loss was found (node clock, s): the state that decides is newer.
        self._late = ''
        self._late_since = 0.0

    def expect(self, modes: typing.Iterable[str]) -> None:
        """
        Record the modes the bridge commands.

        Until ``state`` shows one of them, the mode the bridge left counts as expected too:
        the autopilot switches a moment after ``set_mode``.
        """
        self._coming = frozenset(modes)
        self.expected = self.expected | self._coming

    def take_back(self) -> str:
        """
        Take control back: an operator's new command after a link loss.

        :return: the late link-loss action this drops, or ''.
        """
        self.released = ''
        dropped, self._late = self._late, ''
        return dropped

    def _note_schedule(self, now_s: float) -> None:
        """Record a silence since the last check as time the bridge was not scheduled."""
        gap = 0.0 if self._checked_s is None else now_s - self._checked_s
        self._checked_s = now_s
        self.stalled_s = gap if gap > self._gap_s else 0.0
        if self.stalled_s:
            self._stalls.append((now_s, self._unscheduled_s))
            self._unscheduled_s += gap - self._period_s

    def _age(self, received_s: float, now_s: float) -> float:
        """Return how long the bridge ran since ``received_s`` (node clock), s."""
        excluded = 0.0
        for resumed_s, before in reversed(self._stalls):
            if resumed_s <= received_s:
                break
            excluded = self._unscheduled_s - before
        return now_s - received_s - excluded

    def link_problem(self, state: FcuState, now_s: float) -> str:
        """Return why the link counts as down, or ''; ages count only the bridge's time."""
        s = self._s
        if state.state_s is None:
            return f'no state from {s.resolve("state")} yet'
        age = self._age(state.state_s, now_s)
        if age > s.state_timeout_s:
            return (f'no state from {s.resolve("state")} for {age:.1f} s '
                    f'(mavros.state_timeout_s {s.state_timeout_s:.1f})')
        if not state.connected:
            return (f'MAVROS reports the autopilot disconnected ({s.resolve("state")}.connected '
                    'false: no heartbeat for 10 s)')
        if state.pose_s is not None and self._age(state.pose_s, now_s) > s.pose_timeout_s:
            return (f'no pose from {s.resolve("local_position/pose")} for '
                    f'{self._age(state.pose_s, now_s):.1f} s (mavros.pose_timeout_s '
                    f'{s.pose_timeout_s:.1f})')
        return ''

    def check(self, state: FcuState, now_s: float) -> typing.Optional[Event]:
        """Return the event that ends the running operation, once per occurrence, or None."""
        self._note_schedule(now_s)
        problem = self.link_problem(state, now_s)
        was_up = not self._link_problem
        self._link_problem = problem
        if problem:
            return self._link_lost(state, problem, now_s) if was_up else None
        fixed = state.fix_status is not None and state.fix_status >= 0
        lost = self._had_fix and state.fix_status is not None and state.fix_status < 0
        self._had_fix = self._had_fix or fixed
        if lost and not self._position_lost:
            self._position_lost = True
            return Event('position', PositionLostError(
                f'{self._s.autopilot} lost its GPS fix '
                f'({self._s.resolve("global_position/global")} reports NO_FIX)'),
                action='' if self._handed_over() else self._modes.land or self._modes.hold)
        self._position_lost = lost
        if not state.armed:
            # Disarmed, nobody flies: PX4's mode after a landing (it returns to the last user
            # mode) means nothing, and a released vehicle is the bridge's again.
            self.released = ''
            return None
        mode = state.mode
        if mode in self._coming:
            self.expected = self._coming
        if self.released:
            if mode == self._modes.guided:
                self.released = ''  # the pilot handed back by selecting the guided mode
            return None
        if not self._foreign(mode):
            return None
        before, self.expected = sorted(self.expected), frozenset()
        if mode in self._modes.failsafe:
            return self._failsafe(mode)
        self.released = f'the mode was changed to {mode} by a pilot or another client'
        return Event('pilot', ManualOverrideError(
            f'mode changed to {mode} by a pilot or another client while the bridge flew in '
            f'{before}; the operation ended and the bridge will not '
            'switch back'))

    def _foreign(self, mode: str) -> bool:
        """Whether the bridge flew and ``mode`` is not one it commanded."""
        return bool(self.expected) and bool(mode) and mode not in self.expected

    def _handed_over(self) -> bool:
        """Whether a pilot or the autopilot has control (not a link or position loss)."""
        return bool(self.released) and not self.released.startswith(
            ('link lost', 'position lost'))

    def _failsafe(self, mode: str, after: str = '') -> Event:
        self.released = f'the autopilot entered {mode} by itself (failsafe)'
        return Event('failsafe', PlatformFailsafeError(
            f'{self._s.autopilot} entered {mode} by itself (a failsafe: battery, link, '
            f'geofence or offboard loss); it keeps control{after}'))

    def _link_lost(self, state: FcuState, problem: str, now_s: float) -> Event:
        """Return the event of a link just lost; no action over the autopilot or a pilot."""
        mode = state.mode
        self._late = ''
        flying_itself = state.armed and mode in self._autopilot_modes
        if flying_itself and mode in self._modes.failsafe and not self.released and \
                self._foreign(mode):
            # The autopilot failed safe by itself before the link went (its last state says
            # so): that ends the operation, and the vehicle stays in its hands.
            self.expected = frozenset()
            return self._failsafe(mode, f'; then the link was lost: {problem}')
        error = CommunicationError(f'link to the autopilot lost: {problem}')
        if flying_itself or self._handed_over():
            return Event('link', error)
        m = self._modes
        action = {'hold': m.hold, 'land': m.land or m.hold,
                  'rtl': m.rtl}[self._s.link_loss_action]
        if self._s.link_loss_action != 'hold':
            self._late, self._late_since = action, now_s
        return Event('link', error, action=action)

    def late_action(self, state: FcuState) -> typing.Optional[LateAction]:
        """
        Return the link-loss action to command now the link is back, once per loss, or None.

        None while there is none, the link is down, or no ``state`` came since the loss.
        Then the action is decided once: commanded while the vehicle is armed in a mode
        the bridge commanded (the guided mode, mostly) with its position; else dropped.
        """
        if not self._late or self._link_problem or state.state_s is None or \
                state.state_s <= self._late_since:
            return None
        action, self._late = self._late, ''
        mode = state.mode
        if not state.armed:
            why = 'the vehicle is disarmed'
        elif mode == action:
            why = f'the vehicle is in {mode} already'
        elif mode in self._autopilot_modes:
            why = f'the autopilot flies by itself in {mode} (its RTL, LAND or failsafe)'
        elif self._handed_over() or mode not in self.expected:
            why = f"{mode or 'the mode'} is a pilot's or another client's: never fought"
        elif self._position_lost:
            why = 'the position is lost (the vehicle lands or holds)'
        else:
            return LateAction(action, f'the link is back with the vehicle armed in {mode}, '
                                      'a mode the bridge commanded')
        return LateAction('', why)

    @property
    def link_up(self) -> bool:
        """Whether the last check found the link up."""
        return not self._link_problem

    @property
    def last_link_problem(self) -> str:
        """Why the link is down ('' when up)."""
        return self._link_problem
