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
A service call that asks again while unanswered, for requests that are safe to repeat.

Fast DDS drops a service response when the server has not matched the client's response
reader within the writer's max_blocking_time (100 ms; rmw_fastrtps_shared_cpp's
rmw_response.cpp, "client will not receive response"): a fresh client, on a loaded machine,
can wait forever for an answer that was never sent. Queries, parameter reads and requests
carrying an idempotency key are sent again, with growing waits, instead.

The caller's executor must spin the client's node on another thread: the wait is on the
response future.
"""

import threading
import time
import typing

__all__ = ['attempt_waits', 'call_until_answered']

# The first attempt waits this long for its answer, each next one twice as long, up to _MAX.
_FIRST_WAIT_S = 1.0
_MAX_WAIT_S = 8.0


def attempt_waits(only: typing.Optional[float] = None) -> typing.Iterator[float]:
    """Yield how long each attempt waits for its answer: 1, 2, 4, 8, 8, ... s (or once, only)."""
    if only is not None:
        yield only
        return
    wait_s = _FIRST_WAIT_S
    while True:
        yield wait_s
        wait_s = min(2.0 * wait_s, _MAX_WAIT_S)


def call_until_answered(client, request, timeout_s: float, *, resend: bool = True
                        ) -> typing.Optional[typing.Any]:
    """
    Return the first response to request, or None when none came within timeout_s.

    :param client: an rclpy service client whose server is known to exist.
    :param resend: False sends the request once (a request that must not be repeated).
    """
    deadline = time.monotonic() + timeout_s
    for wait_s in attempt_waits(None if resend else timeout_s):
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _, done=done: done.set())
        if done.wait(max(0.0, min(wait_s, deadline - time.monotonic()))):
            return future.result()
        # An answer to this attempt is no longer awaited: the client must not keep it.
        client.remove_pending_request(future)
        if time.monotonic() >= deadline:
            return None
    return None
