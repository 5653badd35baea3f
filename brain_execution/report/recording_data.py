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
What a mission recording adds to the journal: tracks, geofences and every step transition.

A recording is the rosbag2 MCAP bag that :class:`~brain_execution.ros.recorder.MissionRecorder`
(``make demo``, ``brain-execution run --watch --record``) writes. It is read with ``rosbags``
(no rclpy): the types come from the definitions stored in the bag itself, so a bag opens
on a machine without the project's interfaces. Per robot (topics under ``/<robot_id>/``):

* ``odom`` gives the track in the robot's ``<robot_id>/odom`` frame (ENU, home at the origin);
* ``geofence`` gives the fence polygon in the same frame;

and ``/execution/events`` gives each step's transitions with their attempt numbers, which
the journal (it keeps only a step's last state) cannot.
"""

import dataclasses
import os
import pathlib
import typing

__all__ = ['Recording', 'RecordingReadError', 'StepEvent', 'read_recording']

_EVENTS_TOPIC = '/execution/events'


class RecordingReadError(Exception):
    """Raised when the recording is missing or cannot be read as a rosbag2 bag."""


@dataclasses.dataclass(frozen=True)
class StepEvent:
    """One transition of a plan step, as the coordinator published it."""

    stamp_s: float
    step_id: str
    robot_id: str
    operation: str
    state: int
    attempt: int
    error_code: int
    error_msg: str


@dataclasses.dataclass(frozen=True)
class Recording:
    """What a recording holds for one plan's robots."""

    path: str
    # robot_id -> [(stamp_s, x_m, y_m)], in time order.
    tracks: typing.Mapping[str, typing.List[typing.Tuple[float, float, float]]]
    # robot_id -> [(x_m, y_m)] corners of its geofence (empty when it has none).
    geofences: typing.Mapping[str, typing.List[typing.Tuple[float, float]]]
    events: typing.List[StepEvent]
    message_count: int


def _stamp(header) -> float:
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def _topic_kind(topic: str, robots: typing.Sequence[str],
                leaves: typing.Mapping[str, str]) -> typing.Optional[typing.Tuple[str, str]]:
    """Return (kind, robot) of a recorded topic, or None for a topic the report skips."""
    if topic == _EVENTS_TOPIC:
        return ('events', '')
    namespace, _, leaf = topic.rpartition('/')
    robot = namespace.rpartition('/')[2]
    if leaf in leaves and robot in robots:
        return (leaves[leaf], robot)
    return None


def read_recording(path: typing.Union[str, os.PathLike], plan_id: str,
                   robots: typing.Iterable[str]) -> Recording:
    """
    Read the tracks, geofences and step events of a plan's robots from a recording.

    :param path: the bag directory (or its ``.mcap`` file's directory).
    :param plan_id: only this plan's step events are kept.
    :param robots: robot ids; their topics are ``<namespace>/odom`` and ``/geofence``, the
        namespace ending in the robot id (``/drone1``, ``/site_a/drone1``).
    :raises RecordingReadError: the bag is missing or unreadable.
    """
    from rosbags.highlevel import AnyReader, AnyReaderError
    from rosbags.typesys import get_typestore, Stores

    bag = pathlib.Path(path)
    if bag.is_file() and bag.suffix == '.mcap':
        bag = bag.parent
    if not (bag / 'metadata.yaml').is_file():
        raise RecordingReadError(f'no rosbag2 bag at {path} (a bag is a directory with '
                                 'metadata.yaml; make demo prints its path)')
    robots = list(robots)
    tracks = {r: [] for r in robots}
    fences = {r: [] for r in robots}
    leaves = {'odom': 'odom', 'geofence': 'fence'}
    events = []
    count = 0
    try:
        # Jazzy's standard types by default; the project's types from the bag's definitions.
        with AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
            topics = {c.topic: _topic_kind(c.topic, robots, leaves)
                      for c in reader.connections}
            connections = [c for c in reader.connections if topics[c.topic] is not None]
            for connection, _, raw in reader.messages(connections=connections):
                kind, robot = topics[connection.topic]
                message = reader.deserialize(raw, connection.msgtype)
                count += 1
                if kind == 'odom':
                    position = message.pose.pose.position
                    tracks[robot].append((_stamp(message.header), position.x, position.y))
                elif kind == 'fence':
                    fences[robot] = [(p.x, p.y) for p in message.polygon.points]
                elif message.plan_id == plan_id:
                    events.append(StepEvent(
                        stamp_s=_stamp(message.header), step_id=message.step_id,
                        robot_id=message.robot_id, operation=message.operation,
                        state=int(message.state), attempt=int(message.attempt),
                        error_code=int(message.error_code), error_msg=message.error_msg))
    except (AnyReaderError, OSError, ValueError, KeyError) as e:
        raise RecordingReadError(f'cannot read recording {path}: {e}') from e
    for track in tracks.values():
        track.sort()
    events.sort(key=lambda e: e.stamp_s)
    return Recording(path=os.fspath(bag), tracks=tracks, geofences=fences, events=events,
                     message_count=count)
