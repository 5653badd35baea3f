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
Cameras, payload and a data link: what MAVROS itself cannot do, through configured names.

MAVROS has no camera, gripper or data-link interface a bridge can rely on across autopilots,
so these operations are UNSUPPORTED, with the reason, unless a service (or topic) is named:

* ``mavros.capture_service`` (std_srvs/Trigger): one picture; ``message`` is the image URI;
* ``mavros.record_service`` (std_srvs/SetBool): start (true) and stop (false) video;
  ``message`` of the stop is the video URI;
* ``mavros.payload_service`` (std_srvs/SetBool): grip (true) or release (false); a gripper
  cannot tell what it holds, so the payload id of the last grip is what the robot carries
  (``carried``) until a release;
* ``mavros.send_data_topic`` (std_msgs/UInt8MultiArray, reliable): the bytes, for a radio
  link's driver.

A service that answers ``success=false`` refuses the command (PLATFORM_REJECTED) with its
message.
"""

import typing

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import PlatformRejectedError, UnsupportedOperationError
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from std_msgs.msg import UInt8MultiArray
from std_srvs.srv import SetBool, Trigger

from .link import ServiceCall
from .settings import MavrosSettings
from .steps import call

__all__ = ['Peripherals']

_NO_CAMERA = ('MAVROS has no camera interface here; set mavros.capture_service '
              '(std_srvs/Trigger) to a camera driver')
_NO_VIDEO = ('MAVROS has no video interface here; set mavros.record_service '
             '(std_srvs/SetBool) to a camera driver')
_NO_PAYLOAD = ('MAVROS has no gripper interface here; set mavros.payload_service '
               '(std_srvs/SetBool) to a gripper driver')
_NO_LINK = ('MAVROS has no data link for arbitrary bytes; set mavros.send_data_topic '
            '(std_msgs/UInt8MultiArray) to a radio driver')


class Peripherals:
    """The configured peripheral services; each command is a sequence the bridge runs."""

    def __init__(self, node: Node, callback_group: CallbackGroup, settings: MavrosSettings):
        s = settings
        group = {'callback_group': callback_group}
        self._capture = (node.create_client(Trigger, s.capture_service, **group)
                         if s.capture_service else None)
        self._record = (node.create_client(SetBool, s.record_service, **group)
                        if s.record_service else None)
        self._payload = (node.create_client(SetBool, s.payload_service, **group)
                         if s.payload_service else None)
        self._data = (node.create_publisher(UInt8MultiArray, s.send_data_topic,
                                            QoSProfile(depth=50))
                      if s.send_data_topic else None)
        self._carried = ''

    @staticmethod
    def missing(settings: MavrosSettings) -> typing.Dict[str, str]:
        """Return the operations no name is configured for, with the reason."""
        missing = {}
        if not settings.capture_service:
            missing['capture_image'] = _NO_CAMERA
            missing['scan_area'] = 'scan_area captures images along its sweep: ' + _NO_CAMERA
        if not settings.record_service:
            missing['record_video'] = _NO_VIDEO
        if not settings.payload_service:
            missing['pickup'] = missing['dropoff'] = _NO_PAYLOAD
        if not settings.send_data_topic:
            missing['send_data'] = _NO_LINK
        return missing

    def capture(self, port) -> typing.Union[CommandHandle, typing.Generator]:
        """Return the sequence taking a picture, or a refused handle."""
        if self._capture is None:
            return CommandHandle.failed(UnsupportedOperationError(_NO_CAMERA), 'capture_image')
        return self._ask(port, self._capture, Trigger.Request(), 'capture_image',
                         lambda r: r.message)

    def record(self, port, start: bool):
        """Return the sequence starting or stopping a video, or a refused handle."""
        if self._record is None:
            return CommandHandle.failed(UnsupportedOperationError(_NO_VIDEO), 'record_video')
        return self._ask(port, self._record, SetBool.Request(data=start), 'record_video',
                         lambda r: r.message if not start else None)

    @property
    def carried(self) -> str:
        """Return the payload id gripped last and not released since ('' = none)."""
        return self._carried

    def payload(self, port, grip: bool, payload_id: str = ''):
        """
        Return the sequence gripping (payload_id) or releasing, or a refused handle.

        A grip's value is the mass (NaN: a gripper does not weigh), a release's the payload id
        it let go of; ``carried`` changes only once the gripper said yes.
        """
        name = 'pickup' if grip else 'dropoff'
        if self._payload is None:
            return CommandHandle.failed(UnsupportedOperationError(_NO_PAYLOAD), name)

        def done(_response):
            released, self._carried = self._carried, payload_id if grip else ''
            return float('nan') if grip else released
        return self._ask(port, self._payload, SetBool.Request(data=grip), name, done)

    def send(self, data: bytes) -> CommandHandle:
        """Publish the bytes at once; the handle's value is their count."""
        if self._data is None:
            return CommandHandle.failed(UnsupportedOperationError(_NO_LINK), 'send_data')
        self._data.publish(UInt8MultiArray(data=list(data)))
        return CommandHandle.succeeded(len(data), 'send_data')

    @staticmethod
    def _ask(port, client, request, name: str, value: typing.Callable):
        pending = ServiceCall(f'{name} ({client.srv_name})')
        pending.start(client, request)
        response = yield from call(port, pending, name)
        if not response.success:
            raise PlatformRejectedError(f'{name}: {client.srv_name} refused: '
                                        f'{response.message or "no message"}')
        return value(response)
