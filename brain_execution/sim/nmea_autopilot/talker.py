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
What the simulated autopilot reports, as its GNSS receiver and compass would.

``GP`` RMC, GGA and VTG (position, course, speed) and ``HC`` HDG (magnetic heading with the
variation) at their own rates, built with pynmea2. Rates are in sim time; the defaults fit
a 4800-baud line (about 400 bytes/s). Without a fix (the ``no_fix`` fault) RMC says V, GGA
quality 0 and VTG mode N, with the position fields empty, as receivers do.
"""

import datetime
import math
import typing

import pynmea2

from .boat import BoatState
from ...core.geo import GeoPoint, local_to_geographic

__all__ = ['DEFAULT_RATES_HZ', 'Talker']

#: Sentences per second of sim time, by sentence type.
DEFAULT_RATES_HZ = {'RMC': 2.0, 'GGA': 1.0, 'VTG': 1.0, 'HDG': 5.0}
_KNOT_MPS = 1852.0 / 3600.0


def _angle(value: float, width: int) -> typing.Tuple[str, bool]:
    """Return |value| as NMEA degrees and minutes, and whether value is negative."""
    minutes_total = round(abs(value) * 60.0, 4)
    degrees, minutes = divmod(minutes_total, 60.0)
    return f'{int(degrees):0{width}d}{minutes:07.4f}', value < 0.0


class Talker:
    """
    Emit the boat's state as NMEA sentences when they are due.

    :param home: geographic origin of the boat's local frame.
    :param utc_start: UTC time at sim time 0 (the sentences' time stamps).
    :param rates_hz: sentences per second by type (RMC, GGA, VTG, HDG); 0 = never.
    :param variation_deg: magnetic variation, east positive.
    """

    def __init__(self, *, home: GeoPoint, utc_start: datetime.datetime,
                 rates_hz: typing.Mapping[str, float] = DEFAULT_RATES_HZ,
                 variation_deg: float = 2.0):
        unknown = set(rates_hz) - set(DEFAULT_RATES_HZ)
        if unknown:
            raise ValueError(f'no such sentence to emit: {sorted(unknown)}')
        self.home = home
        self.utc_start = utc_start
        self.variation_deg = variation_deg
        self._periods = {kind: 1.0 / rate for kind, rate in rates_hz.items() if rate > 0.0}
        self._due = dict.fromkeys(self._periods, 0.0)

    def due(self, now_s: float, boat: BoatState, *, fix: bool = True) -> typing.List[str]:
        """Return the sentences due at sim time now_s (each ending with CR LF)."""
        sentences = []
        for kind, period in self._periods.items():
            if now_s + 1e-9 < self._due[kind]:
                continue
            following = self._due[kind] + period
            # Late (a stalled loop, a first call long after 0): keep the rate from now on.
            self._due[kind] = following if following > now_s else now_s + period
            utc = self.utc_start + datetime.timedelta(seconds=now_s)
            fields = getattr(self, f'_{kind.lower()}')(utc, boat, fix)
            talker = 'HC' if kind == 'HDG' else 'GP'
            sentences.append(pynmea2.TalkerSentence.sentence_types[kind](
                talker, kind, fields).render(newline=True))
        return sentences

    def _position(self, boat: BoatState) -> typing.List[str]:
        geo = local_to_geographic(self.home, boat.x_m, boat.y_m)
        lat, south = _angle(geo.latitude_deg, 2)
        lon, west = _angle(geo.longitude_deg, 3)
        return [lat, 'S' if south else 'N', lon, 'W' if west else 'E']

    def _variation(self) -> typing.List[str]:
        return [f'{abs(self.variation_deg):.1f}', 'W' if self.variation_deg < 0.0 else 'E']

    def _rmc(self, utc: datetime.datetime, boat: BoatState, fix: bool) -> typing.List[str]:
        stamp, date = utc.strftime('%H%M%S.%f')[:9], utc.strftime('%d%m%y')
        if not fix:
            return [stamp, 'V', '', '', '', '', '', '', date, '', '', 'N']
        course = f'{boat.heading_deg:.1f}' if boat.speed_mps > 0.05 else ''
        return [stamp, 'A', *self._position(boat), f'{boat.speed_mps / _KNOT_MPS:.2f}', course,
                date, *self._variation(), 'A']

    def _gga(self, utc: datetime.datetime, boat: BoatState, fix: bool) -> typing.List[str]:
        stamp = utc.strftime('%H%M%S.%f')[:9]
        if not fix:
            return [stamp, '', '', '', '', '0', '00', '', '', 'M', '', 'M', '', '']
        return [stamp, *self._position(boat), '1', '10', '0.9', '1.5', 'M', '47.0', 'M', '', '']

    def _vtg(self, utc: datetime.datetime, boat: BoatState, fix: bool) -> typing.List[str]:
        if not fix:
            return ['', 'T', '', 'M', '', 'N', '', 'K', 'N']
        true = boat.heading_deg
        magnetic = (true - self.variation_deg) % 360.0
        knots = boat.speed_mps / _KNOT_MPS
        return [f'{true:.1f}', 'T', f'{magnetic:.1f}', 'M', f'{knots:.2f}', 'N',
                f'{knots * 1.852:.2f}', 'K', 'A']

    def _hdg(self, utc: datetime.datetime, boat: BoatState, fix: bool) -> typing.List[str]:
        # A fluxgate compass reads magnetic; true = magnetic + variation (east positive).
        magnetic = math.fmod(boat.heading_deg - self.variation_deg + 360.0, 360.0)
        return [f'{magnetic:.1f}', '0.0', 'E', *self._variation()]
