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

"""CommandHandle: first answer wins, from any thread, and a done handle has its answer."""

import threading

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import CommunicationError


def test_first_answer_wins():
    handle = CommandHandle('arm')
    assert handle.set_error(CommunicationError('no ack')) is True
    assert handle.set_result('late') is False
    assert handle.done() and handle.value is None
    assert isinstance(handle.error, CommunicationError)


def test_done_callbacks_run_once_and_at_once_when_done():
    handle = CommandHandle('takeoff')
    seen = []
    handle.add_done_callback(lambda h: seen.append(('before', h.value)))
    handle.set_result(42)
    handle.set_result(43)
    handle.add_done_callback(lambda h: seen.append(('after', h.value)))
    assert seen == [('before', 42), ('after', 42)]


def test_a_done_handle_seen_from_another_thread_carries_its_error():
    # A bridge callback thread completes handles while the tick polls them: a reader that
    # sees done() must never see the error still missing (it would count as a success).
    mistakes = []
    for _ in range(2000):
        handle = CommandHandle('set_mode')
        error = CommunicationError('lost')
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                if handle.done():
                    if handle.error is None:
                        mistakes.append(handle)
                    return

        thread = threading.Thread(target=reader)
        thread.start()
        handle.set_error(error)
        stop.set()
        thread.join()
    assert mistakes == []
