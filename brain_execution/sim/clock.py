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
A simulator that owns the ROS clock: ``/clock`` at ``clock_rate`` times real time.

Faster than real time works as in Gazebo: one simulator per ROS domain publishes
``/clock`` and every other node runs with ``use_sim_time: true``. The owner itself also
follows ``/clock``, so its kinematic model (stepped by timers on the node clock) runs at the
same rate, and so do every wait, timeout and back-off of the nodes that follow: a hover of 2 s
or a step timeout of 60 s are in the robots' time, and last 0.4 s and 12 s of wall time at
``clock_rate: 5``. Sim time starts at 0 when the owner starts, as Gazebo's does.

The clock is published from a timer on the steady clock (wall time), never on the node clock
it drives.
"""

import time
import typing

from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from rosgraph_msgs.msg import Clock as ClockMsg

from .clock_rate import check_clock_rate, CLOCK_RATE_RANGE

__all__ = ['ClockOwner', 'clock_rate_descriptor', 'declare_clock_rate']
# Wall seconds between /clock messages: 100 Hz, so timers on sim time keep a fine grain even
# at the highest rate (0.2 sim s per message at 20x).
_PUBLISH_PERIOD_S = 0.01
_CLOCK_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


def clock_rate_descriptor() -> ParameterDescriptor:
    """Return the read-only descriptor of ``clock_rate``, with its range."""
    low, high = CLOCK_RATE_RANGE
    return ParameterDescriptor(
        description='Sim seconds per wall second. 1.0: the node clock as configured. Any '
                    'other value: this simulator owns the clock, publishes /clock at that '
                    'rate and follows it (set it on one simulator per ROS domain; every '
                    'other node runs with use_sim_time: true).',
        read_only=True,
        floating_point_range=[FloatingPointRange(from_value=low, to_value=high, step=0.0)])


def declare_clock_rate(node: Node) -> typing.Optional['ClockOwner']:
    """
    Declare ``clock_rate`` on a simulator node; start owning the clock unless it is 1.0.

    :return: the clock owner, or None at rate 1.0.
    :raises rclpy.exceptions.InvalidParameterValueException: the rate is outside
        :data:`CLOCK_RATE_RANGE` (rclpy checks the descriptor's range on declaration).
    :raises ValueError: the same, should a descriptor not be enforced.
    """
    rate = check_clock_rate(
        node.declare_parameter('clock_rate', 1.0, clock_rate_descriptor()).value)
    return None if rate == 1.0 else ClockOwner(node, rate)


class ClockOwner:
    """
    Publish ``/clock`` at ``rate`` times real time and make ``node`` follow it.

    :param node: the simulator's node; its ``use_sim_time`` is set true.
    :param rate: sim seconds per wall second.
    """

    def __init__(self, node: Node, rate: float):
        self.rate = float(rate)
        self._start = time.monotonic()
        self._publisher = node.create_publisher(ClockMsg, '/clock', _CLOCK_QOS)
        node.set_parameters([Parameter('use_sim_time', Parameter.Type.BOOL, True)])
        self._timer = node.create_timer(_PUBLISH_PERIOD_S, self.publish,
                                        clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.publish()

    def now_s(self) -> float:
        """Return the sim time now, seconds."""
        return (time.monotonic() - self._start) * self.rate

    def publish(self) -> None:
        self._publisher.publish(ClockMsg(clock=Time(
            nanoseconds=int(self.now_s() * 1e9)).to_msg()))
