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
What differs between the autopilots sim_mavros imitates: PX4, ArduCopter, ArduRover.

Mode names are MAVROS's (``mavros/src/lib/uas_stringify.cpp``); a name outside a flavour's
table is one MAVROS cannot map, so ``set_mode`` answers ``mode_sent=false`` for it. The
default timings are short versions of those observed on the real SITLs (PLATFORMS.md), so
tests run quickly; the node's parameters set the real ones.
"""

import dataclasses
import typing

__all__ = ['FLAVOURS', 'Flavour', 'flavour']


@dataclasses.dataclass(frozen=True)
class Flavour:
    """
    One autopilot's behaviour as seen through MAVROS.

    :param name: ``px4``, ``arducopter`` or ``ardurover``.
    :param vehicle: ``copter`` or ``rover``.
    :param modes: every mode MAVROS knows for it.
    :param initial_mode: the mode after boot.
    :param guided_mode: the mode that follows setpoints (OFFBOARD, GUIDED).
    :param hold_mode: where the autopilot holds position (AUTO.LOITER, LOITER/BRAKE, HOLD).
    :param land_mode: the landing mode, None when the vehicle cannot land.
    :param rtl_mode: return to launch.
    :param takeoff_mode: the mode a takeoff command switches to (PX4), None = stay.
    :param pilot_modes: modes in which a pilot flies: the sim holds position there.
    :param position_modes: modes that need a position estimate: a flying vehicle in one of
        them fails safe when the estimate goes bad (ArduPilot: ``requires_GPS()``, the modes
        its EKF failsafe acts in).
    :param arm_refused_result: MAV_RESULT of an arming refused by pre-arm checks.
    :param takeoff_amsl: the takeoff altitude is AMSL (PX4) rather than above home.
    :param needs_stream_rates: no position data until stream rates are requested (ArduPilot).
    :param prearm_texts: STATUSTEXT an ArduPilot vehicle sends while not ready to arm;
        empty for PX4, which sends STATUSTEXT only to GCS heartbeats (MAVROS is not one).
    :param ready_delay_s: after boot, arming is refused before this (model s).
    :param ekf_delay_s: after boot, no position estimate before this (ArduPilot, model s).
    :param rc_mode_reset_s: ArduCopter's RC input starts then and re-applies the initial mode;
        negative = never.
    :param auto_disarm_s: disarm this long after touchdown (model s).
    :param idle_disarm_s: ArduCopter disarms an armed vehicle that has not taken off after
        this (DISARM_DELAY); negative = never.
    """

    name: str
    vehicle: str
    modes: typing.FrozenSet[str]
    initial_mode: str
    guided_mode: str
    hold_mode: str
    land_mode: typing.Optional[str]
    rtl_mode: str
    takeoff_mode: typing.Optional[str]
    pilot_modes: typing.FrozenSet[str]
    position_modes: typing.FrozenSet[str]
    arm_refused_result: int
    takeoff_amsl: bool
    needs_stream_rates: bool
    prearm_texts: typing.Tuple[str, ...]
    ready_delay_s: float
    ekf_delay_s: float
    rc_mode_reset_s: float
    auto_disarm_s: float
    idle_disarm_s: float
    max_speed_mps: float
    climb_mps: float
    descent_mps: float

    @property
    def is_px4(self) -> bool:
        return self.name == 'px4'

    @property
    def is_copter(self) -> bool:
        return self.vehicle == 'copter'


_PX4_MODES = frozenset(
    'MANUAL ACRO ALTCTL POSCTL OFFBOARD STABILIZED RATTITUDE AUTO.MISSION AUTO.LOITER AUTO.RTL '
    'AUTO.LAND AUTO.RTGS AUTO.READY AUTO.TAKEOFF AUTO.PRECLAND AUTO.FOLLOW_TARGET'.split())
_COPTER_MODES = frozenset(
    'STABILIZE ACRO ALT_HOLD AUTO GUIDED LOITER RTL CIRCLE LAND DRIFT SPORT FLIP AUTOTUNE '
    'POSHOLD BRAKE THROW AVOID_ADSB GUIDED_NOGPS SMART_RTL FLOWHOLD FOLLOW ZIGZAG'.split())
_ROVER_MODES = frozenset(
    'MANUAL ACRO STEERING HOLD LOITER FOLLOW SIMPLE AUTO RTL SMART_RTL GUIDED'.split())

FLAVOURS: typing.Dict[str, Flavour] = {
    'px4': Flavour(
        name='px4', vehicle='copter', modes=_PX4_MODES, initial_mode='AUTO.LOITER',
        guided_mode='OFFBOARD', hold_mode='AUTO.LOITER', land_mode='AUTO.LAND',
        rtl_mode='AUTO.RTL', takeoff_mode='AUTO.TAKEOFF',
        pilot_modes=frozenset({'MANUAL', 'ACRO', 'ALTCTL', 'POSCTL', 'STABILIZED',
                               'RATTITUDE'}),
        position_modes=frozenset({'OFFBOARD', 'AUTO.MISSION', 'AUTO.LOITER', 'AUTO.RTL',
                                  'AUTO.RTGS', 'AUTO.READY', 'AUTO.TAKEOFF', 'AUTO.PRECLAND',
                                  'AUTO.FOLLOW_TARGET'}),
        # "heading estimate not stable" comes back as TEMPORARILY_REJECTED.
        arm_refused_result=1, takeoff_amsl=True, needs_stream_rates=False, prearm_texts=(),
        ready_delay_s=1.5, ekf_delay_s=0.0, rc_mode_reset_s=-1.0, auto_disarm_s=2.0,
        idle_disarm_s=-1.0, max_speed_mps=5.0, climb_mps=1.5, descent_mps=1.0),
    'arducopter': Flavour(
        name='arducopter', vehicle='copter', modes=_COPTER_MODES, initial_mode='STABILIZE',
        guided_mode='GUIDED', hold_mode='LOITER', land_mode='LAND', rtl_mode='RTL',
        takeoff_mode=None,
        pilot_modes=frozenset({'STABILIZE', 'ACRO', 'ALT_HOLD', 'LOITER', 'POSHOLD', 'SPORT',
                               'DRIFT', 'BRAKE', 'FLOWHOLD'}),
        # Copter's Mode::requires_GPS(): a pilot's LOITER or POSHOLD needs it as much as
        # GUIDED; STABILIZE, ALT_HOLD, ACRO, SPORT, FLOWHOLD, GUIDED_NOGPS and LAND do not.
        position_modes=frozenset({'AUTO', 'GUIDED', 'LOITER', 'RTL', 'CIRCLE', 'DRIFT',
                                  'POSHOLD', 'BRAKE', 'THROW', 'AVOID_ADSB', 'SMART_RTL',
                                  'FOLLOW', 'ZIGZAG'}),
        arm_refused_result=4, takeoff_amsl=False, needs_stream_rates=True,
        prearm_texts=('Arm: Need Alt Estimate', 'Arm: EKF attitude is bad',
                      'Arm: AHRS: waiting for home'),
        ready_delay_s=1.5, ekf_delay_s=3.0, rc_mode_reset_s=1.0, auto_disarm_s=1.5,
        idle_disarm_s=10.0, max_speed_mps=5.0, climb_mps=2.0, descent_mps=1.0),
    'ardurover': Flavour(
        name='ardurover', vehicle='rover', modes=_ROVER_MODES, initial_mode='MANUAL',
        guided_mode='GUIDED', hold_mode='HOLD', land_mode=None, rtl_mode='RTL',
        takeoff_mode=None,
        pilot_modes=frozenset({'MANUAL', 'ACRO', 'STEERING', 'LOITER', 'SIMPLE'}),
        position_modes=frozenset({'AUTO', 'RTL', 'SMART_RTL', 'GUIDED', 'FOLLOW'}),
        arm_refused_result=4, takeoff_amsl=False, needs_stream_rates=True,
        prearm_texts=('Arm: AHRS: waiting for home', 'Arm: GPS 1: Bad fix'),
        ready_delay_s=1.5, ekf_delay_s=2.0, rc_mode_reset_s=-1.0, auto_disarm_s=-1.0,
        idle_disarm_s=-1.0, max_speed_mps=5.0, climb_mps=0.0, descent_mps=0.0),
}


def flavour(name: str) -> Flavour:
    """
    Return a flavour by name.

    :raises ValueError: For a name that is not one of :data:`FLAVOURS`.
    """
    try:
        return FLAVOURS[name]
    except KeyError:
        raise ValueError(f'flavour={name!r} is not one of {sorted(FLAVOURS)}') from None
