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
The modes a bridge commands and watches, per autopilot and vehicle class; no ROS here.

Mode strings are MAVROS's (``mavros/src/lib/uas_stringify.cpp``): what ``set_mode`` takes as
``custom_mode`` and what ``state.mode`` reports. A profile names the mode the bridge flies in
(PX4 ``OFFBOARD``, ArduPilot ``GUIDED``), the modes it commands to land, return and hold, the
modes a pilot selects (a change to one of them is a takeover the bridge never fights) and the
modes the autopilot enters by itself as a failsafe.
"""

import dataclasses
import typing

__all__ = ['AUTOPILOTS', 'VEHICLES', 'ModeProfile', 'mode_profile']

AUTOPILOTS = ('px4', 'ardupilot')
VEHICLES = ('copter', 'rover', 'boat')


@dataclasses.dataclass(frozen=True)
class ModeProfile:
    """
    Modes of one autopilot and vehicle class.

    :param guided: the mode position setpoints are followed in.
    :param land: the mode that lands in place, or '' (rovers and boats).
    :param rtl: the autopilot's return-to-launch mode.
    :param hold: the mode that stops and holds position.
    :param pilot: modes a pilot selects on the RC transmitter or ground station.
    :param failsafe: modes the autopilot enters by itself on a failsafe.
    :param after_rtl: modes RTL hands over to by itself (PX4 lands; ArduRover holds).
    :param needs_stream: setpoints must stream before and during ``guided`` (PX4 OFFBOARD).
    """

    autopilot: str
    vehicle: str
    guided: str
    land: str
    rtl: str
    hold: str
    pilot: typing.FrozenSet[str]
    failsafe: typing.FrozenSet[str]
    after_rtl: typing.FrozenSet[str] = frozenset()
    after_takeoff: typing.FrozenSet[str] = frozenset()
    needs_stream: bool = False

    @property
    def flies(self) -> bool:
        """Whether the vehicle is a multirotor (takes off and lands)."""
        return self.vehicle == 'copter'


_PX4_PILOT = frozenset({'MANUAL', 'ALTCTL', 'POSCTL', 'STABILIZED', 'ACRO', 'RATTITUDE',
                        'AUTO.MISSION', 'AUTO.FOLLOW_TARGET', 'AUTO.PRECLAND'})
_ARDUCOPTER_PILOT = frozenset({
    'STABILIZE', 'ACRO', 'ALT_HOLD', 'AUTO', 'LOITER', 'CIRCLE', 'POSHOLD', 'DRIFT', 'SPORT',
    'FLIP', 'AUTOTUNE', 'BRAKE', 'THROW', 'AVOID_ADSB', 'GUIDED_NOGPS', 'FLOWHOLD', 'FOLLOW',
    'ZIGZAG', 'SYSTEMID', 'AUTOROTATE', 'AUTO_RTL'})
# AUTO_RTL is ArduCopter's mission-driven landing; SMART_RTL and LAND its failsafes besides RTL.
_ARDUCOPTER_FAILSAFE = frozenset({'RTL', 'SMART_RTL', 'LAND'})
_ARDUROVER_PILOT = frozenset({'MANUAL', 'ACRO', 'STEERING', 'LOITER', 'FOLLOW', 'SIMPLE',
                              'AUTO', 'DOCK', 'CIRCLE'})
# A rover's failsafe action (FS_ACTION) is RTL, SMART_RTL or HOLD.
_ARDUROVER_FAILSAFE = frozenset({'RTL', 'SMART_RTL', 'HOLD'})

_PROFILES = {
    ('px4', 'copter'): ModeProfile(
        'px4', 'copter', guided='OFFBOARD', land='AUTO.LAND', rtl='AUTO.RTL',
        hold='AUTO.LOITER', pilot=_PX4_PILOT, failsafe=frozenset({'AUTO.RTL', 'AUTO.LAND'}),
        after_rtl=frozenset({'AUTO.LAND'}),
        after_takeoff=frozenset({'AUTO.TAKEOFF', 'AUTO.LOITER'}), needs_stream=True),
    ('px4', 'rover'): ModeProfile(
        'px4', 'rover', guided='OFFBOARD', land='', rtl='AUTO.RTL', hold='AUTO.LOITER',
        pilot=_PX4_PILOT, failsafe=frozenset({'AUTO.RTL', 'AUTO.LOITER'}), needs_stream=True),
    ('ardupilot', 'copter'): ModeProfile(
        'ardupilot', 'copter', guided='GUIDED', land='LAND', rtl='RTL', hold='GUIDED',
        pilot=_ARDUCOPTER_PILOT, failsafe=_ARDUCOPTER_FAILSAFE,
        after_rtl=frozenset({'LAND'})),
    ('ardupilot', 'rover'): ModeProfile(
        'ardupilot', 'rover', guided='GUIDED', land='', rtl='RTL', hold='HOLD',
        pilot=_ARDUROVER_PILOT, failsafe=_ARDUROVER_FAILSAFE, after_rtl=frozenset({'HOLD'})),
}
# PX4 boats run the rover firmware too; ArduPilot boats are Rover with FRAME_CLASS 2.
_PROFILES[('px4', 'boat')] = dataclasses.replace(_PROFILES[('px4', 'rover')], vehicle='boat')
_PROFILES[('ardupilot', 'boat')] = dataclasses.replace(_PROFILES[('ardupilot', 'rover')],
                                                       vehicle='boat')


def mode_profile(autopilot: str, vehicle: str) -> ModeProfile:
    """
    Return the modes of an autopilot and vehicle class.

    :raises ValueError: unknown autopilot or vehicle class.
    """
    try:
        return _PROFILES[(autopilot, vehicle)]
    except KeyError:
        raise ValueError(f'no mode table for autopilot {autopilot!r} and vehicle {vehicle!r}; '
                         f'autopilot is one of {list(AUTOPILOTS)}, vehicle one of '
                         f'{list(VEHICLES)}') from None
