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
Nav2's four actions as one motion at a time: send, hand over between actions, stop.

A goal of one action supersedes the goals of the others. Nav2 preempts within one action
by itself, but not across them, so the others are canceled; and the new goal waits until
they have ended, because Nav2's waypoint follower and docking server cancel *every*
NavigateToPose goal when theirs is canceled, which would take the new goal with them. A stop
(hold, emergency stop) cancels everything and drops a goal still waiting to be sent.
"""

import dataclasses
import threading
import typing

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import CommunicationError, ExecutionError, PreemptedError

from .channel import ActionChannel, Signal

__all__ = ['GoalDispatcher', 'when_all']


def when_all(signals: typing.Sequence[Signal],
             callback: typing.Callable[[typing.List[ExecutionError]], None]) -> None:
    """Call callback(errors) once every signal has fired (at once if there are none)."""
    if not signals:
        callback([])
        return
    lock = threading.Lock()
    remaining = [len(signals)]
    errors = []

    def fired(error: typing.Optional[ExecutionError]) -> None:
        with lock:
            if error is not None:
                errors.append(error)
            remaining[0] -= 1
            if remaining[0]:
                return
        callback(errors)

    for signal in signals:
        signal.add(fired)


@dataclasses.dataclass
class _Deferred:
    """A goal waiting for another action's goals to end before it is sent."""

    send: typing.Callable[[], None]
    handle: CommandHandle
    label: str
    created_ns: int


class GoalDispatcher:
    """
    Send goals and stops across Nav2's actions; every method may be called from any thread.

    :param channels: the actions.
    :param before_send: called with a goal's speed (m/s) right before it is sent.
    :param now_ns: the node clock.
    :param handover_timeout_s: how long a goal waits for the previous goals to end.
    :param request_tick: asks the executor to advance the operations now.
    """

    def __init__(self, channels: typing.Sequence[ActionChannel], *,
                 before_send: typing.Callable[[typing.Optional[float]], None],
                 now_ns: typing.Callable[[], int], handover_timeout_s: float,
                 request_tick: typing.Callable[[], None]):
        self.channels = tuple(channels)
        self._before_send = before_send
        self._now_ns = now_ns
        self._timeout_ns = int(handover_timeout_s * 1e9)
        self._request_tick = request_tick
        self._lock = threading.Lock()
        self._deferred: typing.Optional[_Deferred] = None

    def active_label(self) -> typing.Optional[str]:
        """Return the command whose goal Nav2 runs now, or None."""
        return next((label for label in (c.active_label() for c in self.channels)
                     if label is not None), None)

    def start(self, channel: ActionChannel, goal_msg, label: str, *,
              speed_mps: typing.Optional[float] = None,
              value: typing.Any = None) -> CommandHandle:
        """Send a goal once the other actions' goals have ended; return its handle."""
        handle = CommandHandle(label)

        def send() -> None:
            self._before_send(speed_mps)
            channel.send(goal_msg, handle, label=label, value=value)

        self._drop_deferred(f'{label} came after it')
        previous = [goal for other in self.channels if other is not channel
                    for goal in other.cancel()]
        if not previous:
            send()
            return handle
        deferred = _Deferred(send, handle, label, self._now_ns())
        with self._lock:
            self._deferred = deferred

        def release(_errors) -> None:
            with self._lock:
                if self._deferred is not deferred:
                    return  # dropped meanwhile
                self._deferred = None
            send()

        when_all([goal.ended for goal in previous], release)
        return handle

    def stop(self, command: str) -> CommandHandle:
        """Cancel every goal; acknowledged once Nav2 accepted each cancel."""
        self._drop_deferred(f'{command} came first')
        handle = CommandHandle(command)

        def acknowledge(errors: typing.List[ExecutionError]) -> None:
            if errors:
                handle.set_error(errors[0])
            else:
                handle.set_result()
            self._request_tick()

        when_all([goal.quiet for c in self.channels for goal in c.cancel()], acknowledge)
        return handle

    def check_timeouts(self) -> None:
        """Fail unanswered goals, resend unanswered cancels, give up a stalled handover."""
        for channel in self.channels:
            channel.check_timeouts()
        with self._lock:
            deferred = self._deferred
            if deferred is None or self._now_ns() - deferred.created_ns <= self._timeout_ns:
                return
            self._deferred = None
        deferred.handle.set_error(CommunicationError(
            f'{deferred.label} not sent: Nav2 did not end the previous goal within '
            f'{self._timeout_ns * 1e-9:.1f} s of its cancel'))

    def close(self) -> None:
        """Cancel every goal, and fail the handles still waiting for Nav2."""
        self._drop_deferred('the executor shut down')
        for channel in self.channels:
            channel.cancel()
            channel.close()

    def _drop_deferred(self, reason: str) -> None:
        with self._lock:
            deferred, self._deferred = self._deferred, None
        if deferred is not None:
            deferred.handle.set_error(PreemptedError(f'{deferred.label} not sent: {reason}'))
