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
Make action-client calls safe from any thread.

rclpy's ``ActionClient`` keeps its pending goal, cancel and result requests in plain dicts.
A ``send_goal_async`` (or ``get_result_async``, ``cancel_goal_async``) from a thread other
than the one running the client's callbacks can resize a dict while a response callback
iterates it. The executor then raises "dictionary changed size during iteration", which ends
``spin()``, or the response is dropped ("Ignoring unexpected goal response") and the goal
waits forever. Running every such call inside the client's own mutually exclusive callback
group serializes it with the responses; ``SerialCalls`` does that from any thread.

It lives with the bridges because both layers above the core need it: a bridge's commands
come from any executor thread (``bridges -> core`` keeps bridges from importing ``ros``), and
``ros`` clients, the demo and the bench use it too (``ros -> bridges``). It depends on rclpy
only.
"""

import collections
import functools
import typing

from rclpy.callback_groups import CallbackGroup, MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.task import Future

__all__ = ['SerialCalls']


class SerialCalls:
    """
    Run functions in one mutually exclusive callback group, in submission order.

    :param node: node whose executor runs the calls; it must be spun.
    :param callback_group: the group of the clients the calls use (default: the node's
        default group, where clients created without a group live).
    :raises TypeError: the group is not mutually exclusive, so it would serialize nothing.
    """

    def __init__(self, node: Node, callback_group: typing.Optional[CallbackGroup] = None):
        group = node.default_callback_group if callback_group is None else callback_group
        if not isinstance(group, MutuallyExclusiveCallbackGroup):
            raise TypeError(f'SerialCalls needs a MutuallyExclusiveCallbackGroup, got '
                            f'{type(group).__name__}')
        self.callback_group = group
        self._node = node
        # deque.append and popleft are atomic: callers never block on the executor.
        self._pending = collections.deque()
        self._guard = node.create_guard_condition(self._drain, callback_group=group)

    def call(self, function: typing.Callable, *args, **kwargs) -> Future:
        """
        Run ``function(*args, **kwargs)`` in the group; return a future of its result.

        When the function returns a future (``send_goal_async`` and the like), the returned
        future completes with that future's result, in the group's thread.
        """
        outer = Future()
        self._pending.append((outer, function, args, kwargs))
        self._guard.trigger()
        return outer

    def run_pending(self) -> None:
        """
        Run the calls queued so far in this thread.

        Only for when nothing spins the group any more (a node shutting down after its
        executor stopped), so that a last cancel request still goes out.
        """
        self._drain()

    def destroy(self) -> None:
        """Cancel what has not run yet and release the guard condition."""
        while self._pending:
            self._pending.popleft()[0].cancel()
        self._node.destroy_guard_condition(self._guard)

    def _drain(self) -> None:
        while True:
            try:
                outer, function, args, kwargs = self._pending.popleft()
            except IndexError:
                return
            if outer.cancelled():
                continue
            try:
                value = function(*args, **kwargs)
            except Exception as error:  # noqa: B902 - handed to the caller through the future
                outer.set_exception(error)
                continue
            if isinstance(value, Future):
                value.add_done_callback(functools.partial(_forward, outer))
            else:
                outer.set_result(value)


def _forward(outer: Future, inner: Future) -> None:
    if inner.cancelled():
        outer.cancel()
    elif inner.exception() is not None:
        outer.set_exception(inner.exception())
    else:
        outer.set_result(inner.result())
