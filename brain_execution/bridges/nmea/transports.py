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
Byte transports to an autopilot: UDP, TCP client, TCP server and serial.

All four have one shape, used by a single I/O thread (:mod:`.channel`): :meth:`connect` once
(and again after a failure), :meth:`receive` waits up to a timeout for bytes (waking early
when the wake socket becomes readable), :meth:`send` never blocks for long. A lost peer
raises :class:`ConnectionError`, after which the channel closes and reopens the transport.
"""

import abc
import select
import socket
import typing

import serial

from .settings import NmeaSettings

__all__ = ['SerialTransport', 'TcpClientTransport', 'TcpServerTransport', 'Transport',
           'UdpTransport', 'make_transport']

_CONNECT_TIMEOUT_S = 2.0
_RECEIVE_BYTES = 4096
# A serial write waits at most this long for the line; NMEA sentences are small and a
# route sentence not sent in time is superseded by the next one anyway.
_SERIAL_WRITE_TIMEOUT_S = 0.2


class Transport(abc.ABC):
    """A byte stream to the autopilot; used from one thread only."""

    def __init__(self, description: str):
        self.description = description

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """Return whether bytes can flow to and from a peer now."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the transport (connect, bind); raise OSError when it cannot be done now."""

    @abc.abstractmethod
    def _readable(self) -> typing.List[typing.Any]:
        """Return the objects to wait on for reading."""

    @abc.abstractmethod
    def _read(self, ready: typing.Sequence[typing.Any]) -> bytes:
        """Read what the ready objects hold; raise ConnectionError when the peer is gone."""

    @abc.abstractmethod
    def send(self, data: bytes) -> int:
        """Send without blocking for long; return the bytes taken (0 = try again later)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection; the transport may be opened again."""

    def shutdown(self) -> None:
        """Close everything the transport holds, for good."""
        self.close()

    def receive(self, timeout_s: float, wake: socket.socket) -> bytes:
        """Wait up to timeout_s for bytes (or until ``wake`` is readable); return them."""
        waiting = self._readable() + [wake]
        ready, _, _ = select.select(waiting, [], [], timeout_s)
        if wake in ready:
            try:
                wake.recv(_RECEIVE_BYTES)
            except BlockingIOError:
                pass
            ready.remove(wake)
        return self._read(ready) if ready else b''


def _send_socket(sock: typing.Optional[socket.socket], data: bytes) -> int:
    if sock is None:
        return len(data)  # nobody to send to: the data is dropped, as on an unplugged wire
    try:
        return sock.send(data)
    except BlockingIOError:
        return 0
    except OSError as error:
        raise ConnectionError(f'send failed: {error}') from error


class _SocketTransport(Transport):
    """A transport over one socket, connected while it is open."""

    def __init__(self, description: str, address: typing.Tuple[str, int]):
        super().__init__(description)
        self._address = address
        self._sock: typing.Optional[socket.socket] = None

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def _readable(self):
        return [self._sock]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class TcpClientTransport(_SocketTransport):
    """Connect to the autopilot's TCP port (pypilot listens on 20220)."""

    def __init__(self, host: str, port: int):
        super().__init__(f'tcp_client {host}:{port}', (host, port))

    def connect(self) -> None:
        sock = socket.create_connection(self._address, timeout=_CONNECT_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self._sock = sock

    def _read(self, ready) -> bytes:
        try:
            data = self._sock.recv(_RECEIVE_BYTES)
        except BlockingIOError:
            return b''
        except OSError as error:
            raise ConnectionError(f'connection to {self._address[0]}:{self._address[1]} '
                                  f'lost: {error}') from error
        if not data:
            raise ConnectionError(f'{self._address[0]}:{self._address[1]} closed the '
                                  'connection')
        return data

    def send(self, data: bytes) -> int:
        return _send_socket(self._sock, data)


class TcpServerTransport(Transport):
    """Listen for the autopilot (or a multiplexer) to connect; the newest peer is used."""

    def __init__(self, port: int):
        super().__init__(f'tcp_server on port {port}')
        self._port = port
        self._listener: typing.Optional[socket.socket] = None
        self._peer: typing.Optional[socket.socket] = None

    @property
    def connected(self) -> bool:
        return self._peer is not None

    def connect(self) -> None:
        if self._listener is None:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(('', self._port))
                listener.listen(1)
            except OSError:
                listener.close()
                raise
            listener.setblocking(False)
            self._listener = listener

    def _readable(self):
        return [s for s in (self._listener, self._peer) if s is not None]

    def _read(self, ready) -> bytes:
        if self._listener in ready:
            try:
                peer, _ = self._listener.accept()
            except BlockingIOError:
                pass
            else:
                # A reconnecting autopilot replaces its dead connection.
                if self._peer is not None:
                    self._peer.close()
                peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                peer.setblocking(False)
                self._peer = peer
        if self._peer is None or self._peer not in ready:
            return b''
        try:
            data = self._peer.recv(_RECEIVE_BYTES)
        except BlockingIOError:
            return b''
        except OSError as error:
            self._drop_peer()
            raise ConnectionError(f'autopilot connection lost: {error}') from error
        if not data:
            self._drop_peer()
            raise ConnectionError('the autopilot closed its connection')
        return data

    def _drop_peer(self) -> None:
        if self._peer is not None:
            self._peer.close()
            self._peer = None

    def send(self, data: bytes) -> int:
        try:
            return _send_socket(self._peer, data)
        except ConnectionError:
            self._drop_peer()
            raise

    def close(self) -> None:
        # The listener stays open: a lost peer only waits for the next one.
        self._drop_peer()

    def shutdown(self) -> None:
        """Close the peer's connection and the listener."""
        self._drop_peer()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


class UdpTransport(_SocketTransport):
    """Send datagrams to host:port and receive them on listen_port; no connection state."""

    def __init__(self, host: str, port: int, listen_port: int):
        super().__init__(f'udp to {host}:{port}, listening on port {listen_port}',
                         (host, port))
        self._listen_port = listen_port

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('', self._listen_port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock

    def _read(self, ready) -> bytes:
        try:
            data, _ = self._sock.recvfrom(65535)
        except (BlockingIOError, ConnectionRefusedError):
            # Refused: an ICMP answer to an earlier datagram, the peer is not up yet.
            return b''
        return data

    def send(self, data: bytes) -> int:
        try:
            self._sock.sendto(data, self._address)
        except (BlockingIOError, ConnectionRefusedError):
            pass  # datagrams may be lost; the next sentences follow within a second
        return len(data)


class SerialTransport(Transport):
    """A serial line (RS-422 through a USB adapter, usually) at an NMEA 0183 speed."""

    def __init__(self, device: str, baud: int):
        super().__init__(f'serial {device} at {baud} baud')
        self._device = device
        self._baud = baud
        self._port: typing.Optional[serial.Serial] = None

    @property
    def connected(self) -> bool:
        return self._port is not None

    def connect(self) -> None:
        try:
            self._port = serial.Serial(self._device, self._baud, timeout=0,
                                       write_timeout=_SERIAL_WRITE_TIMEOUT_S)
        except (serial.SerialException, ValueError) as error:
            raise OSError(f'cannot open {self._device}: {error}') from error

    def _readable(self):
        return [self._port.fileno()]

    def _read(self, ready) -> bytes:
        try:
            data = self._port.read(_RECEIVE_BYTES)
        except (serial.SerialException, OSError) as error:
            raise ConnectionError(f'{self._device}: {error}') from error
        if not data:
            # select said readable and nothing came: the other end hung up (a pty, a USB
            # adapter unplugged).
            raise ConnectionError(f'{self._device} hung up')
        return data

    def send(self, data: bytes) -> int:
        try:
            return self._port.write(data) or 0
        except serial.SerialTimeoutException:
            return len(data)  # dropped: superseded by the next sentences
        except (serial.SerialException, OSError) as error:
            raise ConnectionError(f'{self._device}: {error}') from error

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None


def make_transport(settings: NmeaSettings) -> Transport:
    """Return the transport the settings name."""
    if settings.transport == 'tcp_client':
        return TcpClientTransport(settings.host, settings.port)
    if settings.transport == 'tcp_server':
        return TcpServerTransport(settings.listen_port)
    if settings.transport == 'udp':
        return UdpTransport(settings.host, settings.port, settings.listen_port)
    return SerialTransport(settings.device, settings.baud)
