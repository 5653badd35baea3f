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
What an NMEA 0183 autopilot does not have, and the reason the executor gives for each.

The link carries navigation sentences and nothing else: no throttle (so no station keeping
or docking), no camera, no payload mechanism, no data channel. :class:`SteeringOnly` answers
those commands with UnsupportedOperationError and lists the operations in
:meth:`~SteeringOnly.unsupported_operations`, so the executor refuses them at intake with
UNSUPPORTED and the reason.
"""

import typing

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import UnsupportedOperationError

__all__ = ['SteeringOnly', 'UNSUPPORTED']

#: Operations an NMEA 0183 autopilot cannot do, with the reason the executor answers.
UNSUPPORTED = {
    'station_keep': 'an NMEA 0183 autopilot only steers; without throttle or thrusters it '
                    'cannot hold a position (a boat on ArduPilot Rover, through the mavros '
                    'bridge, can LOITER)',
    'scan_area': 'it takes images and an NMEA 0183 link has no camera; follow_waypoints '
                 'sails the same sweep',
    'capture_image': 'an NMEA 0183 link has no camera',
    'record_video': 'an NMEA 0183 link has no camera',
    'pickup': 'an NMEA 0183 link has no payload mechanism',
    'dropoff': 'an NMEA 0183 link has no payload mechanism',
    'dock': 'docking needs slow position control and an NMEA 0183 autopilot only steers',
    'undock': 'undocking needs slow position control and an NMEA 0183 autopilot only steers',
    'send_data': 'an NMEA 0183 link carries navigation sentences, not data',
}


class SteeringOnly:
    """The PlatformBridge commands a steering-only autopilot refuses (a mixin)."""

    def unsupported_operations(self) -> typing.Mapping[str, str]:
        """Return what an NMEA 0183 autopilot cannot do (see :data:`UNSUPPORTED`)."""
        return dict(UNSUPPORTED)

    def _unsupported(self, name: str, reason: str) -> CommandHandle:
        return CommandHandle.failed(UnsupportedOperationError(
            f'{name} is not possible on the nmea bridge: {reason}'), name)

    def arm(self) -> CommandHandle:
        return self._unsupported('arm', 'an NMEA 0183 autopilot has no motors to arm')

    def disarm(self) -> CommandHandle:
        return self._unsupported('disarm', 'an NMEA 0183 autopilot has no motors to disarm')

    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> CommandHandle:
        return self._unsupported('takeoff', 'a boat does not fly')

    def land(self, *, descent_speed_mps: float) -> CommandHandle:
        return self._unsupported('land', 'a boat does not fly')

    def emergency_land(self) -> CommandHandle:
        return self._unsupported('emergency_land', 'a boat does not fly')

    def capture_image(self, *, camera_id: str) -> CommandHandle:
        return self._unsupported('capture_image', UNSUPPORTED['capture_image'])

    def start_recording(self, *, camera_id: str) -> CommandHandle:
        return self._unsupported('start_recording', UNSUPPORTED['record_video'])

    def stop_recording(self, *, camera_id: str) -> CommandHandle:
        return self._unsupported('stop_recording', UNSUPPORTED['record_video'])

    def attach_payload(self, *, payload_id: str, expected_mass_kg: float) -> CommandHandle:
        return self._unsupported('attach_payload', UNSUPPORTED['pickup'])

    def release_payload(self) -> CommandHandle:
        return self._unsupported('release_payload', UNSUPPORTED['dropoff'])

    def dock(self, *, dock_id: str) -> CommandHandle:
        return self._unsupported('dock', UNSUPPORTED['dock'])

    def undock(self, *, distance_m: float) -> CommandHandle:
        return self._unsupported('undock', UNSUPPORTED['undock'])

    def send_data(self, *, destination: str, content_type: str, data: bytes) -> CommandHandle:
        return self._unsupported('send_data', UNSUPPORTED['send_data'])
