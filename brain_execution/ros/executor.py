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
A multi-threaded executor that does not spin on its own queue.

rclpy's ``MultiThreadedExecutor`` (Jazzy) submits each ready callback to a thread pool and
goes straight back to waiting. Its wait first yields every task that is not executing, which
includes the tasks it has just queued: so while the pool is behind, the spinning thread
queues the same callbacks again and again, rebuilds the wait set each time and holds the GIL
the workers need. Every copy is also kept in a list scanned on every wake. In the
coordinator under the bench's hover plan this made results reach the engine about 250 ms
(median) after the robot ended them, and the 10-robot plan take 3.8 s instead of 1.6 s
(same machine, same probe). Upstream tracks it as ros2/rclpy#1452.

``FleetExecutor`` submits a handler only when it is not already queued or running, and after
submitting waits (briefly) until a worker has taken it before it waits for more work.
An entity destroyed by another thread while the wait set is being built, or while its
callback takes from it (rclpy holds no action client's handle then, and ``spin()`` ended
with "action client pointer is invalid"), costs one wait or one callback instead.

Any other exception raised by a callback is logged with its traceback and the executor goes
on: in rclpy it ends ``spin()``, and with it a robot's whole node (every action, the tick,
the emergency stop) for one faulty callback.
"""

import threading
import time
import traceback
import typing

from rclpy.context import Context
from rclpy.exceptions import InvalidHandle
from rclpy.executors import (ConditionReachedException, ExternalShutdownException,
                             MultiThreadedExecutor, ShutdownException, TimeoutException)
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.logging import get_logger

__all__ = ['FleetExecutor']

# Longest the spinning thread waits for a worker to take a handler; bounded so that workers
# all busy in long callbacks delay the next wait rather than stop it.
_START_WAIT_S = 0.05

_NOTHING_READY = (ConditionReachedException, ExternalShutdownException, ShutdownException,
                  TimeoutException)
# What building the wait set raises when another thread destroyed an entity meanwhile: rclpy
# adds action clients and servers to it without holding their handles.
_DESTROYED_MEANWHILE = (InvalidHandle, _rclpy.RCLError)
# How long waits may keep failing so before the error counts as a real one, s.
_FAILING_WAITS_LIMIT_S = 1.0


def _belongs_to(entity, node) -> bool:
    """Return whether an entity is still part of its node (a task has neither: True)."""
    if entity is None or node is None:
        return True
    return any(entity in entities for entities in (
        node.subscriptions, node.timers, node.clients, node.services, node.guards,
        node.waitables))


class FleetExecutor(MultiThreadedExecutor):
    """
    ``MultiThreadedExecutor`` that queues each handler once and lets a worker take it.

    :param num_threads: worker threads (default: the CPUs this process may use).
    :param context: the context whose nodes it spins (default: the global one).
    """

    def __init__(self, num_threads: typing.Optional[int] = None, *,
                 context: typing.Optional[Context] = None):
        super().__init__(num_threads=num_threads, context=context)
        # handler (an rclpy Task) -> (pool future of its current run, event set once a worker
        # took it, the entity and node it serves). Only the spinning thread touches it.
        self._runs: typing.Dict[typing.Any, typing.Any] = {}
        self._failing_since: typing.Optional[float] = None

    @staticmethod
    def _run(handler, started: threading.Event) -> None:
        started.set()
        handler()

    def _spin_once_impl(self, timeout_sec=None, wait_condition=lambda: False) -> None:
        # Overrides rclpy's private hook, which spin(), spin_once() and
        # spin_until_future_complete() all call; the signature is rclpy's.
        try:
            handler, entity, node = self.wait_for_ready_callbacks(
                timeout_sec, None, wait_condition)
        except _NOTHING_READY:
            return
        except AttributeError:
            # shutdown() from another thread sets the executor's guard conditions to None
            # while this thread builds its wait set from them: the spin is over, not failed.
            if self._shutting_down():
                return
            raise
        except _DESTROYED_MEANWHILE:
            if self._shutting_down():
                return  # nodes torn down with their entities while this thread waited
            # The next wait set no longer holds the destroyed entity.
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            elif now - self._failing_since > _FAILING_WAITS_LIMIT_S:
                raise
            return
        self._failing_since = None
        queued = self._runs.get(handler)
        if queued is None or queued[0].done():
            started = threading.Event()
            self._runs[handler] = (self._executor.submit(self._run, handler, started), started,
                                   entity, node)
        else:
            started = queued[1]
        # rclpy yields a task again while it is still queued (it checks only
        # task.executing()): the next wait starts once a worker took it, or after a bound.
        started.wait(_START_WAIT_S)
        for task, (run, _, entity, node) in list(self._runs.items()):
            if not run.done():
                continue
            # The run ended: the task finished, or its coroutine awaits and is resubmitted
            # when rclpy yields it again.
            del self._runs[task]
            if task.done() and task.exception() is not None:
                if (isinstance(task.exception(), _DESTROYED_MEANWHILE) and
                        not _belongs_to(entity, node)):
                    continue  # its entity was destroyed while the callback took from it
                self._report(task.exception(), node)

    def _shutting_down(self) -> bool:
        return self._is_shutdown or not self._context.ok()

    @staticmethod
    def _report(error: BaseException, node) -> None:
        """Log a callback's exception on its node's logger; the executor goes on."""
        logger = node.get_logger() if node is not None else get_logger('fleet_executor')
        text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
        logger.error(f'callback raised {type(error).__name__}: {error} (the node goes on '
                     f'serving)\n{text}')
