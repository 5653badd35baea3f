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

"""The messages of one topic as they arrive, with waits on conditions (never fixed sleeps)."""

import threading
import time
import typing

from brain_execution.ros.qos import EVENTS_QOS

__all__ = ['TopicLog']


class TopicLog:
    """
    Subscribe to a topic and keep its messages; wake waiters on each one.

    :param keep: keep only the latest this many (None = all); for periodic topics such as
        ``robot_state`` or ``/diagnostics``, whose fresh messages are what a test waits for.
    """

    def __init__(self, node, msg_type, topic: str, qos=EVENTS_QOS,
                 keep: typing.Optional[int] = None):
        self._node = node
        self._keep = keep
        self._cond = threading.Condition()
        self.messages: typing.List[typing.Any] = []
        self._subscription = node.create_subscription(msg_type, topic, self._on_msg, qos)

    def _on_msg(self, msg) -> None:
        with self._cond:
            self.messages.append(msg)
            if self._keep is not None and len(self.messages) > self._keep:
                del self.messages[:-self._keep]
            self._cond.notify_all()

    def snapshot(self) -> typing.List[typing.Any]:
        """Return a copy of the messages kept so far, oldest first."""
        with self._cond:
            return list(self.messages)

    def clear(self) -> None:
        """Forget what arrived so far: the next wait sees only messages to come."""
        with self._cond:
            self.messages = []

    def wait(self, predicate, timeout_s: float):
        """Return the first message kept satisfying predicate, or None after timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for msg in self.messages:
                    if predicate(msg):
                        return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def destroy(self) -> None:
        self._node.destroy_subscription(self._subscription)
