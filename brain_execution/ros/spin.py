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
Running a node's executor until SIGINT or SIGTERM, with a clean shutdown.

rclpy's own signal handler, with ``executor.spin()``, was seen here to leave SIGINT unanswered
for over 20 s on a loaded machine, and launch escalates to SIGKILL after a timeout, which
skips the node's cleanup (holding the robot, closing the bridge). Here the signal only sets a
flag, and the main thread spins in short slices, checking it.
"""

import signal
import sys
import threading
import typing

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.signals import SignalHandlerOptions

from .executor import FleetExecutor

__all__ = ['init_without_signal_handlers', 'run_node', 'spin_until_signal']

_SPIN_SLICE_S = 0.25


def init_without_signal_handlers(args: typing.Optional[typing.List[str]] = None) -> None:
    """Initialise rclpy leaving SIGINT and SIGTERM to :func:`spin_until_signal`."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


def spin_until_signal(executor: Executor) -> None:
    """Spin until SIGINT or SIGTERM arrives, or the context shuts down."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set())
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.is_set() and executor.context.ok():
            executor.spin_once(timeout_sec=_SPIN_SLICE_S)
    except ExternalShutdownException:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _one_line(text: str) -> str:
    return ' '.join(text.split())


def run_node(make_node: typing.Callable[[], typing.Any], *, name: str, num_threads: int,
             args: typing.Optional[typing.List[str]] = None,
             before_stop: typing.Callable[[typing.Any, Executor], None] = None) -> int:
    """
    Run one node on a multi-threaded executor until SIGINT or SIGTERM; the body of a main().

    :param make_node: builds the node; a ValueError from it, or rclpy's refusal of a
        parameter (wrong type, out of its descriptor's range), means invalid parameters: one
        line on stderr naming the parameter, exit status 2, rather than a traceback or a
        misconfigured node.
    :param before_stop: called with (node, executor) after the signal, while the executor
        can still spin: a node ends its work there and lets its last messages go out.
    :return: the process exit status.
    """
    init_without_signal_handlers(args)
    node = executor = None
    try:
        node = make_node()
        executor = FleetExecutor(num_threads=num_threads)
        executor.add_node(node)
        spin_until_signal(executor)
        if before_stop is not None:
            before_stop(node, executor)
    except (ValueError, ParameterException) as error:
        print(_one_line(f'{name}: invalid parameter: {error}'), file=sys.stderr)
        return 2
    finally:
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
