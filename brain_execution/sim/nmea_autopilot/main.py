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
``sim_nmea_autopilot``: a simulated marine autopilot speaking NMEA 0183 on real sockets.

Run it next to a robot executor on ``bridge: nmea``, e.g.::

    sim_nmea_autopilot --tcp-port 20220 --events /tmp/boat1.jsonl

Endpoints (any combination; ``--tcp-port 20220`` when none is given): ``--tcp-port`` (the
bridge's tcp_client), ``--udp-port`` with ``--udp-peer`` (its udp), ``--connect`` (its
tcp_server), ``--pty`` (its serial). Faults switch at run time on the control socket (see
:mod:`.server`) and can be set from the start with ``--corrupt``, ``--noise``,
``--link-drop`` and ``--no-fix``. ``--ready-file`` receives the ports once everything
listens: ``{"control_port": ..., "tcp_port": ..., "udp_port": ...}``. ``--clock-rate N``
(0.1..20; ``--speedup`` is its old name) runs its sim time N times faster than real time:
the boat sails, and its sentences come, N times as fast; the ROS side then runs on a
``/clock`` of the same rate (e.g. sim_nav2's ``clock_rate``). SIGINT or SIGTERM end it
cleanly.
"""

import argparse
import datetime
import json
import os
import signal
import sys
import typing

from .autopilot import Autopilot
from .boat import Boat
from .endpoints import PtyEndpoint, TcpClientEndpoint, TcpServerEndpoint, UdpEndpoint
from .events import EventLog
from .faults import Corrupter, LinkFaults
from .server import ScaledClock, Server
from .simulation import Simulation
from .talker import DEFAULT_RATES_HZ, Talker
from ..bridge import DEFAULT_HOME
from ..clock_rate import check_clock_rate, CLOCK_RATE_RANGE
from ...core.geo import GeoPoint

__all__ = ['main']


def _address(text: str) -> typing.Tuple[str, int]:
    host, _, port = text.rpartition(':')
    try:
        return host or '127.0.0.1', int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not HOST:PORT') from None


def _rate(text: str) -> typing.Tuple[str, float]:
    kind, _, value = text.partition('=')
    if kind not in DEFAULT_RATES_HZ:
        raise argparse.ArgumentTypeError(f'{kind!r} is not one of {sorted(DEFAULT_RATES_HZ)}')
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not SENTENCE=HZ') from None
    if not 0.0 <= rate <= 50.0:
        raise argparse.ArgumentTypeError(f'{text!r}: rate must be 0..50 Hz')
    return kind, rate


def _clock_rate(text: str) -> float:
    try:
        return check_clock_rate(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='sim_nmea_autopilot', description=__doc__.split(
        '\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('--tcp-port', type=int, help='serve NMEA on this TCP port (0 = any free port)')
    add('--udp-port', type=int, help='receive NMEA datagrams on this port (0 = any)')
    add('--udp-peer', type=_address, help='HOST:PORT the UDP datagrams go to')
    add('--connect', type=_address, help='connect to a bridge listening at HOST:PORT')
    add('--pty', help='create a pseudo-terminal and link its slave side at this path')
    add('--control-port', type=int, default=0, help='control socket port (0 = any free)')
    add('--ready-file', help='write the ports here as JSON once listening')
    add('--events', help="append the boat's events to this JSON-lines file")
    add('--home-lat', type=float, default=DEFAULT_HOME.latitude_deg, help='home latitude')
    add('--home-lon', type=float, default=DEFAULT_HOME.longitude_deg, help='home longitude')
    add('--x-m', type=float, default=0.0, help='start east of home, m')
    add('--y-m', type=float, default=0.0, help='start north of home, m')
    add('--heading-deg', type=float, default=0.0, help='start heading, true degrees')
    add('--speed-mps', type=float, default=2.0, help='throttle: speed the boat makes, m/s')
    add('--moored', action='store_true',
        help='lie still (throttle 0) until the autopilot first engages a route')
    add('--step-s', type=float, default=0.05, help='integration step, sim seconds')
    add('--clock-rate', '--speedup', dest='clock_rate', type=_clock_rate, default=1.0,
        help='sim seconds per wall second, %g..%g (the boat sails, and its sentences come, '
             'that much faster; run the ROS side on a /clock of the same rate)'
             % CLOCK_RATE_RANGE)
    add('--rate', type=_rate, action='append', default=[], metavar='SENTENCE=HZ',
        help=f'sentence rate in sim Hz (defaults {DEFAULT_RATES_HZ})')
    add('--variation-deg', type=float, default=2.0, help='magnetic variation, east +')
    add('--xte-gain', type=float, default=300.0, help='degrees per nm of cross-track error')
    add('--seed', type=int, default=0, help='seed of the fault generator')
    add('--corrupt', type=float, default=0.0, help='fraction of sentences mangled, 0..1')
    add('--noise', type=float, default=0.0, help='chance of a foreign line per sentence')
    add('--link-drop', action='store_true', help='start with the link cut')
    add('--no-fix', action='store_true', help='start without a GNSS fix')
    return parser


def _endpoints(args, on_event) -> list:
    endpoints = []
    if args.udp_port is not None:
        if args.udp_peer is None:
            raise ValueError('--udp-port needs --udp-peer HOST:PORT to send to')
        endpoints.append(UdpEndpoint(args.udp_port, args.udp_peer, on_event))
    if args.connect is not None:
        endpoints.append(TcpClientEndpoint(args.connect, on_event))
    if args.pty is not None:
        endpoints.append(PtyEndpoint(args.pty, on_event))
    if args.tcp_port is not None or not endpoints:
        endpoints.insert(0, TcpServerEndpoint(20220 if args.tcp_port is None else args.tcp_port,
                                              on_event))
    return endpoints


def _without_ros_arguments(argv: typing.Sequence[str]) -> typing.List[str]:
    # It is no ROS node, but launch_ros, the fleet runner and fleet files start it as one
    # and append --ros-args (log level, node name, params files): there is nothing to take.
    argv = list(argv)
    return argv[:argv.index('--ros-args')] if '--ros-args' in argv else argv


def main(argv: typing.Optional[typing.Sequence[str]] = None) -> int:
    """Run the simulated autopilot until SIGINT or SIGTERM."""
    args = _parser().parse_args(_without_ros_arguments(sys.argv[1:] if argv is None else argv))
    events = EventLog(args.events)
    try:
        faults = LinkFaults()
        faults.update({'corrupt': args.corrupt, 'noise': args.noise,
                       'link_drop': args.link_drop, 'no_fix': args.no_fix})
        rates = dict(DEFAULT_RATES_HZ, **dict(args.rate))
        boat = Boat(x_m=args.x_m, y_m=args.y_m, heading_deg=args.heading_deg,
                    throttle_mps=args.speed_mps)
        autopilot = Autopilot(events, xte_gain=args.xte_gain)
        autopilot.hold(args.heading_deg)
        talker = Talker(home=GeoPoint(args.home_lat, args.home_lon), rates_hz=rates,
                        utc_start=datetime.datetime.now(datetime.timezone.utc),
                        variation_deg=args.variation_deg)
        simulation = Simulation(boat=boat, autopilot=autopilot, talker=talker, faults=faults,
                                corrupter=Corrupter(args.seed), events=events,
                                step_s=args.step_s,
                                moored_throttle_mps=args.speed_mps if args.moored else None)

        def on_event(name: str, **fields) -> None:
            events.record(name, simulation.time_s, **fields)

        server = Server(simulation, _endpoints(args, on_event),
                        clock=ScaledClock(args.clock_rate), control_port=args.control_port)
    except (ValueError, OSError) as error:
        print(f'sim_nmea_autopilot: {error}', file=sys.stderr)
        events.close()
        return 2
    ports = {'control_port': server.control_port}
    for endpoint in server.endpoints:
        if isinstance(endpoint, TcpServerEndpoint):
            ports['tcp_port'] = endpoint.port
        elif isinstance(endpoint, UdpEndpoint):
            ports['udp_port'] = endpoint.port
    if args.ready_file:
        partial = f'{args.ready_file}.partial'
        with open(partial, 'w', encoding='utf-8') as ready:
            json.dump(ports, ready)
        os.replace(partial, args.ready_file)
    events.record('started', 0.0, **ports)
    print(f'sim_nmea_autopilot: ready {json.dumps(ports)}', flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop())
    try:
        server.run()
    finally:
        events.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
