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
One Nav2 action as the bridge drives it: goals sent from any thread, canceled, and settled.

Every call on the rclpy ``ActionClient`` goes through
:class:`~brain_execution.bridges.serial_calls.SerialCalls` in the bridge's callback group,
because the client is not thread-safe and commands come from any executor thread. A goal's
:class:`~brain_execution.core.bridge.CommandHandle` is acknowledged when Nav2 accepts it,
finished when Nav2 reports SUCCEEDED and interrupted, with Nav2's code mapped, when it aborts.

Exactly once: a goal Nav2 has not answered within ``nav2.goal_response_timeout_s`` fails with
COMMUNICATION_FAILURE, and should Nav2 accept it later it is canceled at once rather than
left to drive a robot whose operation has already ended.
"""

import functools
import threading
import typing

from action_msgs.msg import GoalStatus
from action_msgs.srv import CancelGoal
from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import (
    CommunicationError, ExecutionError, NavigationFailedError, PlatformNotReadyError,
    PlatformRejectedError, PreemptedError)
from rclpy.action import ActionClient
from rclpy.node import Node

from .error_codes import nav2_error
from .readiness import Readiness
from ..serial_calls import SerialCalls

__all__ = ['ActionChannel', 'NavGoal', 'Signal']

# An unanswered cancel is sent again this often: a request queued while Nav2 was frozen
# waits for the middleware's next heartbeat (3 s with Fast DDS) once Nav2 resumes, and a new
# one goes out at once, so the robot does not drive on meanwhile.
_CANCEL_RETRY_NS = 1_000_000_000
# Cancel answers meaning the goal no longer runs (or is now being stopped).
_CANCEL_DONE = (CancelGoal.Response.ERROR_NONE, CancelGoal.Response.ERROR_UNKNOWN_GOAL_ID,
                CancelGoal.Response.ERROR_GOAL_TERMINATED)


class Signal:
    """A one-shot event with callbacks, fired from one thread while others subscribe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fired = False
        self._error = None
        self._callbacks: typing.List[typing.Callable] = []

    @property
    def fired(self) -> bool:
        return self._fired

    def add(self, callback: typing.Callable[[typing.Optional[ExecutionError]], None]) -> None:
        with self._lock:
            if not self._fired:
                self._callbacks.append(callback)
                return
        callback(self._error)

    def fire(self, error: typing.Optional[ExecutionError] = None) -> None:
        with self._lock:
            if self._fired:
                return
            self._fired, self._error = True, error
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(error)


class NavGoal:
    """
    One goal sent to a Nav2 action, and what became of it.

    :param handle: the command's handle.
    :param label: the command that sent it (``go_to``, ``return_home``, ...).
    :param value: what the handle is finished with on success.
    """

    def __init__(self, handle: CommandHandle, label: str, sent_ns: int, value: typing.Any):
        self.handle = handle
        self.label = label
        self.value = value
        self.sent_ns = sent_ns
        self.goal_handle = None
        self.cancel_sent_ns = None
        # Asked to stop (hold, another action took over, answered too late): its end is
        # expected, not an interruption.
        self.cancel_requested = False
        # A newer goal of the same action replaced it; Nav2 preempts it on its own.
        self.superseded = False
        #: Fired once the goal no longer drives the robot: refused, ended, or its cancel
        #: accepted; with an error when Nav2 refused to cancel it.
        self.quiet = Signal()
        #: Fired once Nav2 is done with the goal: refused, or its result arrived.
        self.ended = Signal()

    @property
    def live(self) -> bool:
        """Return whether the goal may still drive the robot."""
        return not self.quiet.fired


# succeeded(goal, result) -> error or None (None finishes the handle with goal.value).
Succeeded = typing.Callable[[NavGoal, typing.Any], typing.Optional[ExecutionError]]
# abort_code(goal, result) -> (Nav2 code, what it refers to)
AbortCode = typing.Callable[[NavGoal, typing.Any], typing.Tuple[int, str]]


def _result_code(goal: NavGoal, result) -> typing.Tuple[int, str]:
    return int(result.error_code), ''


class ActionChannel:
    """
    The goals of one Nav2 action; every method may be called from any thread.

    :param kind: the Nav2 action this is (``navigate_to_pose``, ...), for its error codes.
    :param name: its full name (a ``nav2.*_action`` under ``nav2.namespace``).
    :param succeeded: what a SUCCEEDED result means; may return an error (waypoints missed).
    :param abort_code: where an ABORTED result keeps its Nav2 code.
    :param on_feedback: on_feedback(goal, feedback) for Nav2's feedback messages.
    :param request_tick: asks the executor to advance the operations now.
    """

    def __init__(self, *, node: Node, action_type, kind: str, name: str, serial: SerialCalls,
                 readiness: Readiness, response_timeout_s: float,
                 succeeded: typing.Optional[Succeeded] = None,
                 abort_code: AbortCode = _result_code,
                 on_feedback: typing.Optional[typing.Callable[[NavGoal, typing.Any], None]] = None,
                 request_tick: typing.Callable[[], None] = lambda: None):
        self.kind = kind
        self.name = name
        self._node = node
        self._serial = serial
        self._readiness = readiness
        self._timeout_ns = int(response_timeout_s * 1e9)
        self._succeeded = succeeded or (lambda goal, result: None)
        self._abort_code = abort_code
        self._on_feedback = on_feedback
        self._request_tick = request_tick
        self._client = ActionClient(node, action_type, name,
                                    callback_group=serial.callback_group)
        self._lock = threading.Lock()
        self._live: typing.List[NavGoal] = []

    # --- queries -------------------------------------------------------------------------

    def server_ready(self) -> bool:
        """Return whether Nav2's server of this action is there."""
        return self._client.server_is_ready()

    def active_label(self) -> typing.Optional[str]:
        """Return the label of the goal driving the robot now, or None."""
        with self._lock:
            for goal in reversed(self._live):
                if goal.live and not goal.cancel_requested and not goal.superseded:
                    return goal.label
        return None

    # --- commands ------------------------------------------------------------------------

    def send(self, goal_msg, handle: CommandHandle, *, label: str,
             value: typing.Any = None) -> NavGoal:
        """Send a goal; the newest goal of this action supersedes the older ones."""
        goal = NavGoal(handle, label, self._now_ns(), value)
        with self._lock:
            for older in self._live:
                older.superseded = True
            self._live.append(goal)
        feedback = functools.partial(self._feedback, goal) if self._on_feedback else None
        self._serial.call(self._client.send_goal_async, goal_msg,
                          feedback_callback=feedback).add_done_callback(
            functools.partial(self._on_goal_response, goal))
        return goal

    def cancel(self) -> typing.List[NavGoal]:
        """Ask Nav2 to stop every goal of this action; return those Nav2 has not ended."""
        to_cancel = []
        with self._lock:
            goals = list(self._live)
            for goal in goals:
                if not goal.cancel_requested:
                    goal.cancel_requested = True
                    # One still unanswered is canceled as soon as Nav2 accepts it.
                    if goal.goal_handle is not None:
                        to_cancel.append(goal)
        for goal in to_cancel:
            self._send_cancel(goal)
        return goals

    def check_timeouts(self) -> None:
        """Fail goals Nav2 has not answered in time; send unanswered cancels again."""
        now = self._now_ns()
        late, again = [], []
        with self._lock:
            for goal in self._live:
                if (goal.goal_handle is None and not goal.cancel_requested
                        and now - goal.sent_ns > self._timeout_ns):
                    goal.cancel_requested = True
                    late.append(goal)
                elif (goal.cancel_sent_ns is not None and goal.live
                      and now - goal.cancel_sent_ns > _CANCEL_RETRY_NS):
                    again.append(goal)
        for goal in again:
            self._send_cancel(goal)
        for goal in late:
            goal.handle.set_error(CommunicationError(
                f'no answer from Nav2 to the {self.name} goal within '
                f'{self._timeout_ns * 1e-9:.1f} s; should it be accepted later, it is '
                'canceled'))

    def close(self) -> None:
        """Fail the handles still waiting for Nav2's answer."""
        with self._lock:
            pending = [goal for goal in self._live if not goal.handle.done()]
        for goal in pending:
            goal.handle.set_error(CommunicationError(
                f'executor shut down before Nav2 answered the {self.name} goal'))

    # --- responses -----------------------------------------------------------------------

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def _send_cancel(self, goal: NavGoal) -> None:
        goal.cancel_sent_ns = self._now_ns()
        self._serial.call(goal.goal_handle.cancel_goal_async).add_done_callback(
            functools.partial(self._on_cancel_response, goal))

    def _feedback(self, goal: NavGoal, message) -> None:
        self._on_feedback(goal, message.feedback)

    def _on_goal_response(self, goal: NavGoal, future) -> None:
        error = future.exception()
        goal_handle = None if error is not None else future.result()
        if goal_handle is None or not goal_handle.accepted:
            verdict = self._readiness.verdict
            goal.handle.set_error(
                CommunicationError(f'{self.name} goal not sent: {error}') if error is not None
                else PlatformNotReadyError(f'Nav2 rejected the {self.name} goal; Nav2 is not '
                                           f'active: {verdict[1]}') if not verdict[0]
                else PlatformRejectedError(f'Nav2 rejected the {self.name} goal'))
            self._end(goal)
            self._request_tick()
            return
        with self._lock:
            goal.goal_handle = goal_handle
            cancel = goal.cancel_requested
        if cancel:
            self._send_cancel(goal)
        else:
            goal.handle.set_result()
        self._serial.call(goal_handle.get_result_async).add_done_callback(
            functools.partial(self._on_result, goal))
        self._request_tick()

    def _on_cancel_response(self, goal: NavGoal, future) -> None:
        response = None if future.exception() is not None else future.result()
        if response is not None and response.return_code in _CANCEL_DONE:
            goal.quiet.fire()
        else:
            goal.quiet.fire(PlatformRejectedError(
                f'Nav2 refused to cancel the {self.name} goal'
                f'{"" if response is None else f" (return_code {response.return_code})"}'))

    def _end(self, goal: NavGoal) -> None:
        with self._lock:
            self._live = [g for g in self._live if g is not goal]
        goal.quiet.fire()
        goal.ended.fire()

    def _on_result(self, goal: NavGoal, future) -> None:
        response = None if future.exception() is not None else future.result()
        self._end(goal)
        if goal.superseded or goal.cancel_requested and (
                response is None or response.status != GoalStatus.STATUS_SUCCEEDED):
            # Replaced or stopped on purpose: how it ended is nobody's concern now.
            return
        if response is None:
            goal.handle.interrupt(CommunicationError(
                f'the result of the {self.name} goal was lost: {future.exception()}'))
        elif response.status == GoalStatus.STATUS_SUCCEEDED:
            error = self._succeeded(goal, response.result)
            if error is None:
                goal.handle.finish(goal.value)
            else:
                goal.handle.interrupt(error)
        elif response.status == GoalStatus.STATUS_ABORTED:
            self._aborted(goal, response.result)
        elif response.status == GoalStatus.STATUS_CANCELED:
            goal.handle.interrupt(PreemptedError(
                f'the {self.name} goal was canceled outside brain_execution (another Nav2 '
                'client, or Nav2 itself)'))
        else:
            goal.handle.interrupt(NavigationFailedError(
                f'the {self.name} goal ended with status {response.status}'))
        self._request_tick()

    def _aborted(self, goal: NavGoal, result) -> None:
        code, context = self._abort_code(goal, result)
        error = nav2_error(self.kind, code, result.error_msg, context=context)
        if code:
            goal.handle.interrupt(error)
            return

        # Nav2 aborts without a code when its servers are deactivated under a goal: say so if
        # that is what happened.
        def explain(ready: bool, reason: str) -> None:
            goal.handle.interrupt(error if ready else PlatformNotReadyError(
                f'{error}; Nav2 is not active: {reason}'))
            self._request_tick()

        self._readiness.check_now(explain)
