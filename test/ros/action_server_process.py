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
A minimal Takeoff action server run as a separate process by the tests.

Started the way ``launch_ros`` starts a node::

    python action_server_process.py --step-s 0.02 --time-scale 10 --ros-args -r __ns:=/robot_x

It serves ``brain_execution_interfaces/action/Takeoff`` as ``takeoff`` (relative to the
namespace) with its own callback group on a ``MultiThreadedExecutor``. The climb is simulated:
every ``step_s`` seconds of wall time the altitude grows by
``climb_speed_mps * step_s * time_scale`` and feedback is published. Waiting is done on rclpy
timers inside an async execute callback, so no executor thread is held while a goal runs.
Goals outside the documented ranges end with ``INVALID_PARAMETERS`` and a message naming the
field and its limits; a cancel ends the goal with ``CANCELED``. SIGINT or SIGTERM stops the
process cleanly (exit status 0); SIGUSR1 dumps every thread's stack to stderr.
"""

import argparse
import faulthandler
import math
import signal
import sys
import threading
import time
import uuid

from brain_execution_interfaces.action import Takeoff
from brain_execution_interfaces.msg import ErrorCode
import rclpy
from rclpy.action import ActionServer
from rclpy.action import CancelResponse
from rclpy.action import GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException
from rclpy.executors import MultiThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

# Documented ranges of Takeoff.action's goal fields: (field, low, high, unit).
_RANGES = (
    ('altitude_m', 1.0, 120.0, 'm'),
    ('climb_speed_mps', 0.5, 5.0, 'm/s'),
    ('timeout_s', 0.0, 86400.0, 's'),
)


def range_error(goal):
    """
    Return a message naming the first goal field outside its range, or an empty string.

    :param goal: A ``Takeoff.Goal``.
    :return: The error message, empty when every field is valid.
    """
    for field, low, high, unit in _RANGES:
        value = getattr(goal, field)
        if not math.isfinite(value) or not low <= value <= high:
            return '%s = %r is outside %g..%g %s' % (field, value, low, high, unit)
    return ''


class TakeoffServer:
    """Serve Takeoff goals with a simulated climb."""

    def __init__(self, node, *, step_s, time_scale):
        self._node = node
        self._step_s = step_s
        self._time_scale = time_scale
        self._group = ReentrantCallbackGroup()
        self._server = ActionServer(
            node, Takeoff, 'takeoff',
            execute_callback=self._execute,
            goal_callback=self._on_goal,
            handle_accepted_callback=self._on_accepted,
            cancel_callback=self._on_cancel,
            callback_group=self._group)

    def destroy(self):
        self._server.destroy()

    def _on_goal(self, goal_request):
        # Accept everything: invalid goals end with INVALID_PARAMETERS and a reason the caller
        # can read, rather than a bare rejection.
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle):
        # Goal policy: run every accepted goal at once, concurrently.
        goal_handle.execute()

    def _on_cancel(self, goal_handle):
        return CancelResponse.ACCEPT

    async def _sleep(self, seconds):
        """Wait on an rclpy timer, leaving the executor threads free."""
        done = Future()

        def _fire():
            if not done.done():
                done.set_result(None)

        timer = self._node.create_timer(seconds, _fire, callback_group=self._group)
        try:
            await done
        finally:
            self._node.destroy_timer(timer)

    async def _execute(self, goal_handle):
        started = time.monotonic()
        goal = goal_handle.request
        operation_id = goal.operation_id or uuid.uuid4().hex

        def result(code, message='', altitude=0.0):
            return Takeoff.Result(
                altitude_m=float(altitude), error_code=int(code), error_msg=message,
                retryable=False, elapsed_s=time.monotonic() - started,
                operation_id=operation_id)

        error = range_error(goal)
        if error:
            goal_handle.abort()
            return result(ErrorCode.INVALID_PARAMETERS, error)

        altitude = 0.0
        climb_per_step = goal.climb_speed_mps * self._step_s * self._time_scale
        while altitude < goal.altitude_m:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return result(ErrorCode.CANCELED, 'canceled by the caller', altitude)
            if not goal_handle.is_active:
                return result(ErrorCode.SHUTDOWN, 'the server stopped', altitude)
            await self._sleep(self._step_s)
            altitude = min(goal.altitude_m, altitude + climb_per_step)
            remaining = goal.altitude_m - altitude
            goal_handle.publish_feedback(Takeoff.Feedback(
                altitude_m=altitude, progress=altitude / goal.altitude_m, phase='climbing',
                distance_remaining_m=remaining, eta_s=remaining / goal.climb_speed_mps))
        goal_handle.succeed()
        return result(ErrorCode.NONE, altitude=altitude)


def main(args=None):
    # A test that finds this process hung sends SIGUSR1 for the stacks before killing it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--step-s', type=float, default=0.02, help='wall seconds per step')
    parser.add_argument('--time-scale', type=float, default=1.0, help='simulated/wall time')
    options = parser.parse_args(rclpy.utilities.remove_ros_args(args or sys.argv)[1:])

    node = rclpy.create_node('takeoff_server')
    server = TakeoffServer(node, step_s=options.step_s, time_scale=options.time_scale)
    executor = MultiThreadedExecutor()
    executor.add_node(node)
    node.get_logger().info('serving takeoff in namespace %s' % node.get_namespace())
    try:
        # Not executor.spin(): with rclpy's own SIGINT handling, a SIGINT under load was
        # sometimes never acted on (the wait was not woken), or raised KeyboardInterrupt in
        # the cleanup below. Here the handlers only set a flag; bounded waits notice it.
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.25)
    except ExternalShutdownException:
        pass
    finally:
        server.destroy()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
