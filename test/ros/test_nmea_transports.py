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
The NMEA bridge's transports for real: UDP, TCP server and a serial line on a pseudo-terminal.

Each test runs the bridge itself (no executor: the test calls ``update`` as the executor's
tick does) against a ``sim_nmea_autopilot`` process on the matching endpoint, and sails one
short leg. The last test plays the recorded noisy stream to the bridge over UDP and checks
that not one byte is sent back: noise never moves the boat.
"""

import pathlib
import socket
import time

from brain_execution.bridges.nmea import NmeaBridge, NmeaSettings
from brain_execution.core.bridge import CommandHandle
from brain_execution.sim.bridge import DEFAULT_HOME
import pytest

_RECORDED = pathlib.Path(__file__).resolve().parents[1] / 'resource' / 'nmea' / \
    'recorded_noisy_stream.nmea'
_TICK_S = 0.05


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def bridges():
    """Return a function building started bridges; all are closed at teardown."""
    built = []

    def build(**settings) -> NmeaBridge:
        bridge = NmeaBridge(settings=NmeaSettings(accept_talkers=('GP', 'HC'), **settings),
                            robot_id='boat', home=DEFAULT_HOME)
        bridge.start()
        built.append(bridge)
        return bridge

    yield build
    for bridge in built:
        bridge.close()


def _tick_until(bridge: NmeaBridge, condition, timeout_s: float, what: str) -> None:
    """Tick the bridge as the executor does until condition() holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'{what} not within {timeout_s} s; link: {bridge.stats()}')
        bridge.update(time.monotonic())
        time.sleep(_TICK_S)  # the executor's tick period


def _sail_a_leg(bridge: NmeaBridge, autopilot) -> None:
    _tick_until(bridge, lambda: bridge.snapshot().link_up, 15.0, 'link up')
    since = autopilot.next_event()
    start = bridge.snapshot()
    # North-east of a boat heading east: the autopilot has to turn for it.
    x, y = start.x_m + 15.0, start.y_m + 10.0
    handle: CommandHandle = bridge.go_to(x_m=x, y_m=y, z_m=0.0, speed_mps=3.0)
    assert handle.done() and handle.error is None
    _tick_until(bridge, lambda: handle.finished, 30.0, 'the leg')
    assert bridge.snapshot().distance_to(x, y) < 2.0
    events = [e['event'] for e in autopilot.events(since)]
    assert 'nav_engaged' in events and 'steer' in events


def test_udp(module_nmea_autopilots, bridges):
    listen = _free_port(socket.SOCK_DGRAM)
    autopilot = module_nmea_autopilots('udp', [
        '--udp-port', '0', '--udp-peer', f'127.0.0.1:{listen}', '--speed-mps', '3',
        '--heading-deg', '90'])
    bridge = bridges(transport='udp', port=autopilot.ports['udp_port'], listen_port=listen)
    _sail_a_leg(bridge, autopilot)


def test_tcp_server(module_nmea_autopilots, bridges):
    listen = _free_port(socket.SOCK_STREAM)
    bridge = bridges(transport='tcp_server', listen_port=listen)
    problem = bridge.stats()[1]
    autopilot = module_nmea_autopilots('tcp_server', [
        '--connect', f'127.0.0.1:{listen}', '--speed-mps', '3', '--heading-deg', '90'])
    assert 'not connected yet' in problem or 'waiting for the autopilot' in problem
    _sail_a_leg(bridge, autopilot)


def test_serial_line_on_a_pseudo_terminal(module_nmea_autopilots, bridges, tmp_path):
    link = tmp_path / 'ttyNMEA'
    autopilot = module_nmea_autopilots('serial', [
        '--pty', str(link), '--speed-mps', '3', '--heading-deg', '90'])
    bridge = bridges(transport='serial', device=str(link), baud=38400)
    _sail_a_leg(bridge, autopilot)


def test_a_recorded_noisy_stream_moves_nothing(bridges):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as autopilot:
        autopilot.bind(('127.0.0.1', 0))
        autopilot.settimeout(0.0)
        listen = _free_port(socket.SOCK_DGRAM)
        bridge = bridges(transport='udp', port=autopilot.getsockname()[1], listen_port=listen)
        data = _RECORDED.read_bytes()
        # Bound (its I/O thread opens the socket), so that no datagram is lost.
        _tick_until(bridge, lambda: 'no NMEA data received yet' in bridge.stats()[1], 5.0,
                    'the bridge listening')
        for start in range(0, len(data), 300):
            autopilot.sendto(data[start:start + 300], ('127.0.0.1', listen))
            bridge.update(time.monotonic())
        _tick_until(bridge, lambda: bridge.stats()[2].get('bad', 0) >= 60, 10.0,
                    'every bad sentence counted')
        counts = bridge.stats()[2]
        assert counts['valid'] == 131 and counts['foreign_talker'] == 9, counts
        for _ in range(20):
            bridge.update(time.monotonic())
            time.sleep(_TICK_S)
        # Not one byte back to the autopilot: no route, no drop, nothing.
        assert counts['bytes_sent'] == bridge.stats()[2]['bytes_sent'] == 0
        with pytest.raises(BlockingIOError):
            autopilot.recv(4096)
        assert bridge.snapshot().mode == 'STANDBY'
