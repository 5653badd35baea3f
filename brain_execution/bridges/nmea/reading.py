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
What the autopilot reports, read from a byte stream: framing, validation, readings.

Bytes are cut into lines (bounded, so a stream without line ends cannot grow memory), each
line is parsed and checksum-checked by pynmea2, and the sentences the bridge uses become
readings: a position fix (RMC, GGA), course and speed (RMC, VTG) and heading (HDT, HDG).
Every line lands in one category of :class:`ReadCounts` (noise in front of a sentence on the
same line counts as ``garbage`` too); nothing in a line, however malformed, raises out of
:meth:`SentenceReader.feed`.

pynmea2 parses leniently: an empty latitude reads as 0.0 and a field that does not convert
comes back as the raw string. Each value used is therefore checked here (present, a finite
number, in range) and a sentence that fails is *unparsable*, not a position at 0 N 0 E.
"""

import collections
import dataclasses
import decimal
import math
import typing

import pynmea2

from .writing import MPS_PER_KNOT

__all__ = ['BAD_CATEGORIES', 'CourseSpeed', 'Fix', 'Heading', 'LineResult', 'MagneticHeading',
           'NoFix', 'ReadCounts', 'SentenceReader', 'Variation']

# NMEA 0183 allows 82 characters; some devices send longer proprietary sentences.
_MAX_LINE = 256

#: Categories of lines that failed validation (the "bad sentences").
BAD_CATEGORIES = ('bad_checksum', 'missing_checksum', 'unparsable', 'garbage')


@dataclasses.dataclass(frozen=True)
class Fix:
    """A valid position, WGS-84 degrees."""

    latitude_deg: float
    longitude_deg: float


@dataclasses.dataclass(frozen=True)
class NoFix:
    """The GNSS receiver reports no valid fix (RMC status V, GGA quality 0, no position)."""

    sentence: str


@dataclasses.dataclass(frozen=True)
class CourseSpeed:
    """Course over ground (true degrees, None when not given) and speed over ground, m/s."""

    course_deg: typing.Optional[float]
    speed_mps: float


@dataclasses.dataclass(frozen=True)
class Heading:
    """The boat's heading, true degrees."""

    heading_deg: float


@dataclasses.dataclass(frozen=True)
class MagneticHeading:
    """A magnetic heading corrected for deviation, degrees; the variation is still to apply."""

    heading_deg: float


@dataclasses.dataclass(frozen=True)
class Variation:
    """Magnetic variation, degrees, east positive (from RMC), for HDG without its own."""

    variation_deg: float


Reading = typing.Union[Fix, NoFix, CourseSpeed, Heading, MagneticHeading, Variation]


@dataclasses.dataclass(frozen=True)
class LineResult:
    """One line's category and the readings it gave (none unless ``valid``)."""

    category: str
    sentence: str = ''
    readings: typing.Tuple[Reading, ...] = ()


class ReadCounts(collections.Counter):
    """Lines by category: ``valid``, ``no_fix``, ``foreign_talker``, ``unused``, ..."""

    @property
    def bad(self) -> int:
        """Return the number of lines that failed validation."""
        return sum(self[name] for name in BAD_CATEGORIES)


class _Unparsable(ValueError):
    """Raised when a sentence's field is missing, not a number or out of range."""


def _number(value: typing.Any, name: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and lo <= number <= hi:
            return number
    raise _Unparsable(f'{name}={value!r}')


def _signed(value: typing.Any, direction: str, name: str, positive: str, negative: str,
            hi: float) -> float:
    magnitude = _number(_float_or_raw(value), name, 0.0, hi)
    if direction == positive:
        return magnitude
    if direction == negative:
        return -magnitude
    raise _Unparsable(f'{name} direction={direction!r}')


def _float_or_raw(value: typing.Any) -> typing.Any:
    # pynmea2 keeps deviation and variation as strings in some sentence types.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


class SentenceReader:
    """
    Turn received bytes into validated readings, counting every line by category.

    Not thread-safe: one reader per stream, fed from one thread.

    :param require_checksum: count sentences without ``*hh`` as ``missing_checksum`` and
        drop them; otherwise they are parsed.
    :param accept_talkers: talker ids whose sentences give readings; empty = any. Others
        count as ``foreign_talker``.
    """

    def __init__(self, *, require_checksum: bool = True,
                 accept_talkers: typing.Iterable[str] = ()):
        self.require_checksum = require_checksum
        self.accept_talkers = frozenset(accept_talkers)
        self.counts = ReadCounts()
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> typing.List[LineResult]:
        """Consume bytes; return the result of every line they completed."""
        results = []
        self._buffer += data
        while True:
            end = self._buffer.find(b'\n')
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            if self._discarding:
                # The tail of an overlong line: its start was already counted.
                self._discarding = False
                continue
            result = self.read_line(line)
            if result is not None:
                results.append(result)
        if len(self._buffer) > _MAX_LINE:
            self._buffer.clear()
            self._discarding = True
            self.counts['garbage'] += 1
            results.append(LineResult('garbage'))
        return results

    def read_line(self, raw: bytes) -> typing.Optional[LineResult]:
        """Return one line's result, counted; None for an empty line."""
        text = raw.decode('ascii', errors='replace').strip()
        if not text:
            return None
        result = LineResult('garbage') if len(text) > _MAX_LINE else self._classify(text)
        self.counts[result.category] += 1
        return result

    def _classify(self, text: str) -> LineResult:
        start = text.rfind('$')
        if start < 0:
            # AIS (!AIVDM) and anything else without a '$' carry nothing the bridge uses.
            return LineResult('unused' if text.startswith('!') else 'garbage')
        if start > 0:
            # Noise before a sentence, or a sentence cut short by the next one: keep the last.
            self.counts['garbage'] += 1
            text = text[start:]
        if '*' not in text and self.require_checksum:
            return LineResult('missing_checksum')
        try:
            message = pynmea2.parse(text, check=self.require_checksum)
        except pynmea2.ChecksumError:
            return LineResult('bad_checksum')
        except pynmea2.SentenceTypeError:
            return LineResult('unused')
        except Exception:  # noqa: B902 - no line, however malformed, may end the reader
            return LineResult('unparsable')
        if isinstance(message, pynmea2.ProprietarySentence):
            return LineResult('proprietary')
        if not isinstance(message, pynmea2.TalkerSentence):
            return LineResult('unused')
        sentence = message.sentence_type
        if sentence not in _READERS:
            return LineResult('unused', sentence)
        if self.accept_talkers and message.talker not in self.accept_talkers:
            return LineResult('foreign_talker', sentence)
        try:
            readings = _READERS[sentence](message)
        except (_Unparsable, ValueError, TypeError, AttributeError):
            return LineResult('unparsable', sentence)
        if any(isinstance(r, NoFix) for r in readings):
            return LineResult('no_fix', sentence, readings)
        return LineResult('valid', sentence, readings)


def _position(message) -> Fix:
    if not message.lat or not message.lon:
        raise _Unparsable('position fields are empty')
    latitude = _signed(pynmea2.nmea_utils.dm_to_sd(message.lat), message.lat_dir, 'latitude',
                       'N', 'S', 90.0)
    longitude = _signed(pynmea2.nmea_utils.dm_to_sd(message.lon), message.lon_dir,
                        'longitude', 'E', 'W', 180.0)
    return Fix(latitude, longitude)


def _rmc(message) -> typing.Tuple[Reading, ...]:
    if not message.is_valid:
        return (NoFix('RMC'),)
    readings: typing.List[Reading] = [_position(message)]
    if message.spd_over_grnd is not None:
        speed = _number(message.spd_over_grnd, 'speed over ground', 0.0, 200.0) * MPS_PER_KNOT
        course = message.true_course
        readings.append(CourseSpeed(
            None if course is None else _number(course, 'course', 0.0, 360.0), speed))
    if message.mag_variation:
        readings.append(Variation(_signed(message.mag_variation, message.mag_var_dir,
                                          'variation', 'E', 'W', 180.0)))
    return tuple(readings)


def _gga(message) -> typing.Tuple[Reading, ...]:
    if not message.is_valid:
        return (NoFix('GGA'),)
    return (_position(message),)


def _vtg(message) -> typing.Tuple[Reading, ...]:
    if message.faa_mode == 'N':
        return (NoFix('VTG'),)
    speed = _number(message.spd_over_grnd_kts, 'speed over ground', 0.0, 200.0) * MPS_PER_KNOT
    course = message.true_track
    return (CourseSpeed(None if course is None else _number(course, 'course', 0.0, 360.0),
                        speed),)


def _hdt(message) -> typing.Tuple[Reading, ...]:
    if message.hdg_true != 'T':
        raise _Unparsable(f'HDT reference={message.hdg_true!r}')
    return (Heading(_number(message.heading, 'heading', 0.0, 360.0) % 360.0),)


def _hdg(message) -> typing.Tuple[Reading, ...]:
    heading = _number(message.heading, 'heading', 0.0, 360.0)
    if message.deviation is not None:
        heading += _signed(message.deviation, message.dev_dir, 'deviation', 'E', 'W', 180.0)
    if message.variation is None:
        # The bridge applies the variation last heard from RMC, if any.
        return (MagneticHeading(heading % 360.0),)
    variation = _signed(message.variation, message.var_dir, 'variation', 'E', 'W', 180.0)
    return (Heading((heading + variation) % 360.0), Variation(variation))


_READERS = {'RMC': _rmc, 'GGA': _gga, 'VTG': _vtg, 'HDT': _hdt, 'HDG': _hdg}
