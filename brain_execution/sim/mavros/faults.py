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
The faults of one sim_mavros vehicle, switched at run time as ``fault.*`` ROS parameters.

:data:`FAULTS` is the single table of them: the node declares one parameter per entry, with
its description, and validates every change with the entry's check, so a bad value is
refused with a reason and changes nothing. The meaning of each is in the package docstring
(:mod:`brain_execution.sim.mavros`).
"""

import dataclasses
import math
import typing

__all__ = ['FAULTS', 'Fault', 'MavrosFaults']


@dataclasses.dataclass(frozen=True)
class Fault:
    """One fault parameter: default value, description, and a check returning a reason."""

    default: typing.Any
    description: str
    check: typing.Callable[[typing.Any], typing.Optional[str]] = lambda value: None


def _non_negative(value) -> typing.Optional[str]:
    return None if math.isfinite(value) and value >= 0.0 else 'must be finite and >= 0'


def _finite(value) -> typing.Optional[str]:
    return None if math.isfinite(value) else 'must be finite'


FAULTS: typing.Dict[str, Fault] = {
    'arming_denied': Fault(
        '', 'Non-empty: every arming request is refused with this reason (ArduPilot: '
        'MAV_RESULT 4 and STATUSTEXT "Arm: <reason>"; PX4: MAV_RESULT 1, no STATUSTEXT).'),
    'ignore_mode_change': Fault(
        False, 'set_mode still answers mode_sent=true, but the mode never changes.'),
    'ack_timeout': Fault(
        False, 'cmd/* get no COMMAND_ACK: answered success=false result=0 after '
        'ack_timeout_s; the command still takes effect fault.late_effect_s later.'),
    'late_effect_s': Fault(
        6.0, 'With fault.ack_timeout: model seconds after the request at which the '
        'unacknowledged command takes effect anyway; negative = never.', _finite),
    'link_down': Fault(
        False, 'The link is cut: no pose, position, battery or state messages, setpoints '
        'and commands do not reach the vehicle; state.connected turns false after '
        'heartbeat_timeout_s. Clearing it reconnects with the mode the vehicle has then.'),
    'battery_drain_pct_per_s': Fault(
        0.0, 'Extra battery drain, percent per model second.', _non_negative),
    'gps_lost': Fault(
        False, 'No GPS fix: NavSatFix status NO_FIX, arming refused, and a flying vehicle '
        'in a position mode fails safe (copters land, rovers hold).'),
    'gps_glitch': Fault(
        False, 'The GPS reports a fix the EKF rejects (glitch, multipath, spoofing): '
        'NavSatFix keeps its fix, but the position estimate is bad: arming refused, and a '
        'flying vehicle in a mode that needs a position fails safe (EKF failsafe).'),
    'pilot_takeover': Fault(
        '', 'A mode name: a pilot switches the vehicle to it at once (e.g. POSCTL, MANUAL, '
        'LOITER); it must be a mode of the flavour. Set it again to repeat.'),
}


@dataclasses.dataclass
class MavrosFaults:
    """The current fault values, one attribute per :data:`FAULTS` entry."""

    arming_denied: str = FAULTS['arming_denied'].default
    ignore_mode_change: bool = FAULTS['ignore_mode_change'].default
    ack_timeout: bool = FAULTS['ack_timeout'].default
    late_effect_s: float = FAULTS['late_effect_s'].default
    link_down: bool = FAULTS['link_down'].default
    battery_drain_pct_per_s: float = FAULTS['battery_drain_pct_per_s'].default
    gps_lost: bool = FAULTS['gps_lost'].default
    gps_glitch: bool = FAULTS['gps_glitch'].default
    pilot_takeover: str = FAULTS['pilot_takeover'].default

    @staticmethod
    def check(name: str, value: typing.Any) -> typing.Optional[str]:
        """Return why value cannot be the fault's, or None when it can."""
        fault = FAULTS.get(name)
        if fault is None:
            return f'no fault named {name!r}; known: {sorted(FAULTS)}'
        expected = type(fault.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f'fault.{name} must be a {expected.__name__}, got {value!r}'
        reason = fault.check(value)
        return f'fault.{name} {reason}, got {value!r}' if reason else None
