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

"""FleetExecutor runs what rclpy's MultiThreadedExecutor runs, without spinning on its queue."""

import threading
import time
import uuid

from brain_execution.ros.executor import FleetExecutor
from brain_execution_interfaces.action import CaptureImage
import pytest
import rclpy
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.context import Context
from rclpy.task import Future
from std_msgs.msg import String

from .conftest import DOMAIN_ID, spin_in_thread

_TIMEOUT_S = 30.0
_CHURN = 300
_WAKES = 50
_WAKE_PERIOD_S = 0.01


@pytest.fixture
def node():
    """Yield a node on its own context with a two-thread FleetExecutor (not yet spinning)."""
    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID)
    made = rclpy.create_node(f'fleet_executor_{uuid.uuid4().hex[:8]}', context=context)
    made.executor_under_test = FleetExecutor(num_threads=2, context=context)
    made.executor_under_test.add_node(made)
    yield made
    made.executor_under_test.shutdown()
    made.destroy_node()
    rclpy.try_shutdown(context=context)


def test_subscriptions_timers_and_awaiting_coroutines_all_run(node):
    received = threading.Event()
    awaited = Future()
    resumed = threading.Event()
    topic = f'/fleet_executor_{uuid.uuid4().hex[:8]}'
    node.create_subscription(String, topic, lambda msg: received.set(), 10)
    publisher = node.create_publisher(String, topic, 10)

    async def waits_for_another_thread():
        await awaited
        resumed.set()

    timer = None

    def start_coroutine_once():
        timer.cancel()
        node.executor_under_test.create_task(waits_for_another_thread)

    timer = node.create_timer(0.01, start_coroutine_once)
    thread, errors = spin_in_thread(node.executor_under_test)

    def complete_from_another_thread():
        awaited.set_result(None)
        # As in rclpy, a future completed outside the executor needs a wake (the nodes use a
        # guard condition for this).
        node.executor_under_test.wake()

    threading.Timer(0.2, complete_from_another_thread).start()
    while not received.is_set() and thread.is_alive():
        publisher.publish(String(data='x'))
        received.wait(0.1)
    assert received.is_set(), errors
    assert resumed.wait(_TIMEOUT_S), 'the awaiting coroutine never resumed'
    assert not errors


def test_a_queued_handler_is_not_queued_again(node):
    # Both workers block in callbacks, so the next timer handler stays queued while the
    # executor is woken again and again. rclpy's executor yields the queued handler on every
    # wake and queues it once more each time.
    release = threading.Event()
    busy = threading.Semaphore(0)
    group = ReentrantCallbackGroup()

    def block():
        busy.release()
        release.wait(_TIMEOUT_S)

    blockers = [node.create_timer(0.01, block, callback_group=group) for _ in range(2)]
    fired = threading.Event()
    node.create_timer(0.05, fired.set, callback_group=group)
    executor = node.executor_under_test
    pool = executor._executor  # rclpy's thread pool: instrumented, not replaced
    pending = {}
    repeats = []
    original_submit = pool.submit

    def submit(function, *args):
        handler = args[0] if args else function  # FleetExecutor wraps the handler
        if handler in pending and not pending[handler].done():
            repeats.append(handler)
        pending[handler] = original_submit(function, *args)
        return pending[handler]

    pool.submit = submit
    thread, errors = spin_in_thread(executor)
    try:
        assert busy.acquire(timeout=_TIMEOUT_S) and busy.acquire(timeout=_TIMEOUT_S)
        for blocker in blockers:
            blocker.cancel()
        for _ in range(_WAKES):
            executor.wake()
            time.sleep(_WAKE_PERIOD_S)  # paces the wakes; nothing waits on it
    finally:
        release.set()
    assert fired.wait(_TIMEOUT_S), 'the timer never ran once a worker was free'
    assert not repeats, f'{len(repeats)} handlers queued again while still queued'
    assert not errors


def test_an_exception_in_a_callback_is_logged_and_spin_goes_on(node):
    raised = threading.Event()
    later = threading.Event()

    def broken():
        raised.set()
        raise RuntimeError('callback failed')

    broken_timer = node.create_timer(0.01, broken)
    thread, errors = spin_in_thread(node.executor_under_test)
    assert raised.wait(_TIMEOUT_S)
    node.destroy_timer(broken_timer)
    # Created after the failure: it runs only if the executor still spins.
    node.create_timer(0.01, later.set)
    assert later.wait(_TIMEOUT_S), f'spin() stopped after a callback raised: {errors!r}'
    assert thread.is_alive() and not errors


def test_clients_destroyed_by_another_thread_do_not_end_spin(node):
    # rclpy adds action clients to the wait set without holding their handles, so a client
    # destroyed meanwhile by another thread makes the wait fail ("action client pointer is
    # invalid"). The next wait no longer contains it.
    node.create_timer(0.001, lambda: None)  # keeps the executor rebuilding its wait set
    thread, errors = spin_in_thread(node.executor_under_test)
    for index in range(_CHURN):
        client = ActionClient(node, CaptureImage, f'/churn_{index}/capture_image')
        client.destroy()
        assert thread.is_alive(), f'spin() ended after {index} clients: {errors!r}'
    assert not errors
