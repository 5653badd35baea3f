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
Start brain_execution nodes as separate processes, the way ``launch_ros`` starts them.

Used by the demo and the tests on machines without ``launch`` (see ROS2_ENV.md): the command
line is what ``ros2 run`` / a launch ``Node`` action produce, so the nodes are exercised
exactly as on a robot.
"""

import os
import signal
import subprocess
import sys
import typing

from ament_index_python.packages import get_package_prefix, get_package_share_directory

__all__ = ['config_file', 'NodeProcess', 'node_command', 'program_command']


def config_file(name: str) -> str:
    """Return the installed path of a file in the package's config/ directory."""
    return os.path.join(get_package_share_directory('brain_execution'), 'config', name)


def node_command(executable: str, *, namespace: str, params_files: typing.Sequence[str] = (),
                 parameters: typing.Mapping[str, typing.Any] = None,
                 node_name: str = None, module: str = None) -> typing.List[str]:
    """
    Return the command line of a node, as ``ros2 run`` would build it.

    :param executable: console script installed in lib/brain_execution.
    :param module: run this Python module instead (tools that are not installed as scripts).
    """
    path = _installed(executable)
    if module is None and path is not None:
        command = [path]
    else:
        command = [sys.executable, '-m', module or f'brain_execution.ros.{executable}']
    command += ['--ros-args', '-r', f'__ns:={namespace}']
    if node_name:
        command += ['-r', f'__node:={node_name}']
    for params_file in params_files:
        command += ['--params-file', params_file]
    for name, value in (parameters or {}).items():
        command += ['-p', f'{name}:={_param_literal(value)}']
    return command


def program_command(executable: str, *, module: str,
                    arguments: typing.Sequence[str] = ()) -> typing.List[str]:
    """
    Return the command line of an installed console script that is not a node (a simulator).

    :param module: the Python module run with ``-m`` when the script is not installed.
    """
    path = _installed(executable)
    command = [path] if path is not None else [sys.executable, '-m', module]
    return command + list(arguments)


def _installed(executable: str) -> typing.Optional[str]:
    """Return the path of a console script installed in lib/brain_execution, or None."""
    path = os.path.join(get_package_prefix('brain_execution'), 'lib', 'brain_execution',
                        executable)
    return path if os.access(path, os.X_OK) else None


def _param_literal(value: typing.Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_param_literal(v) for v in value) + ']'
    if isinstance(value, str):
        return f'"{value}"' if not value or any(c in value for c in ' :,[]') else value
    return repr(value)


class NodeProcess:
    """
    A node running in its own process, stopped with SIGINT like ``launch`` does.

    :param command: the command line (see :func:`node_command`).
    :param log_path: file receiving the process's stdout and stderr; None = inherit.
    """

    def __init__(self, command: typing.Sequence[str], *, log_path: str = None,
                 env: typing.Mapping[str, str] = None):
        self.command = list(command)
        self._log = open(log_path, 'wb') if log_path else None
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT if self._log else None,
            env=dict(env) if env is not None else None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> int:
        """Interrupt the node, escalate to SIGKILL after timeout_s; return its exit code."""
        if self.running():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        if self._log is not None:
            self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the node at once (crash tests)."""
        if self.running():
            self.process.kill()
            self.process.wait(timeout=10.0)
        if self._log is not None:
            self._log.close()
