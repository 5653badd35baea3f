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
``fleet_runner``: start a fleet file's nodes without ``launch``, as ``launch_ros`` would.

    fleet_runner config/fleets/demo.yaml                # robots + coordinator
    fleet_runner config/fleets/demo.yaml --sim --rviz   # + simulators + RViz

The nodes come from :mod:`brain_execution.deploy.nodes`, the description code the launch
files use; each becomes the command line ``launch_ros.actions.Node`` builds (parameter
mappings written to a parameters file keyed by the node's full name). SIGINT or SIGTERM
stops every node with SIGINT, in reverse start order. A node started with ``--respawn``
is started again when it exits. Exit status: 0 after a clean stop, 1 when a node could not
be started or exited on its own (without respawn), 2 for an invalid fleet file or argument.
"""

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import typing

from ament_index_python.packages import get_package_prefix, PackageNotFoundError
import yaml

from .nodes import describe_fleet, describe_simulation, LOG_LEVELS, NodeDescription
from ..core.fleet_file import load_fleet
from ..ros.processes import NodeProcess

__all__ = ['FleetRunner', 'command_line', 'describe', 'main', 'parse_arguments']

_POLL_S = 0.2


def _executable(description: NodeDescription) -> str:
    try:
        prefix = get_package_prefix(description.package)
    except PackageNotFoundError:
        raise ValueError(f'{description.label}: package {description.package!r} is not '
                         'installed') from None
    path = os.path.join(prefix, 'lib', description.package, description.executable)
    if not os.access(path, os.X_OK):
        raise ValueError(f'{description.label}: no executable {description.executable!r} in '
                         f'{os.path.dirname(path)}')
    return path


def command_line(description: NodeDescription, params_dir: str) -> typing.List[str]:
    """
    Return a node's command line as ``launch_ros.actions.Node`` builds it.

    Parameter mappings are written to files in params_dir, keyed by the node's full name as
    launch_ros does when name and namespace are given.

    :raises ValueError: the package or the executable is not installed.
    """
    command = [_executable(description), *description.arguments]
    if description.ros_arguments:
        command += ['--ros-args', *description.ros_arguments]
    command += ['--ros-args', '-r', f'__node:={description.name}']
    if description.namespace not in ('', '/'):
        command += ['-r', f'__ns:={description.namespace}']
    for index, parameters in enumerate(description.parameters):
        if isinstance(parameters, str):
            path = parameters
        else:
            path = os.path.join(params_dir, description.label.strip('/').replace('/', '__') +
                                f'.{index}.yaml')
            with open(path, 'w', encoding='utf-8') as stream:
                yaml.safe_dump({description.label: {'ros__parameters': dict(parameters)}},
                               stream, default_flow_style=False)
        command += ['--params-file', path]
    return command


class _Managed:
    """One described node and its current process."""

    def __init__(self, description: NodeDescription, command: typing.List[str],
                 log_path: str):
        self.description = description
        self.command = command
        self.log_path = log_path
        self.process: typing.Optional[NodeProcess] = None
        self.restart_at: typing.Optional[float] = None
        self.starts = 0


class FleetRunner:
    """
    Start described nodes as processes, keep the respawned ones alive, stop them all.

    :param descriptions: the nodes, in start order.
    :param work_dir: where parameters files and one log per node go.
    :param env: environment of the processes; None = this one's.
    """

    def __init__(self, descriptions: typing.Sequence[NodeDescription], *, work_dir: str,
                 env: typing.Mapping[str, str] = None):
        self.work_dir = work_dir
        self._env = env
        os.makedirs(work_dir, exist_ok=True)
        self._nodes = [
            _Managed(d, command_line(d, work_dir),
                     os.path.join(work_dir, d.label.strip('/').replace('/', '__') + '.log'))
            for d in descriptions]
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def nodes(self) -> typing.List[typing.Tuple[NodeDescription, typing.List[str]]]:
        """Return each node's description and command line."""
        return [(n.description, n.command) for n in self._nodes]

    def start(self, printer: typing.Callable[[str], None] = lambda line: None) -> None:
        """Start every node, in order."""
        for node in self._nodes:
            self._start(node)
            printer(f'started {node.description.label} (pid {node.process.pid}, log '
                    f'{node.log_path})')

    def _start(self, node: _Managed) -> None:
        node.process = NodeProcess(node.command, log_path=node.log_path, env=self._env)
        node.starts += 1
        node.restart_at = None

    def poll(self, printer: typing.Callable[[str], None] = lambda line: None
             ) -> typing.List[NodeDescription]:
        """
        Respawn what is due; return the nodes that exited and will not be started again.

        Called periodically by :meth:`run`; a test may call it itself.
        """
        ended = []
        now = time.monotonic()
        with self._lock:
            if self._stopping:
                return ended
            for node in self._nodes:
                if node.process is None or node.process.running():
                    continue
                if not node.description.respawn:
                    if node.restart_at is None:
                        node.restart_at = float('inf')
                        ended.append(node.description)
                        printer(f'{node.description.label} exited with status '
                                f'{node.process.process.returncode}')
                    continue
                if node.restart_at is None:
                    node.restart_at = now + node.description.respawn_delay_s
                    printer(f'{node.description.label} exited with status '
                            f'{node.process.process.returncode}; respawning in '
                            f'{node.description.respawn_delay_s:.1f} s')
                elif now >= node.restart_at:
                    node.process.stop()
                    self._start(node)
                    printer(f'respawned {node.description.label} (pid {node.process.pid})')
        return ended

    def pids(self) -> typing.Dict[str, int]:
        """Return the current pid of every node, by label."""
        return {n.description.label: n.process.pid for n in self._nodes if n.process}

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every node with SIGINT (SIGKILL after timeout_s), in reverse start order."""
        with self._lock:
            self._stopping = True
        for node in reversed(self._nodes):
            if node.process is not None:
                node.process.stop(timeout_s)

    def run(self, stop: threading.Event,
            printer: typing.Callable[[str], None] = lambda line: None) -> int:
        """Start the nodes, supervise them until stop is set; return the exit status."""
        status = 0
        try:
            self.start(printer)
            while not stop.wait(_POLL_S):
                if self.poll(printer):
                    status = 1
        finally:
            self.stop()
        return status


def parse_arguments(argv: typing.Sequence[str]) -> argparse.Namespace:
    """Return fleet_runner's parsed command line (exits with status 2 on a bad one)."""
    parser = argparse.ArgumentParser(
        prog='fleet_runner', description=__doc__.strip().splitlines()[0],
        epilog='The same nodes as: ros2 launch brain_execution fleet.launch.py fleet:=FILE '
               '(or sim.launch.py with --sim).')
    parser.add_argument('fleet', help='fleet file (config/fleets/*.yaml)')
    parser.add_argument('--sim', action='store_true',
                        help="also start the fleet file's simulators (sim.launch.py)")
    parser.add_argument('--rviz', action='store_true', help='also start RViz (needs --sim)')
    parser.add_argument('--use-sim-time', action='store_true', help='nodes follow /clock')
    parser.add_argument('--log-level', choices=LOG_LEVELS, default='info')
    parser.add_argument('--respawn', action='store_true',
                        help='start a robot executor again when it exits')
    parser.add_argument('--journal-path', default='',
                        help="coordinator journal; default: the fleet file's, else "
                             '$XDG_STATE_HOME/brain_execution/<fleet>/journal.db')
    parser.add_argument('--fleet-sim', action='store_true',
                        help='host every robot in one fleet_sim process (fleet_sim:=true)')
    parser.add_argument('--work-dir', default='',
                        help='parameters files and node logs (default: a new temporary '
                             'directory)')
    arguments = parser.parse_args(list(argv))
    if arguments.rviz and not arguments.sim:
        parser.error('--rviz needs --sim (as rviz:=true belongs to sim.launch.py)')
    return arguments


def describe(arguments: argparse.Namespace) -> typing.List[NodeDescription]:
    """
    Return the nodes of parsed arguments: those fleet.launch.py (sim.launch.py) describes.

    :raises ValueError: the fleet file is invalid.
    """
    fleet = load_fleet(arguments.fleet)
    options = {'use_sim_time': arguments.use_sim_time, 'log_level': arguments.log_level,
               'respawn': arguments.respawn, 'journal_path': arguments.journal_path,
               'fleet_sim': arguments.fleet_sim}
    if arguments.sim:
        return describe_simulation(fleet, rviz=arguments.rviz, **options)
    return describe_fleet(fleet, **options)


def main(argv: typing.Sequence[str] = None) -> int:
    """Run a fleet until SIGINT or SIGTERM."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        descriptions = describe(arguments)
        fleet_name = os.path.splitext(os.path.basename(arguments.fleet))[0]
        work_dir = arguments.work_dir or tempfile.mkdtemp(prefix=f'fleet_{fleet_name}_')
        runner = FleetRunner(descriptions, work_dir=work_dir)
    except ValueError as error:
        print(f'fleet_runner: {error}', file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def printer(line: str) -> None:
        print(f'fleet_runner: {line}', flush=True)

    printer(f'logs and parameters files in {work_dir}')
    return runner.run(stop, printer)


if __name__ == '__main__':
    sys.exit(main())
