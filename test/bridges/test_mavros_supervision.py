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
The MAVROS supervisor's link rules, in plain Python with the bridge's timing.

The bridge checks on every period of its 20 Hz timer; :class:`_Bridge` does the same with
explicit times, so a test says when telemetry arrived, when the bridge ran, and when it did
not (its process stopped: no checks at all). It asks for the late link-loss action after
every check, as the bridge does, and keeps what it got in ``late``.
"""

import dataclasses

from brain_execution.bridges.mavros.fcu_state import FcuState, Pose
from brain_execution.bridges.mavros.settings import declare_settings
from brain_execution.bridges.mavros.supervision import Supervisor
from brain_execution.core.errors import ErrorCode
import pytest

_PERIOD_S = 0.05  # mavros.setpoint_rate_hz 20


class _Parameters:
    """A ParameterSource giving the defaults, overridden by the test's values."""

    def __init__(self, **values):
        self.values = values

    def declare(self, name, default, description, limits=None):
        return self.values.get(name, default)


class _Bridge:
    """A supervisor checked as the bridge's timer checks it, with telemetry set by the test."""

    def __init__(self, autopilot='px4', mode='OFFBOARD', **parameters):
        self.settings = declare_settings(_Parameters(autopilot=autopilot, **parameters))
        self.supervisor = Supervisor(self.settings)
        self.t = 100.0
        self.state = FcuState(connected=True, armed=True, mode=mode, state_s=self.t,
                              pose=Pose(0.0, 0.0, 5.0, 0.0), pose_s=self.t, fix_status=0,
                              landed_state=2)
        # The bridge flies in ``mode``: the supervisor learns it as the bridge's own.
        self.supervisor.expect({mode})
        assert self.supervisor.check(self.state, self.t) is None
        self.late = []

    def run(self, seconds, *, fresh=True, only_pose=False, **changes):
        """
        Check every period for ``seconds``; telemetry arrives meanwhile unless not fresh.

        :param only_pose: only poses arrive, no state (MAVROS's comes once a second).
        """
        self.state = dataclasses.replace(self.state, **changes)
        events = []
        for _ in range(round(seconds / _PERIOD_S)):
            self.t += _PERIOD_S
            if fresh:
                self.state = dataclasses.replace(
                    self.state, pose_s=self.t,
                    state_s=self.state.state_s if only_pose else self.t)
            events.append(self.supervisor.check(self.state, self.t))
            late = self.supervisor.late_action(self.state)
            if late is not None:
                self.late.append(late)
        return [e for e in events if e is not None]

    def lose_the_link(self):
        """Let telemetry stop until the link is lost; do with the action what the bridge does."""
        decided = len(self.late)
        (event,) = self.run(1.2, fresh=False)
        assert event.kind == 'link', event
        if event.action:
            self.supervisor.released = f'link lost: commanding {event.action}'
            self.supervisor.expect({event.action})  # its ensure_mode, through a dead link
        assert self.run(4.0, fresh=False) == [] and len(self.late) == decided
        return event

    def stall(self, seconds):
        """Let time pass with the bridge not running: no check, and nothing read."""
        self.t += seconds


def test_a_pose_stale_while_the_bridge_runs_is_link_loss_and_commands_the_hold():
    bridge = _Bridge()
    assert bridge.run(0.9, fresh=False) == []  # pose_timeout_s 1.0 not reached yet
    (event,) = bridge.run(0.3, fresh=False)
    assert event.kind == 'link' and event.error.code == ErrorCode.COMMUNICATION_FAILURE
    assert 'no pose' in str(event.error) and event.action == 'AUTO.LOITER'
    assert not bridge.supervisor.link_up and bridge.supervisor.stalled_s == 0.0


def test_time_its_own_process_was_stalled_does_not_count_towards_staleness():
    bridge = _Bridge()
    assert bridge.run(0.3, fresh=False) == []  # the last pose came 0.3 s before the stall
    bridge.stall(1.5)  # longer than pose_timeout_s: the last pose read is 1.8 s old
    assert bridge.run(_PERIOD_S, fresh=False) == [], 'a stall of the bridge is not link loss'
    assert bridge.supervisor.stalled_s == pytest.approx(1.5 + _PERIOD_S)
    assert bridge.supervisor.link_up
    # Nothing fresh comes after the resume either: the bridge ran 0.35 s since the last pose
    # (the stall counts as one period), so the link is lost 0.65 s later.
    assert bridge.run(0.6, fresh=False) == []
    (event,) = bridge.run(0.1, fresh=False)
    assert event.kind == 'link' and 'no pose' in str(event.error), event
    assert bridge.supervisor.stalled_s == 0.0


def test_messages_read_after_a_stall_are_fresh_and_later_stalls_do_not_age_them():
    bridge = _Bridge()
    bridge.stall(1.5)
    assert bridge.run(0.5) == []  # the queued telemetry is read: fresh from here on
    assert bridge.run(0.9, fresh=False) == []
    bridge.stall(2.0)  # a second stall does not age what came before it either
    assert bridge.run(_PERIOD_S, fresh=False) == []
    (event,) = bridge.run(0.3, fresh=False)
    assert event.kind == 'link', event


def test_a_bridge_starved_again_and_again_still_finds_a_dead_link():
    bridge = _Bridge()
    events = []
    for _ in range(40):  # a check only every 0.3 s, nothing received: 12 s
        bridge.stall(0.3 - _PERIOD_S)
        events += bridge.run(_PERIOD_S, fresh=False)
        assert bridge.supervisor.stalled_s == pytest.approx(0.3)
    # Every silence counts as one period: lost after 1 s of the bridge's time, 20 checks.
    assert [e.kind for e in events] == ['link'], events


def test_ordinary_timer_jitter_is_not_a_stall():
    bridge = _Bridge()
    bridge.stall(2 * _PERIOD_S)  # three periods between two checks: still the bridge running
    bridge.run(_PERIOD_S, fresh=False)
    assert bridge.supervisor.stalled_s == 0.0
    # So the staleness clock was not restarted: the pose is stale 1 s after it came.
    (event,) = bridge.run(0.9, fresh=False)
    assert event.kind == 'link'


def test_a_disconnect_is_link_loss_even_right_after_a_stall():
    bridge = _Bridge()
    bridge.stall(2.0)
    (event,) = bridge.run(_PERIOD_S, fresh=False, connected=False)
    assert event.kind == 'link' and 'disconnected' in str(event.error)


def test_a_failsafe_seen_after_a_stall_is_platform_failsafe_and_nothing_is_commanded():
    """The bug of issue 7: the executor froze, PX4 failed safe to AUTO.RTL meanwhile."""
    bridge = _Bridge()
    bridge.stall(1.2)
    # Resumed: the queued telemetry is not read yet (old stamps, still OFFBOARD).
    assert bridge.run(_PERIOD_S, fresh=False) == []
    # Then it is, and the next heartbeat shows the autopilot's own RTL.
    (event,) = bridge.run(0.5, mode='AUTO.RTL')
    assert event.kind == 'failsafe' and event.error.code == ErrorCode.PLATFORM_FAILSAFE
    assert event.action == '' and 'AUTO.RTL' in str(event.error)
    assert bridge.supervisor.released


def test_link_lost_in_the_autopilots_own_failsafe_ends_with_platform_failsafe():
    bridge = _Bridge()
    assert bridge.run(0.95, fresh=False) == []
    # The state that shows AUTO.RTL, which the bridge never asked for, comes with the check
    # that finds the pose stale: both at once (two periods later: the bridge ran).
    bridge.t += 2 * _PERIOD_S
    bridge.state = dataclasses.replace(bridge.state, mode='AUTO.RTL', state_s=bridge.t)
    event = bridge.supervisor.check(bridge.state, bridge.t)
    assert event.kind == 'failsafe' and event.error.code == ErrorCode.PLATFORM_FAILSAFE
    assert event.action == '', 'the link-loss action must not override the failsafe'
    assert 'no pose' in str(event.error) and not bridge.supervisor.link_up
    assert bridge.supervisor.released


@pytest.mark.parametrize('mode', ['AUTO.RTL', 'AUTO.LAND'])
def test_link_lost_in_an_autopilot_mode_the_bridge_chose_commands_nothing(mode):
    bridge = _Bridge(mode=mode)  # return_home or land: the autopilot flies it
    (event,) = bridge.run(1.2, fresh=False)
    assert event.kind == 'link' and event.error.code == ErrorCode.COMMUNICATION_FAILURE
    assert event.action == ''


def test_link_lost_while_a_pilot_flies_commands_nothing():
    bridge = _Bridge()
    (takeover,) = bridge.run(0.5, mode='POSCTL')
    assert takeover.error.code == ErrorCode.MANUAL_OVERRIDE
    (event,) = bridge.run(1.2, fresh=False)
    assert event.kind == 'link' and event.action == ''


@pytest.mark.parametrize('action, mode', [('hold', 'AUTO.LOITER'), ('land', 'AUTO.LAND'),
                                          ('rtl', 'AUTO.RTL')])
def test_link_lost_in_the_guided_mode_commands_the_configured_action(action, mode):
    bridge = _Bridge(link_loss_action=action)
    (event,) = bridge.run(1.2, fresh=False)
    assert event.kind == 'link' and event.action == mode


def test_ardupilot_link_loss_holds_in_guided_and_respects_its_rtl():
    bridge = _Bridge(autopilot='ardupilot', mode='GUIDED')
    (event,) = bridge.run(1.2, fresh=False)
    assert event.action == 'GUIDED'  # ArduCopter holds in GUIDED on the current position
    other = _Bridge(autopilot='ardupilot', mode='GUIDED')
    events = other.run(1.2, fresh=False, mode='SMART_RTL')
    # The failsafe first; the link loss that follows commands nothing over it either.
    assert [e.kind for e in events] == ['failsafe', 'link'], events
    assert [e.action for e in events] == ['', '']


def test_position_lost_lands_unless_a_pilot_has_control():
    bridge = _Bridge()
    (event,) = bridge.run(0.1, fix_status=-1)
    assert event.error.code == ErrorCode.POSITION_LOST and event.action == 'AUTO.LAND'
    piloted = _Bridge()
    piloted.run(0.5, mode='POSCTL')
    (event,) = piloted.run(0.1, fix_status=-1)
    assert event.error.code == ErrorCode.POSITION_LOST and event.action == ''


# --- the late link-loss action ---------------------------------------------------------------

@pytest.mark.parametrize('autopilot, guided, action, mode', [
    ('ardupilot', 'GUIDED', 'rtl', 'RTL'), ('ardupilot', 'GUIDED', 'land', 'LAND'),
    ('px4', 'OFFBOARD', 'rtl', 'AUTO.RTL'), ('px4', 'OFFBOARD', 'land', 'AUTO.LAND')])
def test_a_land_or_rtl_the_dead_link_did_not_deliver_is_commanded_once_when_it_is_back(
        autopilot, guided, action, mode):
    bridge = _Bridge(autopilot=autopilot, mode=guided, link_loss_action=action)
    assert bridge.lose_the_link().action == mode
    assert bridge.run(3.0) == []  # back, still armed in the guided mode: nobody took it
    (late,) = bridge.late
    assert late.mode == mode and guided in late.reason, late
    assert bridge.run(3.0, mode=mode) == [], 'its own mode taken for a takeover'
    assert len(bridge.late) == 1, bridge.late


def test_a_hold_has_no_late_action():
    """The bridge holds where the vehicle is when the link is back (bridge.py), no mode."""
    bridge = _Bridge(autopilot='ardupilot', mode='GUIDED')
    assert bridge.lose_the_link().action == 'GUIDED'
    assert bridge.run(3.0) == [] and bridge.late == []


def test_every_loss_has_its_own_late_action():
    bridge = _Bridge(autopilot='ardupilot', mode='GUIDED', link_loss_action='rtl')
    bridge.lose_the_link()
    bridge.run(1.0)
    bridge.supervisor.expect({'GUIDED'})  # an operator's go_to after it
    bridge.run(1.0)
    bridge.lose_the_link()
    bridge.run(1.0)
    assert [late.mode for late in bridge.late] == ['RTL', 'RTL']


def test_the_late_action_waits_for_a_state_from_after_the_loss():
    """
    A short drop: the poses are back before MAVROS's next state (once a second).

    The last state still shows OFFBOARD, but PX4 failed safe 1 s into the drop: deciding on
    it would command AUTO.LAND over the autopilot's own AUTO.RTL.
    """
    bridge = _Bridge(link_loss_action='land')
    (event,) = bridge.run(1.2, fresh=False)
    assert event.action == 'AUTO.LAND'
    bridge.supervisor.expect({'AUTO.LAND'})
    assert bridge.run(0.5, only_pose=True) == [] and bridge.supervisor.link_up
    assert bridge.late == [], 'decided on a state from before the loss'
    (failsafe,) = bridge.run(0.5, mode='AUTO.RTL')
    assert failsafe.error.code == ErrorCode.PLATFORM_FAILSAFE
    (late,) = bridge.late
    assert late.mode == '' and 'AUTO.RTL' in late.reason, late


@pytest.mark.parametrize('autopilot, guided, action, back_in', [
    ('ardupilot', 'GUIDED', 'land', 'RTL'),  # its GCS failsafe
    ('ardupilot', 'GUIDED', 'rtl', 'LAND'),  # its EKF or battery failsafe
    ('ardupilot', 'GUIDED', 'rtl', 'RTL'),
    ('px4', 'OFFBOARD', 'land', 'AUTO.RTL'),  # its offboard-loss failsafe
    ('px4', 'OFFBOARD', 'rtl', 'AUTO.RTL')])
def test_the_late_action_never_overrides_the_autopilots_own_mode(autopilot, guided, action,
                                                                 back_in):
    bridge = _Bridge(autopilot=autopilot, mode=guided, link_loss_action=action)
    bridge.lose_the_link()
    bridge.run(3.0, mode=back_in)
    (late,) = bridge.late
    assert late.mode == '' and back_in in late.reason, late


@pytest.mark.parametrize('autopilot, guided, back_in', [('ardupilot', 'GUIDED', 'LOITER'),
                                                        ('px4', 'OFFBOARD', 'POSCTL')])
def test_the_late_action_never_fights_a_pilot(autopilot, guided, back_in):
    bridge = _Bridge(autopilot=autopilot, mode=guided, link_loss_action='rtl')
    bridge.lose_the_link()
    bridge.run(3.0, mode=back_in)
    (late,) = bridge.late
    assert late.mode == '' and back_in in late.reason and 'pilot' in late.reason, late


def test_the_late_action_is_dropped_for_a_disarmed_vehicle_or_a_lost_position():
    disarmed = _Bridge(autopilot='ardupilot', mode='GUIDED', link_loss_action='rtl')
    disarmed.lose_the_link()
    disarmed.run(3.0, armed=False)
    assert [(late.mode, late.reason) for late in disarmed.late] == [
        ('', 'the vehicle is disarmed')]
    no_fix = _Bridge(autopilot='ardupilot', mode='GUIDED', link_loss_action='rtl')
    no_fix.lose_the_link()
    (event,) = no_fix.run(3.0, fix_status=-1)
    assert event.error.code == ErrorCode.POSITION_LOST and event.action == 'LAND'
    (late,) = no_fix.late
    assert late.mode == '' and 'position' in late.reason, late


def test_an_operators_command_in_between_drops_the_late_action():
    bridge = _Bridge(autopilot='ardupilot', mode='GUIDED', link_loss_action='rtl')
    bridge.lose_the_link()
    assert bridge.supervisor.take_back() == 'RTL'  # e.g. emergency_stop while it was down
    assert bridge.supervisor.take_back() == ''
    assert bridge.run(3.0) == [] and bridge.late == []


def test_a_link_lost_in_the_autopilots_own_mode_leaves_no_late_action():
    bridge = _Bridge(autopilot='ardupilot', mode='RTL', link_loss_action='land')  # return_home
    assert bridge.lose_the_link().action == ''
    assert bridge.run(3.0) == [] and bridge.late == []
