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

"""sim_mavros's autopilot without ROS: modes, arming, commands and failsafes on model time."""

import math

from brain_execution.core.geo import GeoPoint
from brain_execution.sim.mavros.autopilot import Autopilot, Settings
from brain_execution.sim.mavros.faults import MavrosFaults
from brain_execution.sim.mavros.flavours import flavour, FLAVOURS
from brain_execution.sim.mavros.vehicle import MavrosDrone, MavrosRover
from brain_execution.sim.vehicle import MotionLimits
import pytest

_HOME = GeoPoint(47.4, 8.5, 488.0)
_STEP_S = 0.05


class Rig:
    """One autopilot on a hand-driven clock, with what it emitted and said."""

    def __init__(self, name: str, **settings):
        f = flavour(name)
        limits = MotionLimits(max_speed_mps=5.0, cruise_speed_mps=5.0, max_accel_mps2=4.0,
                              max_climb_mps=max(f.climb_mps, 0.1),
                              max_descent_mps=max(f.descent_mps, 0.1))
        if f.is_copter:
            vehicle = MavrosDrone(robot_id='t', limits=limits)
        else:
            vehicle = MavrosRover(robot_id='t', limits=limits, station_drift_m=0.0)
        defaults = {key: getattr(f, key) for key in (
            'ready_delay_s', 'ekf_delay_s', 'rc_mode_reset_s', 'auto_disarm_s',
            'idle_disarm_s')}
        self.events, self.texts, self.t = [], [], 0.0
        self.faults = MavrosFaults()
        self.ap = Autopilot(flavour=f, vehicle=vehicle, faults=self.faults,
                            settings=Settings(home=_HOME, **{**defaults, **settings}),
                            emit=lambda event, **k: self.events.append((event, k)),
                            statustext=lambda severity, text: self.texts.append(text))
        self.run(_STEP_S)

    def run(self, duration_s: float, each=None) -> None:
        end = self.t + duration_s
        while self.t < end - 1e-9:
            self.t += _STEP_S
            if each:
                each()
            self.ap.step(self.t)

    def run_until(self, condition, limit_s: float = 60.0, each=None) -> None:
        end = self.t + limit_s
        while not condition():
            assert self.t < end, f'not within {limit_s} model s; events {self.events[-6:]}'
            self.run(_STEP_S, each)

    def had(self, event: str, **fields) -> bool:
        return any(e == event and all(k.get(n) == v for n, v in fields.items())
                   for e, k in self.events)


def test_every_flavour_has_its_modes():
    for f in FLAVOURS.values():
        for mode in (f.initial_mode, f.guided_mode, f.hold_mode, f.rtl_mode):
            assert mode in f.modes, (f.name, mode)
        assert f.pilot_modes <= f.modes and f.position_modes <= f.modes
    assert FLAVOURS['ardurover'].land_mode is None
    with pytest.raises(ValueError, match='flavour'):
        flavour('inav')


def test_px4_offboard_stream_rules():
    rig = Rig('px4', ready_delay_s=0.0)
    assert rig.ap.request_mode('OFFBOARD')
    rig.run(0.5)
    assert rig.ap.mode == 'OFFBOARD'  # taken while disarmed, as real PX4
    assert rig.ap.arm(True) == 1
    # A stream slower than 2 Hz does not count.
    rig.run(2.0, each=lambda: rig.t % 1.0 < _STEP_S and rig.ap.setpoint_position(
        0.0, 0.0, 5.0, None))
    assert rig.ap.arm(True) == 1

    def stream():
        rig.ap.setpoint_position(0.0, 0.0, 5.0, None)
    rig.run(1.2, each=stream)
    assert rig.ap.arm(True) == 0
    rig.run_until(lambda: rig.had('reached', what='setpoint'), each=stream)
    stopped = rig.t
    rig.run_until(lambda: rig.ap.mode == 'AUTO.RTL')
    assert 1.0 - 1e-6 <= rig.t - stopped <= 1.0 + 2 * _STEP_S
    rig.run_until(lambda: not rig.ap.armed)
    # Disarmed after the failsafe's landing: back to the user's mode.
    assert rig.ap.mode == 'OFFBOARD'
    assert rig.had('landed') and rig.had('disarmed', reason='landed')


def test_px4_takeoff_altitudes():
    rig = Rig('px4', ready_delay_s=0.0)
    assert rig.ap.takeoff(math.nan, math.nan, 498.0) == 4  # disarmed
    assert rig.ap.arm(True) == 0
    assert rig.ap.takeoff(0.0, 0.0, 498.0) == 0
    assert rig.had('takeoff_ignored')
    # A relative altitude sent as if it were AMSL: PX4's minimum takeoff height.
    assert rig.ap.takeoff(math.nan, math.nan, 10.0) == 0
    rig.run_until(lambda: rig.ap.mode == 'AUTO.LOITER')
    assert rig.ap.vehicle.snapshot().z_m == pytest.approx(2.5, abs=0.05)


def test_arducopter_readiness_and_rc_reset():
    rig = Rig('arducopter', ready_delay_s=1.0, ekf_delay_s=2.0, rc_mode_reset_s=0.5)
    assert rig.ap.arm(True) == 4
    assert rig.texts[-1].startswith('Arm: ')
    assert not rig.ap.streaming('pose')
    rig.run(2.0)
    rig.ap.set_stream(0, True)
    assert rig.ap.streaming('pose') and rig.ap.streaming('battery')
    assert rig.ap.request_mode('GUIDED')
    rig.run(0.5)
    assert rig.ap.mode == 'GUIDED'  # the RC reset came before, at 0.5 s
    assert rig.ap.arm(True) == 0
    assert rig.ap.takeoff(math.nan, math.nan, 0.0) == 4
    assert rig.ap.takeoff(math.nan, math.nan, 5.0) == 0
    rig.run_until(lambda: rig.ap.vehicle.snapshot().z_m > 4.99)
    assert rig.ap.request_mode('RTL')
    rig.run_until(lambda: not rig.ap.armed, limit_s=120.0)
    assert rig.had('reached', what='home') and rig.had('disarmed', reason='landed')


def test_arducopter_guided_before_rc_start_is_lost():
    rig = Rig('arducopter', ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=1.0)
    assert rig.ap.request_mode('GUIDED')
    rig.run(0.5)
    assert rig.ap.mode == 'GUIDED'
    rig.run(1.0)
    assert rig.ap.mode == 'STABILIZE'
    assert rig.had('mode', mode='STABILIZE', by='rc')


def test_arducopter_idle_disarm():
    rig = Rig('arducopter', ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=-1.0,
              idle_disarm_s=2.0)
    assert rig.ap.arm(True) == 0
    rig.run_until(lambda: not rig.ap.armed, limit_s=3.0)
    assert rig.had('disarmed', reason='not taken off')


def test_rover_velocity_times_out_and_unsupported_commands():
    rig = Rig('ardurover', ready_delay_s=0.0, ekf_delay_s=0.0, velocity_timeout_s=1.0)
    assert not rig.ap.request_mode('LAND')
    assert rig.ap.land() == 3 and rig.ap.takeoff(math.nan, math.nan, 5.0) == 3
    assert rig.ap.request_mode('GUIDED')
    rig.run(0.5)
    assert rig.ap.arm(True) == 0
    rig.run(2.0, each=lambda: rig.ap.setpoint_velocity(2.0, 0.0, 0.0))
    assert rig.ap.vehicle.snapshot().vx_mps > 1.0
    rig.run_until(lambda: rig.had('velocity_timeout'), limit_s=2.0)
    rig.run(3.0)
    assert rig.ap.vehicle.snapshot().speed_mps < 0.01


def test_faults_on_the_autopilot():
    rig = Rig('px4', ready_delay_s=0.0)
    rig.faults.arming_denied = 'kill switch engaged'
    assert rig.ap.arm(True) == 1 and rig.had('arm_refused', reason='kill switch engaged')
    assert not rig.texts  # PX4 sends no STATUSTEXT to MAVROS
    rig.faults.arming_denied = ''
    rig.faults.ignore_mode_change = True
    assert rig.ap.request_mode('POSCTL')
    rig.run(1.0)
    assert rig.ap.mode == 'AUTO.LOITER'
    rig.faults.ignore_mode_change = False
    with pytest.raises(ValueError, match='not a px4 mode'):
        rig.ap.pilot_takeover('LOITER')
    rig.ap.pilot_takeover('POSCTL')
    assert rig.ap.mode == 'POSCTL' and rig.had('mode', mode='POSCTL', by='pilot')
    rig.faults.battery_drain_pct_per_s = 50.0
    rig.run_until(lambda: rig.had('battery_low'), limit_s=3.0)
    assert MavrosFaults.check('battery_drain_pct_per_s', -1.0)
    assert MavrosFaults.check('gps_lost', 'yes')
    assert MavrosFaults.check('late_effect_s', 2) is None
    assert MavrosFaults.check('nope', 1)


def _arducopter_flying(**settings) -> Rig:
    """Return an ArduCopter at 5 m in GUIDED, on its way to a point 40 m east."""
    rig = Rig('arducopter', ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=-1.0,
              gps_failsafe_s=1.0, **settings)
    assert rig.ap.request_mode('GUIDED')
    rig.run(0.5)
    assert rig.ap.arm(True) == 0 and rig.ap.takeoff(math.nan, math.nan, 5.0) == 0
    rig.run_until(lambda: rig.ap.vehicle.snapshot().z_m > 4.9)
    rig.ap.setpoint_position(40.0, 0.0, 5.0, None)
    rig.run_until(lambda: rig.ap.vehicle.snapshot().x_m > 3.0)
    return rig


@pytest.mark.parametrize('fault', ['gps_lost', 'gps_glitch'])
@pytest.mark.parametrize('mode', ['GUIDED', 'LOITER'])
def test_arducopter_ekf_failsafe_lands_in_a_position_mode(fault, mode):
    # FS_EKF_ACTION 1: LAND after a second of bad position, in GUIDED and in a pilot's LOITER.
    rig = _arducopter_flying()
    if mode != 'GUIDED':
        rig.ap.pilot_takeover(mode)
    setattr(rig.faults, fault, True)
    lost = rig.t
    rig.run_until(lambda: rig.ap.mode == 'LAND', limit_s=3.0)
    assert 1.0 - 1e-6 <= rig.t - lost <= 1.0 + 2 * _STEP_S
    assert rig.had('failsafe', reason=fault.replace('_', ' '), action='LAND')
    assert rig.had('mode', mode='LAND', by='failsafe') and 'EKF variance' in rig.texts
    x = rig.ap.vehicle.snapshot().x_m
    rig.run_until(lambda: not rig.ap.armed, limit_s=30.0)
    assert rig.ap.vehicle.snapshot().x_m == pytest.approx(x, abs=4.0)  # braked, in place
    assert [e for e, k in rig.events].count('failsafe') == 1


def test_arducopter_ekf_failsafe_spares_alt_hold_and_a_landing():
    rig = _arducopter_flying()
    rig.ap.pilot_takeover('ALT_HOLD')
    rig.faults.gps_lost = True
    rig.run(3.0)
    assert rig.ap.mode == 'ALT_HOLD' and not rig.had('failsafe')
    rig.ap.pilot_takeover('LAND')
    rig.run(1.0)
    # Already landing: it goes on without GPS, in LAND (one failsafe, no mode change).
    assert rig.had('failsafe', reason='gps lost', action='LAND')
    assert not rig.had('mode', by='failsafe') and rig.ap.mode == 'LAND'


def test_arducopter_gcs_failsafe_returns_and_stays_in_rtl_after_the_link_is_back():
    rig = _arducopter_flying(gcs_failsafe_s=3.0)
    rig.ap.gcs_link(False)
    lost = rig.t
    rig.run_until(lambda: rig.ap.mode == 'RTL', limit_s=5.0)
    assert 3.0 - 1e-6 <= rig.t - lost <= 3.0 + 2 * _STEP_S
    assert rig.had('failsafe', reason='gcs lost', action='RTL')
    rig.ap.gcs_link(True)
    rig.run(1.0)
    assert rig.ap.mode == 'RTL'
    rig.run_until(lambda: not rig.ap.armed, limit_s=120.0)
    assert rig.had('reached', what='home')
    assert [e for e, k in rig.events].count('failsafe') == 1


def test_gcs_failsafe_is_off_by_default_and_not_px4s():
    for name in ('arducopter', 'px4'):
        rig = Rig(name, ready_delay_s=0.0, ekf_delay_s=0.0, rc_mode_reset_s=-1.0,
                  gcs_failsafe_s=-1.0 if name == 'arducopter' else 1.0)
        rig.ap.gcs_link(False)
        rig.run(3.0)
        assert not rig.had('failsafe'), name
