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
The bridge's side of MAVROS: service clients, the one-at-a-time ``cmd/*`` queue, setpoints.

Facts it follows (MAVROS ``ros2`` branch, and PX4 and ArduPilot SITL through it):

* ``set_mode`` answers at once; the ``cmd/*`` services are answered one at a time, each
  waiting up to 5 s for COMMAND_ACK. A second call would wait behind the first, so
  :class:`CommandQueue` sends the next only once the previous one was answered (or timed out
  here after ``mavros.ack_timeout_s``).
* Setpoints go out best effort (MAVROS subscribes to them with sensor-data QoS), in the
  local frame (``setpoint_raw/local``, PositionTarget; MAVROS turns ENU into NED) or as
  WGS-84 with altitude above home (``setpoint_raw/global``, FRAME_GLOBAL_REL_ALT), per
  ``mavros.setpoint_frame``.
* ArduPilot sends no position until stream rates are requested (``set_stream_rate``); the
  request is repeated while no pose comes.

Every call is made from the bridge's own callback group (its timer), which also receives the
responses, so rclpy's clients are never used from two threads at once. Setpoints are
published from the stream's own thread (:mod:`.stream_lane`), under the bridge's lock.
"""

import collections
import math
import typing

from brain_execution.core.errors import CommunicationError, ExecutionError
from brain_execution.core.geo import GeoPoint, local_to_geographic
from geographic_msgs.msg import GeoPoint as GeoPointMsg  # noqa: F401 - HomePosition needs it
from mavros_msgs.msg import GlobalPositionTarget, PositionTarget
from mavros_msgs.srv import CommandBool, CommandTOL, SetMode, StreamRate
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node

from .fcu_state import FcuState, Pose
from .settings import MavrosSettings
from .telemetry import SENSOR_QOS

__all__ = ['CommandQueue', 'MavrosLink', 'ServiceCall']

# Position only: velocity, acceleration and yaw rate ignored (PositionTarget and
# GlobalPositionTarget share these bits).
_POSITION_ONLY = (PositionTarget.IGNORE_VX | PositionTarget.IGNORE_VY | PositionTarget.IGNORE_VZ
                  | PositionTarget.IGNORE_AFX | PositionTarget.IGNORE_AFY
                  | PositionTarget.IGNORE_AFZ | PositionTarget.IGNORE_YAW_RATE)
# ArduPilot is asked for stream rates again this often while no pose comes, s.
_STREAM_RATE_RETRY_S = 5.0


class ServiceCall:
    """A service call in flight (the :class:`~.procedure.Call` of the sequences)."""

    def __init__(self, what: str):
        self.what = what
        self._future = None
        self.error: typing.Optional[ExecutionError] = None
        self._failed = False

    def start(self, client, request) -> None:
        """Send the request, or fail at once when MAVROS does not serve it."""
        if not client.service_is_ready():
            self.fail(CommunicationError(f'{self.what}: MAVROS service {client.srv_name} is '
                                         'not available (is mavros running under this '
                                         'robot namespace and mavros.prefix?)'))
            return
        self._future = client.call_async(request)

    def fail(self, error: ExecutionError) -> None:
        """Fail the call without an answer."""
        self.error, self._failed = error, True

    def started(self) -> bool:
        """Return whether the request went out (or failed)."""
        return self._future is not None or self._failed

    def done(self) -> bool:
        """Return whether the call was answered or failed."""
        if self._failed:
            return True
        if self._future is None or not self._future.done():
            return False
        if self._future.exception() is not None and self.error is None:
            self.error = CommunicationError(f'{self.what}: {self._future.exception()}')
        return True

    @property
    def response(self):
        """Return the response, or None."""
        if self._future is None or not self._future.done() or self._future.exception():
            return None
        return self._future.result()


class CommandQueue:
    """
    The ``cmd/*`` calls, one in flight at a time, in order.

    :param timeout_s: a call unanswered this long frees the queue (the sequence that made it
        fails with ACK_TIMEOUT on its own).
    """

    def __init__(self, timeout_s: float):
        self._timeout_s = timeout_s
        self._waiting = collections.deque()
        self._current: typing.Optional[ServiceCall] = None
        self._current_since = 0.0

    def submit(self, call: ServiceCall, client, request) -> ServiceCall:
        """Queue a call; it is sent by :meth:`pump` once the previous one ended."""
        self._waiting.append((call, client, request))
        return call

    def pump(self, now_s: float) -> None:
        """Send the next call when nothing is in flight; call on every timer period."""
        if self._current is not None:
            if not self._current.done() and now_s - self._current_since < self._timeout_s:
                return
            self._current = None
        while self._waiting:
            call, client, request = self._waiting.popleft()
            call.start(client, request)
            if not call.done():
                self._current, self._current_since = call, now_s
                return


class MavrosLink:
    """
    Clients and publishers under ``mavros.prefix``; the ROS half of the sequences' Port.

    Global setpoints are placed from MAVROS's home; before home came, local ones go out.
    """

    def __init__(self, node: Node, callback_group: CallbackGroup, settings: MavrosSettings):
        self._node = node
        self._s = settings
        r = settings.resolve
        group = {'callback_group': callback_group}
        self._set_mode = node.create_client(SetMode, r('set_mode'), **group)
        self._commands = {
            'arming': (node.create_client(CommandBool, r('cmd/arming'), **group),
                       CommandBool.Request),
            'takeoff': (node.create_client(CommandTOL, r('cmd/takeoff'), **group),
                        CommandTOL.Request),
            'land': (node.create_client(CommandTOL, r('cmd/land'), **group),
                     CommandTOL.Request),
        }
        self._stream_rate = node.create_client(StreamRate, r('set_stream_rate'), **group)
        self._queue = CommandQueue(settings.ack_timeout_s)
        self._local = node.create_publisher(PositionTarget, r('setpoint_raw/local'), SENSOR_QOS)
        self._global = node.create_publisher(GlobalPositionTarget, r('setpoint_raw/global'),
                                             SENSOR_QOS)
        self._rate_asked_s: typing.Optional[float] = None
        self._clients = [self._set_mode, self._stream_rate,
                         *(client for client, _ in self._commands.values())]

    def set_mode(self, mode: str) -> ServiceCall:
        """Call set_mode with a custom mode string (answered at once)."""
        call = ServiceCall(f'set_mode {mode}')
        call.start(self._set_mode, SetMode.Request(base_mode=0, custom_mode=mode))
        return call

    def command(self, name: str, **fields) -> ServiceCall:
        """Queue ``cmd/<name>`` behind the calls already in flight."""
        client, request_type = self._commands[name]
        request = request_type(**{k: (float(v) if isinstance(v, float) else v)
                                  for k, v in fields.items()})
        return self._queue.submit(ServiceCall(f'cmd/{name}'), client, request)

    def pump(self, state: FcuState, now_s: float) -> None:
        """Send queued commands; ask ArduPilot for stream rates while no pose comes."""
        self._queue.pump(now_s)
        s = self._s
        if s.autopilot != 'ardupilot' or not s.stream_rate_hz or not state.connected:
            return
        if state.pose_s is not None and now_s - state.pose_s < 2.0:
            return
        if self._rate_asked_s is not None and now_s - self._rate_asked_s < _STREAM_RATE_RETRY_S:
            return
        self._rate_asked_s = now_s
        if self._stream_rate.service_is_ready():
            self._stream_rate.call_async(StreamRate.Request(
                stream_id=StreamRate.Request.STREAM_ALL, message_rate=s.stream_rate_hz,
                on_off=True))
        else:
            self._node.get_logger().warning(
                f'ArduPilot streams no position until asked, and {self._stream_rate.srv_name} '
                'is not available')

    def publish(self, setpoint: Pose, state: FcuState) -> None:
        """Send one setpoint (MAVROS local frame) in ``mavros.setpoint_frame``."""
        stamp = self._node.get_clock().now().to_msg()
        yaw = setpoint.yaw_rad if math.isfinite(setpoint.yaw_rad) else 0.0
        if self._s.setpoint_frame == 'global' and state.home is not None:
            home = state.home
            h = home.position
            geo = local_to_geographic(
                GeoPoint(home.latitude_deg, home.longitude_deg, 0.0),
                setpoint.x_m - h.x_m, setpoint.y_m - h.y_m)
            msg = GlobalPositionTarget(
                coordinate_frame=GlobalPositionTarget.FRAME_GLOBAL_REL_ALT,
                type_mask=_POSITION_ONLY, latitude=geo.latitude_deg,
                longitude=geo.longitude_deg, altitude=float(setpoint.z_m - h.z_m),
                yaw=float(yaw))
            msg.header.stamp = stamp
            self._global.publish(msg)
            return
        msg = PositionTarget(coordinate_frame=PositionTarget.FRAME_LOCAL_NED,
                             type_mask=_POSITION_ONLY, yaw=float(yaw))
        msg.header.stamp = stamp
        msg.header.frame_id = 'map'
        msg.position.x, msg.position.y, msg.position.z = (
            float(setpoint.x_m), float(setpoint.y_m), float(setpoint.z_m))
        self._local.publish(msg)

    def destroy(self) -> None:
        """Release the clients and publishers."""
        for client in self._clients:
            self._node.destroy_client(client)
        self._node.destroy_publisher(self._local)
        self._node.destroy_publisher(self._global)
