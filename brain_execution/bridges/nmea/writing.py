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
The route sentences the bridge sends an autopilot, built with pynmea2.

APB (autopilot sentence B) is what autopilots steer by: cross-track error, arrival flags,
bearings and the heading to steer, all true (field 14 ``T``; pypilot ignores an APB whose
heading to steer is magnetic). RMB (recommended navigation to destination) adds the
destination's position, range and closing velocity; XTE carries the cross-track error
alone. Distances are nautical miles, speeds knots, as NMEA 0183 defines them.

To drop a route the bridge sends the same sentences with status ``V`` (data not valid) and
null data fields. Autopilots that honour the status leave track mode for heading hold at
once; pypilot, which does not read it, cannot parse a null heading and so ignores them, and
drops nav mode for its GPS/compass heading hold after 8 s without a valid APB.
"""

import typing

import pynmea2

from .guidance import Guidance, Leg

__all__ = ['METRES_PER_NM', 'MPS_PER_KNOT', 'apb', 'drop_sentences', 'format_latitude',
           'format_longitude', 'rmb', 'xte']

METRES_PER_NM = 1852.0
MPS_PER_KNOT = METRES_PER_NM / 3600.0
# RMB's cross-track field holds at most 9.99 nm; APB and XTE follow the same limit here.
_MAX_XTE_NM = 9.99


def _sentence(talker: str, kind: str, fields: typing.Sequence[str]) -> str:
    return pynmea2.TalkerSentence.sentence_types[kind](talker, kind, list(fields)).render(
        newline=True)


def _nm(metres: float) -> str:
    return f'{min(abs(metres) / METRES_PER_NM, _MAX_XTE_NM):.3f}'


def _degrees(value: float) -> str:
    # Rounded before the wrap, so 359.97 reads 000.0 and not 360.0.
    return f'{round(value, 1) % 360.0:05.1f}'


def format_latitude(latitude_deg: float) -> typing.Tuple[str, str]:
    """Return a latitude as NMEA ``ddmm.mmmm`` and its hemisphere letter."""
    return _degrees_minutes(abs(latitude_deg), 2), 'N' if latitude_deg >= 0.0 else 'S'


def format_longitude(longitude_deg: float) -> typing.Tuple[str, str]:
    """Return a longitude as NMEA ``dddmm.mmmm`` and its hemisphere letter."""
    return _degrees_minutes(abs(longitude_deg), 3), 'E' if longitude_deg >= 0.0 else 'W'


def _degrees_minutes(value: float, width: int) -> str:
    degrees = int(value)
    minutes = round((value - degrees) * 60.0, 4)
    if minutes >= 60.0:
        degrees, minutes = degrees + 1, 0.0
    return f'{degrees:0{width}d}{minutes:07.4f}'


def apb(talker: str, leg: Leg, guidance: Guidance) -> str:
    """Return an APB sentence for a leg, with CR LF."""
    flag = {True: 'A', False: 'V'}
    return _sentence(talker, 'APB', (
        'A', 'A', _nm(guidance.cross_track_m), 'L' if guidance.steer_left else 'R', 'N',
        flag[guidance.arrival_circle], flag[guidance.perpendicular_passed],
        _degrees(leg.bearing_deg), 'T', leg.destination_id,
        _degrees(guidance.bearing_to_destination_deg), 'T',
        _degrees(guidance.heading_to_steer_deg), 'T'))


def rmb(talker: str, leg: Leg, guidance: Guidance, latitude_deg: float,
        longitude_deg: float) -> str:
    """Return an RMB sentence for a leg whose destination is at the given position."""
    lat, lat_dir = format_latitude(latitude_deg)
    lon, lon_dir = format_longitude(longitude_deg)
    return _sentence(talker, 'RMB', (
        'A', _nm(guidance.cross_track_m), 'L' if guidance.steer_left else 'R',
        leg.origin_id, leg.destination_id, lat, lat_dir, lon, lon_dir,
        f'{min(guidance.distance_m / METRES_PER_NM, 999.9):.3f}',
        _degrees(guidance.bearing_to_destination_deg),
        f'{guidance.closing_speed_mps / MPS_PER_KNOT:.1f}',
        'A' if guidance.arrival_circle else 'V'))


def xte(talker: str, guidance: Guidance) -> str:
    """Return an XTE sentence."""
    return _sentence(talker, 'XTE', (
        'A', 'A', _nm(guidance.cross_track_m), 'L' if guidance.steer_left else 'R', 'N'))


def drop_sentences(talker: str, *, apb_on: bool = True, rmb_on: bool = True,
                   xte_on: bool = True) -> str:
    """Return the sentences that tell an autopilot there is no valid route any more."""
    sentences = []
    if apb_on:
        sentences.append(_sentence(talker, 'APB', ('V', 'V') + ('',) * 12))
    if rmb_on:
        sentences.append(_sentence(talker, 'RMB', ('V',) + ('',) * 11 + ('V',)))
    if xte_on:
        sentences.append(_sentence(talker, 'XTE', ('V', 'V', '', '', '')))
    return ''.join(sentences)
