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
SerialCalls: action-client calls from many threads while a multi-threaded executor spins.

Without it, sends from outside the executor race rclpy's response handling: the executor
raises "dictionary changed size during iteration" and stops, or drops a goal response. The
race needs a loaded machine (it ended a CI run) and does not reproduce on demand here, so
these tests check what SerialCalls promises: every call runs and its outcome reaches the
caller, from any thread, with the executor still spinning.
"""

import threading
import uuid

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.ros.qos import intake_qos
from brain_execution_interfaces.action import CaptureImage
import pytest
import rclpy
from rclpy.action import ActionClient, ActionServer
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor

from .conftest import DOMAIN_ID, spin_in_thread

_SENDERS = 4
_GOALS_EACH = 150
# Goals in flight, kept under the queue depth so that only a race could lose one.
_WINDOW = 200
_TIMEOUT_S = 60.0


@pytest.fixture
def loop():
    """Yield a client node and a trivial CaptureImage server, spun by four threads."""
    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID)
    suffix = uuid.uuid4().hex[:8]
    server_node = rclpy.create_node(f'serial_server_{suffix}', context=context)
    client_node = rclpy.create_node(f'serial_client_{suffix}', context=context)

    def execute(goal_handle):
        goal_handle.succeed()
        return CaptureImage.Result(operation_id=goal_handle.request.operation_id)

    action = f'/serial_{suffix}/capture_image'
    # Deep queues on both sides, so that only a race could lose a goal (see qos.py).
    qos = {f'{kind}_service_qos_profile': intake_qos(1000)
           for kind in ('goal', 'result', 'cancel')}
    server = ActionServer(server_node, CaptureImage, action, execute,
                          callback_group=ReentrantCallbackGroup(), **qos)
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    executor.add_node(server_node)
    executor.add_node(client_node)
    spinner, spin_errors = spin_in_thread(executor)
    client = ActionClient(client_node, CaptureImage, action, **qos)
    serial = SerialCalls(client_node)
    yield {'client': client, 'serial': serial, 'spinner': spinner, 'errors': spin_errors,
           'node': client_node}
    serial.destroy()
    client.destroy()
    server.destroy()
    executor.shutdown()
    rclpy.try_shutdown(context=context)
    spinner.join(timeout=10.0)


def test_goals_sent_from_many_threads_all_get_their_result(loop):
    client, serial = loop['client'], loop['serial']
    assert client.wait_for_server(timeout_sec=_TIMEOUT_S)
    lock = threading.Lock()
    results = {}
    all_done = threading.Event()
    window = threading.Semaphore(_WINDOW)
    total = _SENDERS * _GOALS_EACH

    def on_result(operation_id, future):
        with lock:
            results[operation_id] = future.result().result.operation_id
            if len(results) == total:
                all_done.set()
        window.release()

    def on_goal(operation_id, future):
        handle = future.result()
        assert handle.accepted
        serial.call(handle.get_result_async).add_done_callback(
            lambda f: on_result(operation_id, f))

    def sender(index):
        for n in range(_GOALS_EACH):
            if not window.acquire(timeout=_TIMEOUT_S):
                return
            operation_id = f'g{index}_{n}'
            serial.call(client.send_goal_async,
                        CaptureImage.Goal(operation_id=operation_id)).add_done_callback(
                lambda f, op=operation_id: on_goal(op, f))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(_SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = all_done.wait(_TIMEOUT_S)
    assert not loop['errors'], f'the executor stopped: {loop["errors"]!r}'
    assert finished, f'{total - len(results)} of {total} goals never got a result'
    assert loop['spinner'].is_alive()
    assert all(key == value for key, value in results.items())


def test_errors_and_plain_values_reach_the_caller(loop):
    serial = loop['serial']
    done = threading.Event()
    value = serial.call(lambda a, b=0: a + b, 2, b=3)
    value.add_done_callback(lambda _: done.set())
    assert done.wait(_TIMEOUT_S) and value.result() == 5

    done.clear()
    failing = serial.call(lambda: 1 / 0)
    failing.add_done_callback(lambda _: done.set())
    assert done.wait(_TIMEOUT_S)
    assert isinstance(failing.exception(), ZeroDivisionError)


def test_a_reentrant_group_is_refused(loop):
    with pytest.raises(TypeError, match='MutuallyExclusiveCallbackGroup'):
        SerialCalls(loop['node'], ReentrantCallbackGroup())
