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

"""A node started with parameters it must refuse: exit status 2 and one line saying why."""

import subprocess
import typing

from brain_execution.ros.processes import node_command

from .conftest import _env

__all__ = ['refusal']


def refusal(executable: str, parameters: typing.Mapping[str, typing.Any], *, namespace: str,
            timeout_s: float = 60.0) -> str:
    """
    Run a node's console script with parameters; return the one line it refused them with.

    Fails the test unless the node exits with status 2, prints no traceback and exactly one
    line besides its log lines (those start with ``[``).
    """
    command = node_command(executable, namespace=namespace, parameters=parameters)
    done = subprocess.run(command, env=_env(), capture_output=True, timeout=timeout_s)
    stderr = done.stderr.decode(errors='replace')
    errors = [line for line in stderr.splitlines() if line.strip() and not line.startswith('[')]
    assert done.returncode == 2, stderr
    assert len(errors) == 1 and 'Traceback' not in stderr, errors
    return errors[0]
