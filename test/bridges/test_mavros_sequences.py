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
The MAVROS bridge's sequences against a scripted autopilot, in plain Python.

The scripted autopilot answers like MAVROS does (``set_mode`` at once, the mode in ``state``
later; ``cmd/*`` with success/result, ``success=false, result=0`` on an ACK timeout) and
keeps its own time; each test drives the same :class:`Procedure`, :class:`SetpointStream`
and :class:`Supervisor` the bridge's timer drives.
"""

import dataclasses
import math
import types

from brain_execution.bridges.mavros import sequences
from brain_execution.bridges.mavros.fcu_state import FcuState, Home, Pose, StatusText, with_text
from brain_execution.bridges.mavros.mav_result import command_error, command_outcome, MavResult
from brain_execution.bridges.mavros.modes import mode_profile
from brain_execution.bridges.mavros.procedure import Procedure
from brain_execution.bridges.mavros.setpoints import SetpointStream
from brain_execution.bridges.mavros.settings import declare_settings
from brain_execution.bridges.mavros.supervision import Supervisor
from brain_execution.core.bridge import ArrayParameter, CommandHandle
from brain_execution.core.errors import ErrorCode
import pytest

_DT = 0.05


class _Parameters:
    """A ParameterSource over a dict of values set by the test."""

    def __init__(self, **values):
        self.values = values
        self.declared = {}

    def declare(self, name, default, description, limits=None):
        assert description, name
        self.declared[name] = (default, limits)
        value = self.values.get(name, [] if isinstance(default, ArrayParameter) else default)
        if limits is not None:
            assert limits[0] <= value <= limits[1], (name, value, limits)
        return value


class _Done:

    def __init__(self, response=None, error=None):
        self.response, self.error = response, error

    def done(self):
        return True


class _Never:
    response = error = None

    def done(self):
        return False


class ScriptedAutopilot:
    """A Port whose autopilot follows a script; ``run`` advances it like the bridge's timer."""

    def __init__(self, autopilot='px4', vehicle='copter', **parameters):
        self.settings = declare_settings(_Parameters(autopilot=autopilot, vehicle=vehicle,
                                                     **parameters))
        self.modes = self.settings.modes
        self.t = 100.0
        self.state = FcuState(
            connected=True, mode='POSCTL' if autopilot == 'px4' else 'STABILIZE',
            state_s=self.t, landed_state=1, pose=Pose(5.0, -2.0, 0.1, 0.3), pose_s=self.t,
            fix_status=0, home=Home(Pose(5.0, -2.0, 0.1, 0.0), 47.0, 8.0, 500.0))
        self.stream = SetpointStream(self.modes, 1.0 / self.settings.setpoint_rate_hz)
        self.supervisor = Supervisor(self.settings)
        self.sent = []          # (what, fields) in order
        self.published = []     # (time, pose) of every setpoint sent
        self.ignore_modes = set()
        self.arming_answers = []   # (success, result, arms_after_s or None, text)
        self.takeoff_answers = []  # (success, result, climbs)
        self.pending = []          # (time, change) applied by run
        self.mode_delay_s = 0.2

    def now_s(self):
        return self.t

    def later(self, delay_s, **changes):
        self.pending.append((self.t + delay_s, changes))

    def set_mode(self, mode):
        self.sent.append(('set_mode', mode))
        if mode not in self.ignore_modes:
            self.later(self.mode_delay_s, mode=mode)
        return _Done(types.SimpleNamespace(mode_sent=True))

    def command(self, name, **fields):
        self.sent.append((name, fields))
        if name == 'arming':
            success, result, after, text = (self.arming_answers.pop(0) if self.arming_answers
                                            else (True, 0, 0.1, ''))
            if text:
                self.state = with_text(self.state, StatusText(self.t, 2, text))
            if after is not None:
                self.later(after, armed=fields['value'])
            return _Done(types.SimpleNamespace(success=success, result=result))
        if name == 'takeoff':
            success, result, climbs = (self.takeoff_answers.pop(0) if self.takeoff_answers
                                       else (True, 0, True))
            if climbs:
                self.later(0.5, landed_state=3)
            return _Done(types.SimpleNamespace(success=success, result=result))
        raise AssertionError(name)

    def expect(self, modes):
        self.supervisor.expect(modes)

    def set_target(self, target):
        self.stream.set_target(target)

    def streaming_s(self):
        return self.stream.streaming_s(self.t)

    def step(self):
        self.t += _DT
        due = [c for at, c in self.pending if at <= self.t]
        self.pending = [(at, c) for at, c in self.pending if at > self.t]
        changes = {}
        for change in due:
            changes.update(change)
        self.state = dataclasses.replace(self.state, state_s=self.t, pose_s=self.t, **changes)
        setpoint = self.stream.setpoint(self.state, self.t)
        if setpoint is not None:
            self.published.append((self.t, setpoint))
        return self.supervisor.check(self.state, self.t)

    def run(self, sequence, limit_s=30.0, name='command'):
        handle = CommandHandle(name)
        procedure = Procedure(name, sequence, handle)
        end = self.t + limit_s
        while not procedure.tick():
            self.step()
            assert self.t < end, f'{name} still running after {limit_s} s'
        return handle


def _mode_requests(ap):
    return [what for kind, what in ap.sent if kind == 'set_mode']


def test_px4_arm_streams_first_then_offboard_confirmed_then_arms():
    ap = ScriptedAutopilot('px4')
    handle = ap.run(sequences.arm(ap))
    assert handle.done() and handle.error is None, handle.error
    assert ap.state.armed and ap.state.mode == 'OFFBOARD'
    assert [kind for kind, _ in ap.sent] == ['set_mode', 'arming']
    set_mode_at = ap.published[0][0] + ap.settings.stream_warmup_s
    # At least a second of 20 Hz setpoints went out before OFFBOARD was requested.
    before = [t for t, _ in ap.published if t <= set_mode_at]
    assert len(before) >= 19
    assert ap.published[-1][1] == Pose(5.0, -2.0, 0.1, 0.3)  # holds where it stands


def test_arducopter_arm_waits_for_a_local_position_before_guided():
    ap = ScriptedAutopilot('ardupilot')
    ap.state = dataclasses.replace(ap.state, pose=None, pose_s=None)
    ap.later(2.0, pose=Pose(0.0, 0.0, 0.0, 0.0))
    handle = ap.run(sequences.arm(ap))
    assert handle.error is None, handle.error
    assert _mode_requests(ap) == ['GUIDED'] and ap.state.armed
    assert not ap.published  # ArduPilot needs no stream before GUIDED
    assert ap.t >= 102.0


@pytest.mark.parametrize('result, code, retryable', [
    (MavResult.TEMPORARILY_REJECTED, ErrorCode.COMMAND_TEMPORARILY_REJECTED, True),
    (MavResult.DENIED, ErrorCode.COMMAND_DENIED, False),
    (MavResult.FAILED, ErrorCode.COMMAND_FAILED, False),
    (MavResult.UNSUPPORTED, ErrorCode.COMMAND_UNSUPPORTED, False),
    (MavResult.CANCELLED, ErrorCode.COMMAND_CANCELLED, False),
])
def test_arming_refusals_keep_their_mav_result_and_the_reason(result, code, retryable):
    ap = ScriptedAutopilot('ardupilot')
    ap.arming_answers = [(False, int(result), None, 'PreArm: Need Alt Estimate')]
    handle = ap.run(sequences.arm(ap))
    assert handle.error.code == code and handle.error.retryable is retryable
    assert 'PreArm: Need Alt Estimate' in str(handle.error)
    assert result.name in str(handle.error) and not ap.state.armed


def test_after_an_ack_timeout_the_state_decides_and_nothing_is_resent():
    ap = ScriptedAutopilot('px4')
    ap.arming_answers = [(False, 0, 1.5, '')]  # no ACK, but it arms late
    handle = ap.run(sequences.arm(ap))
    assert handle.error is None and ap.state.armed
    assert [kind for kind, _ in ap.sent].count('arming') == 1
    ap = ScriptedAutopilot('px4')
    ap.arming_answers = [(False, 0, None, '')]  # no ACK, never arms
    handle = ap.run(sequences.arm(ap))
    assert handle.error.code == ErrorCode.ACK_TIMEOUT and handle.error.retryable
    assert [kind for kind, _ in ap.sent].count('arming') == 1


def test_an_ignored_mode_request_fails_with_mode_change_failed():
    ap = ScriptedAutopilot('ardupilot')
    ap.ignore_modes = {'GUIDED'}
    handle = ap.run(sequences.arm(ap))
    assert handle.error.code == ErrorCode.MODE_CHANGE_FAILED
    assert 'GUIDED' in str(handle.error) and not any(k == 'arming' for k, _ in ap.sent)


def test_arducopter_takeoff_confirms_guided_right_before_and_sends_relative_altitude():
    ap = ScriptedAutopilot('ardupilot')
    assert ap.run(sequences.arm(ap)).error is None
    ap.state = dataclasses.replace(ap.state, mode='STABILIZE')  # RC switch re-applied it
    handle = ap.run(sequences.takeoff(ap, 10.0))
    assert handle.error is None
    assert _mode_requests(ap) == ['GUIDED', 'GUIDED']
    assert ap.sent[-1] == ('takeoff', {'min_pitch': 0.0, 'yaw': 0.0, 'latitude': 0.0,
                                       'longitude': 0.0, 'altitude': 10.0})


def test_px4_command_takeoff_sends_amsl_with_nan_position():
    ap = ScriptedAutopilot('px4', px4_takeoff='command', geoid_height_m=48.0)
    assert ap.run(sequences.arm(ap)).error is None
    handle = ap.run(sequences.takeoff(ap, 10.0))
    assert handle.error is None and handle.value == {'altitude_reference': 'above home'}
    name, fields = ap.sent[-1]
    assert name == 'takeoff' and fields['altitude'] == pytest.approx(500.0 - 48.0 + 10.0)
    assert math.isnan(fields['latitude']) and math.isnan(fields['longitude'])


def test_px4_offboard_takeoff_streams_the_climb_target_above_home():
    ap = ScriptedAutopilot('px4')
    assert ap.run(sequences.arm(ap)).error is None
    handle = ap.run(sequences.takeoff(ap, 12.0))
    assert handle.error is None
    assert ap.published[-1][1] == Pose(5.0, -2.0, 0.1 + 12.0, 0.3)


def test_a_takeoff_accepted_without_climbing_fails_after_the_confirmation_time():
    ap = ScriptedAutopilot('ardupilot', takeoff_confirm_s=2.0)
    assert ap.run(sequences.arm(ap)).error is None
    ap.takeoff_answers = [(True, 0, False)]
    handle = CommandHandle('takeoff')
    procedure = Procedure('takeoff', sequences.takeoff(ap, 10.0), handle)
    while not procedure.tick():
        ap.step()
    assert handle.done() and handle.error is None  # acknowledged, then abandoned
    assert handle.interruption.code == ErrorCode.COMMAND_FAILED
    assert 'did not leave the ground' in str(handle.interruption)


def test_go_to_converts_the_executors_frame_to_mavros_local():
    ap = ScriptedAutopilot('ardupilot', vehicle='boat')
    handle = ap.run(sequences.go_to(ap, 30.0, 40.0, 99.0, None))
    assert handle.error is None and ap.state.armed and ap.state.mode == 'GUIDED'
    ap.step()
    target = ap.published[-1][1]
    # home sits at (5, -2, 0.1) in MAVROS's frame; a boat keeps its own height.
    assert (target.x_m, target.y_m, target.z_m) == pytest.approx((35.0, 38.0, 0.1))


def test_a_drone_go_to_while_disarmed_is_refused():
    ap = ScriptedAutopilot('px4')
    handle = ap.run(sequences.go_to(ap, 1.0, 1.0, 5.0, None))
    assert handle.error.code == ErrorCode.PRECONDITION_FAILED


def test_pilot_takeover_is_reported_once_and_releases_control():
    ap = ScriptedAutopilot('px4')
    assert ap.run(sequences.arm(ap)).error is None
    ap.later(0.1, mode='POSCTL')
    events = [ap.step() for _ in range(10)]
    found = [e for e in events if e is not None]
    assert len(found) == 1 and found[0].error.code == ErrorCode.MANUAL_OVERRIDE
    assert 'POSCTL' in str(found[0].error) and ap.supervisor.released
    # Handing back (the pilot selects OFFBOARD) gives control back.
    ap.later(0.1, mode='OFFBOARD')
    for _ in range(5):
        ap.step()
    assert not ap.supervisor.released


def test_an_autopilot_failsafe_is_not_a_pilot():
    ap = ScriptedAutopilot('ardupilot')
    assert ap.run(sequences.arm(ap)).error is None
    ap.later(0.1, mode='RTL')
    found = [e for e in (ap.step() for _ in range(10)) if e is not None]
    assert [e.error.code for e in found] == [ErrorCode.PLATFORM_FAILSAFE]


def test_the_bridges_own_mode_changes_are_not_takeovers():
    ap = ScriptedAutopilot('px4')
    assert ap.run(sequences.arm(ap)).error is None
    ap.mode_delay_s = 0.5  # the old mode shows for a while after set_mode
    handle = CommandHandle('land')
    procedure = Procedure('land', sequences.land(ap), handle)
    events = []
    while not procedure.tick():
        events.append(ap.step())
    assert handle.error is None and ap.state.mode == 'AUTO.LAND'
    assert not [e for e in events if e is not None]


def test_link_loss_from_stale_state_or_disconnect_is_reported_once():
    ap = ScriptedAutopilot('px4')
    ap.step()
    ap.state = dataclasses.replace(ap.state, connected=False)
    assert ap.supervisor.check(ap.state, ap.t).error.code == ErrorCode.COMMUNICATION_FAILURE
    assert ap.supervisor.check(ap.state, ap.t) is None
    ap.state = dataclasses.replace(ap.state, connected=True)
    assert ap.supervisor.check(ap.state, ap.t) is None and ap.supervisor.link_up
    # No state for 3.5 s while the bridge checks on every timer period (a jump without checks
    # would be the bridge itself not running: see test_mavros_supervision.py).
    events = []
    for k in range(1, 71):
        ap.state = dataclasses.replace(ap.state, pose_s=ap.t + k * _DT)  # poses still come
        events.append(ap.supervisor.check(ap.state, ap.t + k * _DT))
    (event,) = [e for e in events if e is not None]
    assert event.kind == 'link' and 'no state' in str(event.error)


def test_gps_loss_is_position_lost():
    ap = ScriptedAutopilot('px4')
    ap.step()
    ap.state = dataclasses.replace(ap.state, fix_status=-1)
    assert ap.supervisor.check(ap.state, ap.t).error.code == ErrorCode.POSITION_LOST


def test_px4_stream_drops_a_stale_target_when_offboard_ends():
    modes = mode_profile('px4', 'copter')
    stream = SetpointStream(modes, 0.05)
    state = FcuState(mode='OFFBOARD', pose=Pose(1.0, 1.0, 5.0, 0.0))
    stream.set_target(Pose(9.0, 9.0, 9.0, 0.0))
    assert stream.setpoint(state, 0.0) == Pose(9.0, 9.0, 9.0, 0.0)
    state = dataclasses.replace(state, mode='AUTO.LOITER')
    assert stream.setpoint(state, 0.05) == Pose(1.0, 1.0, 5.0, 0.0)
    assert stream.streaming_s(0.05) == pytest.approx(0.05)
    assert stream.streaming_s(1.0) == 0.0  # a gap


def test_ardupilot_re_sends_its_target_only_while_the_link_is_up():
    """A stale target re-sent into a dead link would be the first to arrive when it returns."""
    stream = SetpointStream(mode_profile('ardupilot', 'copter'), 0.05)
    state = FcuState(mode='GUIDED', pose=Pose(1.0, 1.0, 5.0, 0.0))
    held = Pose(2.0, 0.0, 5.0, 0.0)
    stream.set_target(held)
    assert stream.setpoint(state, 0.0, link_up=False) == held  # newly latched: sent once
    assert [stream.setpoint(state, t, link_up=False) for t in (1.0, 2.0, 5.0)] == [None] * 3
    here = Pose(40.0, 0.0, 5.0, 0.0)
    stream.set_target(here)  # what the bridge latches when the link is back
    assert stream.setpoint(state, 5.05, link_up=True) == here
    assert stream.setpoint(state, 6.1, link_up=True) == here  # re-sent once a second again


def test_px4_streams_whatever_the_link():
    stream = SetpointStream(mode_profile('px4', 'copter'), 0.05)
    state = FcuState(mode='OFFBOARD', pose=Pose(1.0, 1.0, 5.0, 0.0))
    assert stream.setpoint(state, 0.0, link_up=False) == Pose(1.0, 1.0, 5.0, 0.0)
    assert stream.setpoint(state, 0.05, link_up=False) == Pose(1.0, 1.0, 5.0, 0.0)


def test_mav_result_outcomes():
    assert command_outcome(True, 0) == 'accepted'
    assert command_outcome(False, 0) == 'unknown'
    assert command_outcome(False, 5) == 'unknown'
    assert command_outcome(False, 2) is None
    error = command_error('arming', 99, 'px4')
    assert error.code == ErrorCode.PLATFORM_REJECTED and 'no reason' in str(error)


def test_settings_validate_with_the_parameters_name():
    with pytest.raises(ValueError, match='mavros.autopilot'):
        declare_settings(_Parameters(autopilot='inav'))
    with pytest.raises(ValueError, match='mavros.prefix'):
        declare_settings(_Parameters(prefix='/mavros'))
    with pytest.raises(ValueError, match='mavros.px4_takeoff'):
        declare_settings(_Parameters(px4_takeoff='jump'))
    settings = declare_settings(_Parameters(prefix='uas1/mavros'))
    assert settings.resolve('state') == 'uas1/mavros/state'
    assert settings.setpoint_rate_hz == 20.0
    assert mode_profile('ardupilot', 'boat').land == ''
