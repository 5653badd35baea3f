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
Faults of the simulated autopilot's NMEA link, switchable while it runs.

* ``corrupt`` (0..1): that fraction of the autopilot's own sentences is mangled on the way
  out: a wrong checksum, cut short (the next sentence then runs into it), replaced by
  garbage bytes, or sent without its checksum. At 1 nothing valid gets through.
* ``noise`` (0..1): per sentence sent, the chance of one more line from elsewhere on the
  bus: other talkers (GN, II, AI, with positions that are not the boat's), proprietary
  sentences, sentences with empty fields, AIS.
* ``link_drop``: the wire is cut both ways; nothing is sent, what arrives is discarded
  (TCP connections stay open, as through a dead radio link).
* ``no_fix``: the GNSS has no fix (RMC V, GGA quality 0, empty positions); the compass goes on.

Random choices come from a seeded generator, so a run can be replayed.
"""

import dataclasses
import random
import typing

import pynmea2

__all__ = ['LinkFaults', 'Corrupter']

# Lines of other devices on a shared NMEA bus. The positions are deliberately far from any
# boat near home: a bridge that used them would jump.
_NOISE = (
    ('GN', 'RMC', ['120000.00', 'A', '0100.0000', 'S', '00100.0000', 'W', '9.9', '45.0',
                   '010126', '', '', 'A']),
    ('II', 'HDT', ['180.0', 'T']),
    ('II', 'MWV', ['214.8', 'R', '7.1', 'N', 'A']),
    ('II', 'DBT', ['12.3', 'f', '3.75', 'M', '2.05', 'F']),
    ('GN', 'GSA', ['A', '3', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '']),
    ('GP', 'GSV', ['3', '1', '11', '01', '', '', '', '02', '', '', '']),
    ('GP', 'ZDA', ['', '', '', '', '', '']),
)
_PROPRIETARY = ('$PGRME,15.0,M,45.0,M,25.0,M', '$PSRF151,01', '$PMTK220,1000')
_AIS = b'!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26\r\n'


@dataclasses.dataclass
class LinkFaults:
    """The fault switches; validated on every assignment (they change while running)."""

    corrupt: float = 0.0
    noise: float = 0.0
    link_drop: bool = False
    no_fix: bool = False

    def __setattr__(self, name: str, value: typing.Any) -> None:
        if name in ('corrupt', 'noise'):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be a number in 0..1, got {value!r}')
            value = float(value)
        elif name in ('link_drop', 'no_fix') and not isinstance(value, bool):
            raise ValueError(f'{name} must be true or false, got {value!r}')
        super().__setattr__(name, value)

    def update(self, changes: typing.Mapping[str, typing.Any]) -> None:
        """Apply several switches at once, all or none."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f'unknown faults {sorted(unknown)}; known: {sorted(names)}')
        trial = dataclasses.replace(self)
        for name, value in changes.items():
            setattr(trial, name, value)
        for name in changes:
            setattr(self, name, getattr(trial, name))


class Corrupter:
    """
    Apply ``corrupt`` and ``noise`` to outgoing sentences.

    :param seed: seed of the random choices.
    """

    def __init__(self, seed: int = 0):
        self._random = random.Random(seed)
        #: Lines mangled or added, by kind.
        self.counts: typing.Dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def apply(self, sentence: str, faults: LinkFaults) -> bytes:
        """Return the bytes that go on the wire for one sentence (with CR LF)."""
        out = sentence.encode('ascii')
        if faults.corrupt and self._random.random() < faults.corrupt:
            out = self._mangle(sentence)
        if faults.noise and self._random.random() < faults.noise:
            out += self._noise()
        return out

    def _mangle(self, sentence: str) -> bytes:
        body = sentence.rstrip('\r\n')
        kind = self._random.choice(('bad_checksum', 'truncated', 'garbage', 'no_checksum'))
        self._count(kind)
        if kind == 'bad_checksum':
            star = body.rindex('*')
            wrong = (int(body[star + 1:], 16) + self._random.randint(1, 255)) % 256
            return f'{body[:star]}*{wrong:02X}\r\n'.encode('ascii')
        if kind == 'truncated':
            # Cut short and no line end: the next sentence completes this line.
            return body[:self._random.randint(1, len(body) - 4)].encode('ascii')
        if kind == 'garbage':
            return bytes(self._random.randint(0, 255) for _ in range(len(body))) + b'\r\n'
        return body[:body.rindex('*')].encode('ascii') + b'\r\n'

    def _noise(self) -> bytes:
        kind = self._random.choice(('foreign', 'proprietary', 'ais'))
        self._count(f'noise_{kind}')
        if kind == 'foreign':
            talker, sentence, fields = self._random.choice(_NOISE)
            return pynmea2.TalkerSentence.sentence_types[sentence](
                talker, sentence, fields).render(newline=True).encode('ascii')
        if kind == 'proprietary':
            body = self._random.choice(_PROPRIETARY)
            return f'{body}*{pynmea2.NMEASentence.checksum(body[1:]):02X}\r\n'.encode('ascii')
        return _AIS
