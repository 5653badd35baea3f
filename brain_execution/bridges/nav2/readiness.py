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
Whether Nav2 is up: bt_navigator's lifecycle state, or the lifecycle manager's verdict.

nav2_simple_commander waits for ``bt_navigator/get_state`` to say ``active``; the lifecycle
manager answers ``is_active`` (std_srvs/Trigger) for the whole stack it brought up. Either
is asked every ``nav2.readiness_period_s``, never waited on. Each period asks afresh, even
while an earlier question is unanswered, so that a Nav2 that was frozen is heard again as soon
as it answers. Nav2 counts as not ready when no answer came for ``nav2.readiness_timeout_s``,
and at once when the service is missing.
"""

import threading
import typing

from lifecycle_msgs.msg import State
from lifecycle_msgs.srv import GetState
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node
from std_srvs.srv import Trigger

from .settings import Nav2Settings

__all__ = ['Readiness']

Verdict = typing.Tuple[bool, str]


class Readiness:
    """
    Nav2's readiness, kept current by polling; read it from any thread.

    :param on_change: called (from the bridge's callback group) when the verdict changes.
    """

    def __init__(self, node: Node, callback_group: CallbackGroup, settings: Nav2Settings,
                 on_change: typing.Callable[[], None]):
        self._node = node
        self._on_change = on_change
        self._timeout_ns = int(settings.readiness_timeout_s * 1e9)
        self._lock = threading.Lock()
        self._waiting: typing.List[typing.Callable[[bool, str], None]] = []
        # Unanswered questions (future -> when asked), and when the verdict's question was
        # asked and answered.
        self._pending: typing.Dict[typing.Any, int] = {}
        self._verdict_asked_ns = -1
        self._answered_ns = self._now_ns()
        self._client = None
        if settings.readiness == 'none':
            self._verdict: Verdict = (True, 'not checked (nav2.readiness: none)')
            return
        if settings.readiness == 'bt_navigator':
            service_type, name = GetState, settings.lifecycle_state_service
        else:
            service_type, name = Trigger, settings.is_active_service
        self._service = settings.resolve(name)
        self._client = node.create_client(service_type, self._service,
                                          callback_group=callback_group)
        self._verdict = (False, f'no answer from {self._service} yet')
        node.create_timer(settings.readiness_period_s, self._poll,
                          callback_group=callback_group)

    @property
    def verdict(self) -> Verdict:
        """Return (ready, reason): 'active', or why Nav2 does not count as ready."""
        return self._verdict

    def check_now(self, callback: typing.Callable[[bool, str], None]) -> None:
        """Ask at once and call callback(ready, reason) with the answer (or its absence)."""
        if self._client is None:
            callback(*self._verdict)
            return
        with self._lock:
            self._waiting.append(callback)
        self._poll()

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def _poll(self) -> None:
        now = self._now_ns()
        with self._lock:
            expired = [f for f, asked in self._pending.items() if now - asked > self._timeout_ns]
            for future in expired:
                del self._pending[future]
            silent = now - self._answered_ns > self._timeout_ns
        for future in expired:
            self._client.remove_pending_request(future)
        if not self._client.service_is_ready():
            self._settle((False, f'no {self._service} service'))
            return
        if silent:
            self._settle((False, f'no answer from {self._service} within '
                                 f'{self._timeout_ns * 1e-9:.1f} s'))
        future = self._client.call_async(self._client.srv_type.Request())
        with self._lock:
            self._pending[future] = now
        future.add_done_callback(self._on_answer)

    def _on_answer(self, future) -> None:
        with self._lock:
            asked = self._pending.pop(future, None)
            if asked is None or asked < self._verdict_asked_ns:
                return  # given up on, or older than the answer the verdict comes from
            self._verdict_asked_ns, self._answered_ns = asked, self._now_ns()
        response = future.result()
        if response is None:
            verdict = (False, f'{self._service} failed to answer')
        elif isinstance(response, GetState.Response):
            state = response.current_state
            verdict = ((True, 'active') if state.id == State.PRIMARY_STATE_ACTIVE else
                       (False, f"{self._service} reports '{state.label}'"))
        else:
            verdict = ((True, 'active') if response.success else
                       (False, f'{self._service} reports not active'
                               f'{": " + response.message if response.message else ""}'))
        self._settle(verdict)

    def _settle(self, verdict: Verdict) -> None:
        with self._lock:
            changed, self._verdict = verdict != self._verdict, verdict
            waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback(*verdict)
        if changed:
            self._on_change()
