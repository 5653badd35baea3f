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
Where the simulated autopilot talks NMEA: the peers of each of the bridge's transports.

* :class:`TcpServerEndpoint` for the bridge's ``tcp_client`` (pypilot listens on 20220);
* :class:`UdpEndpoint` for its ``udp``;
* :class:`TcpClientEndpoint` for its ``tcp_server``;
* :class:`PtyEndpoint` for its ``serial``: a pseudo-terminal whose slave side is linked at
  a path, as ``socat pty,link=...`` does, for pyserial to open.

All are non-blocking and served from the simulator's one select loop: :meth:`readables`
are waited on, :meth:`on_readable` returns the bytes received, :meth:`send` writes to every
peer and drops what a peer cannot take now (a serial line does not wait either).
"""

import errno
import os
import socket
import time
import tty
import typing

__all__ = ['Endpoint', 'PtyEndpoint', 'TcpClientEndpoint', 'TcpServerEndpoint',
           'UdpEndpoint', 'listen_tcp']

_RECEIVE_BYTES = 4096
_RECONNECT_S = 0.5


class Endpoint:
    """A place the autopilot talks; ``on_event(name, **fields)`` hears peers come and go."""

    def __init__(self, on_event: typing.Callable[..., None]):
        self._on_event = on_event

    def readables(self) -> typing.List[typing.Any]:
        return []

    def on_readable(self, ready: typing.Any) -> bytes:
        return b''

    def send(self, data: bytes) -> None:
        """Write to every peer, dropping what one cannot take now."""

    def poll(self) -> None:
        """Do periodic work (reconnect)."""

    def disconnect(self) -> None:
        """Close the peers' connections (they may come back)."""

    def close(self) -> None:
        self.disconnect()

    @property
    def port(self) -> typing.Optional[int]:
        return None


def listen_tcp(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(4)
    listener.setblocking(False)
    return listener


class TcpServerEndpoint(Endpoint):
    """Accept any number of TCP peers; each gets every sentence."""

    def __init__(self, port: int, on_event, host: str = '127.0.0.1'):
        super().__init__(on_event)
        self._listener = listen_tcp(host, port)
        self._peers: typing.List[socket.socket] = []

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def readables(self):
        return [self._listener] + self._peers

    def on_readable(self, ready) -> bytes:
        if ready is self._listener:
            try:
                peer, address = self._listener.accept()
            except BlockingIOError:
                return b''
            peer.setblocking(False)
            peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._peers.append(peer)
            self._on_event('peer_connected', transport='tcp', peer=f'{address[0]}:{address[1]}')
            return b''
        try:
            data = ready.recv(_RECEIVE_BYTES)
        except BlockingIOError:
            return b''
        except OSError:
            data = b''
        if not data:
            self._drop(ready, 'closed by the peer')
        return data

    def _drop(self, peer: socket.socket, reason: str) -> None:
        if peer in self._peers:
            self._peers.remove(peer)
            peer.close()
            self._on_event('peer_disconnected', transport='tcp', reason=reason)

    def send(self, data: bytes) -> None:
        for peer in list(self._peers):
            try:
                peer.send(data)
            except BlockingIOError:
                pass
            except OSError as error:
                self._drop(peer, str(error))

    def disconnect(self) -> None:
        for peer in list(self._peers):
            self._drop(peer, 'disconnected by the simulator')

    def close(self) -> None:
        self.disconnect()
        self._listener.close()


class UdpEndpoint(Endpoint):
    """Receive datagrams on a port; send to one peer address."""

    def __init__(self, port: int, peer: typing.Tuple[str, int], on_event,
                 host: str = '127.0.0.1'):
        super().__init__(on_event)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.setblocking(False)
        self._peer = peer

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def readables(self):
        return [self._sock]

    def on_readable(self, ready) -> bytes:
        try:
            data, _ = self._sock.recvfrom(65535)
        except (BlockingIOError, ConnectionRefusedError):
            return b''
        return data

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendto(data, self._peer)
        except (BlockingIOError, ConnectionRefusedError):
            pass

    def close(self) -> None:
        self._sock.close()


class TcpClientEndpoint(Endpoint):
    """Connect to the bridge's TCP server, again every half second while it is absent."""

    def __init__(self, address: typing.Tuple[str, int], on_event):
        super().__init__(on_event)
        self._address = address
        self._sock: typing.Optional[socket.socket] = None
        self._next_try = 0.0

    def poll(self) -> None:
        if self._sock is not None or time.monotonic() < self._next_try:
            return
        self._next_try = time.monotonic() + _RECONNECT_S
        try:
            sock = socket.create_connection(self._address, timeout=0.2)
        except OSError:
            return
        sock.setblocking(False)
        self._sock = sock
        self._on_event('peer_connected', transport='tcp_client',
                       peer=f'{self._address[0]}:{self._address[1]}')

    def readables(self):
        return [self._sock] if self._sock is not None else []

    def on_readable(self, ready) -> bytes:
        try:
            data = self._sock.recv(_RECEIVE_BYTES)
        except BlockingIOError:
            return b''
        except OSError:
            data = b''
        if not data:
            self.disconnect('closed by the peer')
        return data

    def send(self, data: bytes) -> None:
        if self._sock is None:
            return
        try:
            self._sock.send(data)
        except BlockingIOError:
            pass
        except OSError as error:
            self.disconnect(str(error))

    def disconnect(self, reason: str = 'disconnected by the simulator') -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._on_event('peer_disconnected', transport='tcp_client', reason=reason)


class PtyEndpoint(Endpoint):
    """A pseudo-terminal; its slave side is symlinked at ``link`` for a serial client."""

    def __init__(self, link: str, on_event):
        super().__init__(on_event)
        self._master, self._slave = os.openpty()
        # Raw, so the line discipline neither echoes nor edits what passes through.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.link = link
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.ttyname(self._slave), link)

    def readables(self):
        return [self._master]

    def on_readable(self, ready) -> bytes:
        try:
            return os.read(self._master, _RECEIVE_BYTES)
        except BlockingIOError:
            return b''
        except OSError as error:
            if error.errno == errno.EIO:
                return b''  # no slave open at the moment
            raise

    def send(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except (BlockingIOError, OSError):
            pass  # nobody reads the line now: the bytes are lost, as on a real wire

    def close(self) -> None:
        os.close(self._master)
        os.close(self._slave)
        if os.path.islink(self.link):
            os.unlink(self.link)
