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
The NMEA link's health on ``/diagnostics``: link state, sentence counts by category.

One ``DiagnosticStatus`` named ``<robot_id>: nmea link`` per second, as
``diagnostic_updater`` would publish it: level OK while the link is up and no bad sentence
arrived in the last period, WARN when some did, ERROR while the link is down. Its values are
the counters of :meth:`NmeaBridge.stats <.bridge.NmeaBridge.stats>` (``bad_checksum``,
``foreign_talker``, ``sentences_sent``, ...), so the count of bad sentences can be read with
``ros2 topic echo /diagnostics``.
"""

import typing

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

__all__ = ['LinkDiagnostics']

_PERIOD_S = 1.0


class LinkDiagnostics:
    """
    Publish a bridge's link statistics on ``/diagnostics`` from a timer of its group.

    :param read_stats: returns ``(link_up, message, counters)``; called on the timer.
    """

    def __init__(self, node: Node, callback_group: typing.Any, *, name: str,
                 read_stats: typing.Callable[[], typing.Tuple[bool, str, typing.Mapping]]):
        self._node = node
        self._name = name
        self._read_stats = read_stats
        self._last_bad = 0
        self._publisher = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._timer = node.create_timer(_PERIOD_S, self._publish, callback_group=callback_group)

    def _publish(self) -> None:
        link_up, message, counters = self._read_stats()
        bad = int(counters.get('bad', 0))
        if not link_up:
            level = DiagnosticStatus.ERROR
        elif bad > self._last_bad:
            level = DiagnosticStatus.WARN
            message = f'{message}; {bad - self._last_bad} bad sentences in the last second'
        else:
            level = DiagnosticStatus.OK
        self._last_bad = bad
        status = DiagnosticStatus(
            level=level, name=self._name, message=message, hardware_id=self._name,
            values=[KeyValue(key=str(k), value=str(v)) for k, v in sorted(counters.items())])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._publisher.publish(array)

    def destroy(self) -> None:
        """Stop publishing."""
        self._node.destroy_timer(self._timer)
        self._node.destroy_publisher(self._publisher)
