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
Mission recordings: the mission's topics in a rosbag2 bag with MCAP storage.

:class:`MissionRecorder` subscribes with rclpy to serialized messages (``raw=True``), so the
bag holds exactly the CDR bytes that were on the wire, and writes them with ``rosbags``
(a rosbag2 directory: ``metadata.yaml`` plus one ``.mcap`` file). Each topic's message
definition goes into the MCAP schema (``ros2msg``), so Foxglove opens the ``.mcap`` file,
``ros2 bag play <dir>`` plays the directory, and ``rosbags`` reads both back. Messages are
stamped with the receiving node's clock (sim time under ``use_sim_time``), as ``ros2 bag
record`` does. The project's own types are taken from the installed ``.msg`` files.

:func:`mission_topics` lists what a mission publishes: per robot its state, events and
standard views, and the coordinator's events, markers and diagnostics.
"""

import importlib
import os
import threading
import typing

from ament_index_python.packages import get_package_share_directory
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import (
    Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores

from .qos import EVENTS_QOS, STATE_QOS
from .standard_views import LATCHED_QOS, TF_QOS

__all__ = ['MissionRecorder', 'RecordedTopic', 'mission_topics']

# rosbag2 format version: 8 is read by Humble, Jazzy and later.
_BAG_VERSION = 8
# Every robot latches its map -> odom transform: one message per publisher to keep.
_TF_STATIC_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                            reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)
_VIEW_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)


class RecordedTopic(typing.NamedTuple):
    """A topic to record: name, type (``pkg/msg/Name``) and the subscription's QoS."""

    name: str
    type_name: str
    qos: QoSProfile


def mission_topics(namespaces: typing.Iterable[str]) -> typing.List[RecordedTopic]:
    """Return the topics of a mission on robots in these namespaces (e.g. ``/drone1``)."""
    topics = []
    for namespace in namespaces:
        ns = namespace.rstrip('/')
        topics += [
            RecordedTopic(f'{ns}/robot_state', 'brain_execution_interfaces/msg/RobotState',
                          STATE_QOS),
            RecordedTopic(f'{ns}/operation_events',
                          'brain_execution_interfaces/msg/OperationStatus', EVENTS_QOS),
            RecordedTopic(f'{ns}/fix', 'sensor_msgs/msg/NavSatFix', _VIEW_QOS),
            RecordedTopic(f'{ns}/odom', 'nav_msgs/msg/Odometry', _VIEW_QOS),
            RecordedTopic(f'{ns}/path', 'nav_msgs/msg/Path', _VIEW_QOS),
            RecordedTopic(f'{ns}/geofence', 'geometry_msgs/msg/PolygonStamped', LATCHED_QOS),
        ]
    return topics + [
        RecordedTopic('/execution/events', 'brain_execution_interfaces/msg/OperationStatus',
                      EVENTS_QOS),
        RecordedTopic('/execution/dead_letters', 'brain_execution_interfaces/msg/DeadLetter',
                      EVENTS_QOS),
        RecordedTopic('/execution/circuit_states',
                      'brain_execution_interfaces/msg/CircuitState', EVENTS_QOS),
        RecordedTopic('/execution/markers', 'visualization_msgs/msg/MarkerArray', _VIEW_QOS),
        RecordedTopic('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', _VIEW_QOS),
        RecordedTopic('/fleet/status', 'diagnostic_msgs/msg/DiagnosticStatus', EVENTS_QOS),
        RecordedTopic('/tf', 'tf2_msgs/msg/TFMessage', TF_QOS),
        RecordedTopic('/tf_static', 'tf2_msgs/msg/TFMessage', _TF_STATIC_QOS),
    ]


def _message_class(type_name: str):
    package, kind, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def _typestore(type_names: typing.Iterable[str]):
    """Return Jazzy's standard types plus the installed definitions of any other package."""
    store = get_typestore(Stores.ROS2_JAZZY)
    missing = {name.split('/')[0] for name in type_names if name not in store.fielddefs}
    types = {}
    for package in sorted(missing):
        folder = os.path.join(get_package_share_directory(package), 'msg')
        for entry in sorted(os.listdir(folder)):
            if entry.endswith('.msg'):
                with open(os.path.join(folder, entry), encoding='utf-8') as stream:
                    types.update(get_types_from_msg(
                        stream.read(), f'{package}/msg/{entry[:-len(".msg")]}'))
    store.register(types)
    return store


def _qos_time(duration) -> QosTime:
    nanoseconds = duration.nanoseconds
    return QosTime(sec=nanoseconds // 1_000_000_000, nsec=nanoseconds % 1_000_000_000)


def _offered(qos: QoSProfile) -> Qos:
    """Return the rosbag2 metadata of a QoS profile (what ``ros2 bag play`` offers again)."""
    return Qos(history=QosHistory(int(qos.history)), depth=qos.depth,
               reliability=QosReliability(int(qos.reliability)),
               durability=QosDurability(int(qos.durability)),
               deadline=_qos_time(qos.deadline), lifespan=_qos_time(qos.lifespan),
               liveliness=QosLiveliness(int(qos.liveliness)),
               liveliness_lease_duration=_qos_time(qos.liveliness_lease_duration),
               avoid_ros_namespace_conventions=qos.avoid_ros_namespace_conventions)


class MissionRecorder:
    """
    Record topics into a new rosbag2 MCAP bag until :meth:`close`.

    The subscriptions share one mutually exclusive callback group of their own, so writes
    never run two at a time and never wait behind the node's other callbacks.

    :param node: the node that subscribes; its clock stamps the messages.
    :param path: the bag directory to create (it must not exist).
    :param topics: what to record (see :func:`mission_topics`).
    :raises rosbags.rosbag2.WriterError: path exists already.
    """

    def __init__(self, node: Node, path: typing.Union[str, os.PathLike],
                 topics: typing.Sequence[RecordedTopic]):
        self.path = os.fspath(path)
        self._node = node
        self._lock = threading.Lock()
        self._counts: typing.Dict[str, int] = {}
        store = _typestore(t.type_name for t in topics)
        self._writer = Writer(self.path, version=_BAG_VERSION,
                              storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        group = MutuallyExclusiveCallbackGroup()
        self._subscriptions = []
        for topic in topics:
            connection = self._writer.add_connection(
                topic.name, topic.type_name, typestore=store,
                offered_qos_profiles=[_offered(topic.qos)])
            self._counts[topic.name] = 0
            self._subscriptions.append(node.create_subscription(
                _message_class(topic.type_name), topic.name,
                lambda data, c=connection: self._write(c, data), topic.qos,
                callback_group=group, raw=True))

    def _write(self, connection, data: bytes) -> None:
        stamp_ns = self._node.get_clock().now().nanoseconds
        with self._lock:
            if self._writer is None:
                return
            self._writer.write(connection, stamp_ns, data)
            self._counts[connection.topic] += 1

    @property
    def counts(self) -> typing.Dict[str, int]:
        """Return the number of messages written per topic so far."""
        with self._lock:
            return dict(self._counts)

    def close(self) -> str:
        """Stop recording, finish the bag and return its directory."""
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        self._subscriptions = []
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return self.path
