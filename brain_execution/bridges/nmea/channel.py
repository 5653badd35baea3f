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
The I/O thread of the NMEA bridge: one thread per transport, never an executor thread.

It opens the transport (again, with back-off, after a failure), waits for bytes and hands
them to a callback, and writes what :meth:`Channel.send` queued. ``send`` only appends to
a bounded outbox and wakes the thread, so a command issued from the executor returns at
once whatever the link does; an urgent send (a dropped route, an emergency stop) replaces
what is queued, so it never waits behind stale route sentences.
"""

import collections
import socket
import threading
import typing

from .transports import Transport

__all__ = ['Channel']

_RECEIVE_WAIT_S = 0.1
_BACKOFF_MIN_S = 0.2
_BACKOFF_MAX_S = 2.0
# Route sentences are superseded every second; more than this queued means the peer does
# not read, and the oldest are dropped.
_OUTBOX_MAX_BYTES = 16384


class Channel:
    """
    Move bytes between a transport and the bridge on a thread of its own.

    :param transport: the link to the autopilot.
    :param on_data: called with every chunk of bytes received, on the I/O thread.
    :param on_connection: called with (connected, reason) when the peer comes or goes.
    :param name: the thread's name.
    """

    def __init__(self, transport: Transport, *, on_data: typing.Callable[[bytes], None],
                 on_connection: typing.Callable[[bool, str], None], name: str = 'nmea-io'):
        self.transport = transport
        self._on_data = on_data
        self._on_connection = on_connection
        self._lock = threading.Lock()
        self._outbox: typing.Deque[bytes] = collections.deque()
        self._queued = 0
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        #: Bytes written to the transport so far.
        self.bytes_sent = 0
        #: Bytes dropped because the outbox overflowed or the peer was absent.
        self.bytes_dropped = 0

    def start(self) -> None:
        """Start the I/O thread."""
        self._thread.start()

    def send(self, data: bytes, *, urgent: bool = False) -> None:
        """Queue bytes for the transport; ``urgent`` drops whatever is still queued first."""
        with self._lock:
            if urgent:
                self._discard_locked()
            self._outbox.append(data)
            self._queued += len(data)
            while self._queued > _OUTBOX_MAX_BYTES and len(self._outbox) > 1:
                old = self._outbox.popleft()
                self._queued -= len(old)
                self.bytes_dropped += len(old)
            self._idle.clear()
        self._wake()

    def _discard_locked(self) -> None:
        self.bytes_dropped += self._queued
        self._outbox.clear()
        self._queued = 0
        self._idle.set()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b'\0')
        except (BlockingIOError, OSError):
            pass  # already woken, or closed

    def stop(self, flush_timeout_s: float = 0.5) -> None:
        """Write what is queued (waiting up to flush_timeout_s), then stop and close."""
        if self._thread.is_alive():
            self._idle.wait(flush_timeout_s)
        self._stop.set()
        self._wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0 + flush_timeout_s)
        self.transport.shutdown()
        self._wake_r.close()
        self._wake_w.close()

    def _run(self) -> None:
        backoff = _BACKOFF_MIN_S
        while not self._stop.is_set():
            if not self.transport.connected:
                try:
                    self.transport.connect()
                except OSError as error:
                    self._on_connection(False, f'cannot open: {error}')
                    self._stop.wait(backoff)
                    backoff = min(2.0 * backoff, _BACKOFF_MAX_S)
                    continue
                backoff = _BACKOFF_MIN_S
            was_connected = self.transport.connected
            self._on_connection(was_connected, '' if was_connected else
                                'waiting for the autopilot to connect')
            try:
                self._serve(was_connected)
            except ConnectionError as error:
                self.transport.close()
                with self._lock:
                    self._discard_locked()
                self._on_connection(False, str(error))
                self._stop.wait(_BACKOFF_MIN_S)

    def _serve(self, connected: bool) -> None:
        """Read and write until the peer is lost, the state changes or the channel stops."""
        while not self._stop.is_set():
            data = self.transport.receive(_RECEIVE_WAIT_S, self._wake_r)
            if data:
                self._on_data(data)
            if self.transport.connected != connected:
                return  # a TCP server's peer arrived: report it
            if connected:
                self._flush()
            else:
                with self._lock:
                    self._discard_locked()

    def _flush(self) -> None:
        while True:
            with self._lock:
                if not self._outbox:
                    self._idle.set()
                    return
                data = self._outbox[0]
            taken = self.transport.send(data)
            with self._lock:
                if not self._outbox or self._outbox[0] is not data:
                    continue  # an urgent send replaced the queue meanwhile
                if taken >= len(data):
                    self._outbox.popleft()
                else:
                    self._outbox[0] = data[taken:]
                self._queued -= taken
                self.bytes_sent += taken
            if taken < len(data):
                return  # the peer is not reading: try again after the next wait
