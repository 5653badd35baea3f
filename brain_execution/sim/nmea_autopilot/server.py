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
The simulator process's loop: its clock, its NMEA endpoints and its control socket.

One thread, one ``select``: sim time advances in whole steps as the clock allows, the
sentences due go to every endpoint, received bytes reach the autopilot.

The control socket (TCP on 127.0.0.1) takes one JSON object per line and answers one:

* ``{"cmd": "state"}``: the boat, autopilot and link counters (see ``Simulation.state``);
* ``{"cmd": "faults", "corrupt": 0.3, "link_drop": true, ...}``: switch faults;
* ``{"cmd": "disconnect"}``: close every TCP peer's connection (they may reconnect);
* ``{"cmd": "events", "since": 0}``: the events numbered ``since`` and later;
* ``{"cmd": "place", "x_m": 0, "y_m": 0, "heading_deg": 90}``: reposition the boat, stopped;
* ``{"cmd": "throttle", "speed_mps": 2.5}``: the skipper's throttle.

Answers are ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.
"""

import json
import select
import socket
import time
import typing

from .endpoints import Endpoint, listen_tcp
from .simulation import Simulation

__all__ = ['ScaledClock', 'Server']

_MAX_CONTROL_LINE = 65536


class ScaledClock:
    """Sim time from the monotonic clock: ``speedup`` sim seconds per wall second."""

    def __init__(self, speedup: float = 1.0):
        if not speedup > 0.0:
            raise ValueError(f'speedup must be > 0, got {speedup!r}')
        self.speedup = speedup
        self._start = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.speedup

    def wall_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speedup


class Server:
    """
    Serve a simulation on its endpoints until :meth:`stop`.

    :param clock: gives sim time (``now()``) and converts a sim duration to wall seconds
        (``wall_seconds()``); a :class:`ScaledClock` by default.
    :param control_port: port of the control socket; 0 = any free one.
    """

    def __init__(self, simulation: Simulation, endpoints: typing.Sequence[Endpoint], *,
                 clock: typing.Optional[ScaledClock] = None, control_port: int = 0):
        self.simulation = simulation
        self.endpoints = list(endpoints)
        self.clock = clock or ScaledClock()
        self._control = listen_tcp('127.0.0.1', control_port)
        self._clients: typing.Dict[socket.socket, bytearray] = {}
        self._running = True

    @property
    def control_port(self) -> int:
        return self._control.getsockname()[1]

    def stop(self) -> None:
        """Make :meth:`run` return after its current wait (callable from a signal handler)."""
        self._running = False

    def run(self) -> None:
        """Advance, send and receive until stopped; then close everything."""
        try:
            while self._running:
                out = self.simulation.advance_to(self.clock.now())
                for endpoint in self.endpoints:
                    endpoint.poll()
                    if out:
                        endpoint.send(out)
                self._wait()
        finally:
            for endpoint in self.endpoints:
                endpoint.close()
            for client in list(self._clients):
                client.close()
            self._control.close()

    def _wait(self) -> None:
        owners = {}
        for endpoint in self.endpoints:
            for readable in endpoint.readables():
                owners[readable] = endpoint
        waiting = list(owners) + [self._control] + list(self._clients)
        timeout = max(0.0, self.clock.wall_seconds(self.simulation.next_step_s -
                                                   self.clock.now()))
        ready, _, _ = select.select(waiting, [], [], timeout)
        for readable in ready:
            if readable in owners:
                data = owners[readable].on_readable(readable)
                if data:
                    self.simulation.receive(data)
            elif readable is self._control:
                client, _ = self._control.accept()
                client.setblocking(False)
                self._clients[client] = bytearray()
            else:
                self._serve_client(readable)

    def _serve_client(self, client: socket.socket) -> None:
        try:
            data = client.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            del self._clients[client]
            client.close()
            return
        buffer = self._clients[client]
        buffer += data
        while b'\n' in buffer:
            line, _, rest = bytes(buffer).partition(b'\n')
            buffer[:] = rest
            answer = self._answer(line)
            client.setblocking(True)
            try:
                client.sendall((json.dumps(answer) + '\n').encode())
            except OSError:
                pass
            client.setblocking(False)
        if len(buffer) > _MAX_CONTROL_LINE:
            buffer.clear()

    def _answer(self, line: bytes) -> typing.Dict[str, typing.Any]:
        try:
            request = json.loads(line)
            command = request.pop('cmd')
            return dict(self._command(command, request), ok=True)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return {'ok': False, 'error': f'{type(error).__name__}: {error}'}

    def _command(self, command: str, args: typing.Dict[str, typing.Any]) -> dict:
        sim = self.simulation
        if command == 'state':
            return sim.state()
        if command == 'faults':
            sim.set_faults(args)
            return sim.state()['faults']
        if command == 'disconnect':
            for endpoint in self.endpoints:
                endpoint.disconnect()
            return {}
        if command == 'events':
            return {'events': sim.events.since(int(args.get('since', 0)))}
        if command == 'place':
            sim.place(x_m=float(args['x_m']), y_m=float(args['y_m']),
                      heading_deg=float(args['heading_deg']))
            return sim.state()
        if command == 'throttle':
            sim.boat.throttle_mps = float(args['speed_mps'])
            sim.events.record('throttle', sim.time_s, speed_mps=sim.boat.throttle_mps)
            return sim.state()
        raise ValueError(f'unknown cmd {command!r}; known: state, faults, disconnect, '
                         'events, place, throttle')
