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
The ``nmea.*`` parameters of the NMEA 0183 bridge, declared read-only and frozen.

Every parameter is declared with its description and range through the executor's
:class:`~brain_execution.core.bridge.ParameterSource`, so ``ros2 param describe`` documents
it; :class:`NmeaSettings` validates the combination and names the parameter at fault.
"""

import dataclasses
import math
import re
import typing

from brain_execution.core.bridge import ArrayParameter, ParameterSource

__all__ = ['NmeaSettings', 'TRANSPORTS', 'declare_settings']

#: Transports by their ``nmea.transport`` name.
TRANSPORTS = ('udp', 'tcp_client', 'tcp_server', 'serial')

_TALKER = re.compile(r'^[A-Z]{2}$')
# NMEA 0183 speeds: 4800 baud is the standard, 38400 the high-speed variant (AIS, IEC 61162-2).
_BAUD_RATES = (4800, 9600, 19200, 38400, 57600, 115200)


@dataclasses.dataclass(frozen=True)
class NmeaSettings:
    """
    How the bridge reaches the autopilot and how it guides it; see :func:`declare_settings`.

    :raises ValueError: a value or a combination is invalid; the message names the
        ``nmea.*`` parameter.
    """

    transport: str = 'tcp_client'
    host: str = '127.0.0.1'
    port: int = 20220
    listen_port: int = 10110
    device: str = '/dev/ttyUSB0'
    baud: int = 4800
    talker_id: str = 'GP'
    accept_talkers: typing.Tuple[str, ...] = ()
    require_checksum: bool = True
    apb_rate_hz: float = 1.0
    rmb_rate_hz: float = 1.0
    xte_rate_hz: float = 1.0
    arrival_radius_m: float = 10.0
    lookahead_m: float = 20.0
    link_timeout_s: float = 3.0
    heading_from_course: bool = False

    def __post_init__(self):
        if self.transport not in TRANSPORTS:
            raise ValueError(f'nmea.transport={self.transport!r} unknown; expected one of '
                             f'{list(TRANSPORTS)}')
        if self.transport in ('udp', 'tcp_client') and not self.host:
            raise ValueError(f'nmea.host is empty; transport {self.transport} sends to it')
        if self.transport == 'serial' and not self.device:
            raise ValueError('nmea.device is empty; transport serial opens it')
        if self.transport == 'serial' and self.baud not in _BAUD_RATES:
            raise ValueError(f'nmea.baud={self.baud} is not an NMEA 0183 rate '
                             f'{list(_BAUD_RATES)}')
        if not _TALKER.match(self.talker_id):
            raise ValueError(f'nmea.talker_id={self.talker_id!r} must be two upper-case '
                             'letters (e.g. GP, EC, II)')
        for talker in self.accept_talkers:
            if not _TALKER.match(talker):
                raise ValueError(f'nmea.accept_talkers entry {talker!r} must be two upper-case '
                                 'letters (e.g. GP, GN, HC)')
        if self.apb_rate_hz == 0.0 and self.rmb_rate_hz == 0.0:
            raise ValueError('nmea.apb_rate_hz and nmea.rmb_rate_hz are both 0: the autopilot '
                             'would get no route; set at least one')
        for name in ('apb_rate_hz', 'rmb_rate_hz', 'xte_rate_hz', 'arrival_radius_m',
                     'lookahead_m', 'link_timeout_s'):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f'nmea.{name}={getattr(self, name)} must be finite')
        slowest = min(r for r in (self.apb_rate_hz, self.rmb_rate_hz) if r > 0.0)
        if self.link_timeout_s < 0.5:
            raise ValueError(f'nmea.link_timeout_s={self.link_timeout_s} must be >= 0.5 s')
        if slowest < 0.2:
            raise ValueError(f'route sentences at {slowest} Hz are slower than autopilots '
                             'accept (pypilot drops a route after 8 s); use >= 0.2 Hz')


# name, default, description, limits. Units are part of the names.
_PARAMETERS = (
    ('transport', 'tcp_client', 'How the autopilot is reached: udp, tcp_client (connect to '
     'host:port), tcp_server (listen on listen_port) or serial (device at baud).', None),
    ('host', '127.0.0.1', 'Autopilot address for tcp_client, and where udp sends.', None),
    ('port', 20220, 'Autopilot port for tcp_client and udp (pypilot listens for NMEA on '
     '20220; 10110 is the usual NMEA-over-IP port).', (1, 65535)),
    ('listen_port', 10110, 'Local port for tcp_server, and where udp receives.', (1, 65535)),
    ('device', '/dev/ttyUSB0', 'Serial device for transport serial.', None),
    ('baud', 4800, 'Serial speed: 4800 (NMEA 0183) or 38400 (high speed).', (300, 115200)),
    ('talker_id', 'GP', 'Talker id of the sentences sent (two letters; GP, EC or II are '
     'common for a chartplotter).', None),
    ('accept_talkers', ArrayParameter.STRING, 'Talker ids whose position and heading are used '
     '(e.g. [GP, GN, HC]); unset = any. Others are counted as ignored.', None),
    ('require_checksum', True, 'Drop received sentences without a checksum (NMEA 0183 makes '
     'it mandatory for RMC, GGA, VTG, HDG, HDT).', None),
    ('apb_rate_hz', 1.0, 'APB sentences per second while a route is active; 0 = none. '
     'pypilot accepts at most 2 Hz.', (0.0, 5.0)),
    ('rmb_rate_hz', 1.0, 'RMB sentences per second while a route is active; 0 = none.',
     (0.0, 5.0)),
    ('xte_rate_hz', 1.0, 'XTE sentences per second while a route is active; 0 = none.',
     (0.0, 5.0)),
    ('arrival_radius_m', 10.0, 'Arrival circle around a waypoint, m: sets the APB/RMB arrival '
     'flags, switches to the next leg of a route and ends return_home.', (1.0, 1000.0)),
    ('lookahead_m', 20.0, 'Line-of-sight distance along the leg the heading to steer aims '
     'at, m; shorter converges on the track faster and weaves more.', (1.0, 1000.0)),
    ('link_timeout_s', 3.0, 'The link counts as lost when no valid position or heading came '
     'for this long, s; the route is then dropped.', (0.5, 60.0)),
    ('heading_from_course', False, 'Use the course over ground (RMC/VTG) as heading when the '
     'autopilot sends no HDG/HDT.', None),
)


def declare_settings(parameters: ParameterSource) -> NmeaSettings:
    """
    Declare every ``nmea.*`` parameter and return the validated settings.

    :raises ValueError: a value is invalid; the message names the parameter.
    """
    values = {name: parameters.declare(name, default, description, limits)
              for name, default, description, limits in _PARAMETERS}
    values['accept_talkers'] = tuple(values['accept_talkers'])
    return NmeaSettings(**values)
