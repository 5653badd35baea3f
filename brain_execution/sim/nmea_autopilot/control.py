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
The client side of ``sim_nmea_autopilot``: its ready file and its control socket.

Used by the demo and the tests; by hand, ``ControlClient(port).request('faults',
link_drop=True)`` cuts the link of a running simulator (see :mod:`.server` for the commands).
"""

import json
import os
import socket
import subprocess
import time
import typing

__all__ = ['ControlClient', 'wait_ready']


def wait_ready(path: str, process: subprocess.Popen, timeout_s: float = 20.0) -> dict:
    """
    Return the ports the simulator wrote to its ready file, waiting for it.

    :raises RuntimeError: the process ended or the file did not appear in time.
    """
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if process.poll() is not None:
            raise RuntimeError(f'sim_nmea_autopilot exited with status {process.returncode} '
                               'before it was ready')
        if time.monotonic() > deadline:
            raise RuntimeError(f'sim_nmea_autopilot not ready after {timeout_s} s')
        # Polling a file the child writes once; nothing to wait on instead.
        time.sleep(0.05)
    with open(path, encoding='utf-8') as ready:
        return json.load(ready)


class ControlClient:
    """
    Requests to a running simulator's control socket, one connection per request.

    :param port: the control port (``control_port`` of the ready file).
    """

    def __init__(self, port: int, host: str = '127.0.0.1', timeout_s: float = 5.0):
        self.address = (host, port)
        self.timeout_s = timeout_s

    def request(self, cmd: str, **arguments) -> typing.Dict[str, typing.Any]:
        """
        Send one command and return its answer.

        :raises RuntimeError: the simulator refused it (the message says why).
        :raises OSError: the simulator cannot be reached.
        """
        with socket.create_connection(self.address, timeout=self.timeout_s) as sock:
            sock.sendall((json.dumps(dict(arguments, cmd=cmd)) + '\n').encode())
            answer = b''
            while not answer.endswith(b'\n'):
                chunk = sock.recv(65536)
                if not chunk:
                    raise OSError('simulator closed the control connection')
                answer += chunk
        reply = json.loads(answer)
        if not reply.pop('ok', False):
            raise RuntimeError(f'sim_nmea_autopilot refused {cmd}: {reply.get("error")}')
        return reply
