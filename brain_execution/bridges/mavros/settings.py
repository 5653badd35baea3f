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
The MAVROS bridge's parameters (``mavros.*``): declared read-only, validated, frozen.

MAVROS runs under the robot's namespace: every topic and service is ``<mavros.prefix>/...``
relative to it, so ``/<robot>/mavros/state`` with the default prefix. ``config/px4_x500.yaml``,
``config/arducopter.yaml`` and ``config/ardurover_boat.yaml`` document every parameter.
"""

import dataclasses
import typing

from brain_execution.core.bridge import ParameterSource

from .modes import AUTOPILOTS, mode_profile, ModeProfile, VEHICLES

__all__ = ['LINK_LOSS_ACTIONS', 'MavrosSettings', 'PX4_TAKEOFFS', 'SETPOINT_FRAMES',
           'declare_settings']

#: How PX4 takes off: climbing in OFFBOARD, or NAV_TAKEOFF (cmd/takeoff, altitude AMSL).
PX4_TAKEOFFS = ('offboard', 'command')
#: Setpoints in MAVROS's local ENU frame, or as latitude/longitude with altitude above home.
SETPOINT_FRAMES = ('local', 'global')
#: What the bridge commands when the link or the pose is lost.
LINK_LOSS_ACTIONS = ('hold', 'land', 'rtl')
_SERVICES = ('capture_service', 'record_service', 'payload_service', 'send_data_topic')


@dataclasses.dataclass(frozen=True)
class MavrosSettings:
    """Frozen view of the ``mavros.*`` parameters (see :func:`declare_settings`)."""

    autopilot: str
    vehicle: str
    prefix: str
    connect_timeout_s: float
    ready_timeout_s: float
    state_timeout_s: float
    pose_timeout_s: float
    ack_timeout_s: float
    ack_grace_s: float
    mode_timeout_s: float
    setpoint_rate_hz: float
    stream_warmup_s: float
    px4_takeoff: str
    takeoff_confirm_s: float
    geoid_height_m: float
    stream_rate_hz: int
    setpoint_frame: str
    link_loss_action: str
    status_text_window_s: float
    capture_service: str
    record_service: str
    payload_service: str
    send_data_topic: str

    @property
    def modes(self) -> ModeProfile:
        """Return the mode table of the autopilot and vehicle class."""
        return mode_profile(self.autopilot, self.vehicle)

    def resolve(self, name: str) -> str:
        """Return a MAVROS name under the prefix, e.g. ``mavros/state``."""
        return f'{self.prefix}/{name}'


def _relative(value: str, parameter: str, *, may_be_empty: bool) -> str:
    if not value and may_be_empty:
        return value
    if not value or value.startswith('/') or value.endswith('/') or ' ' in value:
        raise ValueError(f'mavros.{parameter}={value!r} must be a relative ROS name without '
                         'spaces (it resolves under the robot namespace, e.g. mavros or '
                         'uas1/mavros)' + ('; empty = not used' if may_be_empty else ''))
    return value


def _choice(value: str, parameter: str, choices: typing.Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f'mavros.{parameter}={value!r} unknown; expected one of {list(choices)}')
    return value


def declare_settings(p: ParameterSource) -> MavrosSettings:
    """
    Declare every ``mavros.*`` parameter and return the validated settings.

    :raises ValueError: a value is invalid; the message names the parameter.
    """
    values = dict(  # noqa: C408 - keyword form keeps each parameter's declaration readable
        autopilot=p.declare('autopilot', 'px4', 'Autopilot firmware behind MAVROS: px4 or '
                            'ardupilot (decides modes and command sequences).'),
        vehicle=p.declare('vehicle', 'copter', 'Vehicle class: copter, rover or boat '
                          '(ArduPilot boats run Rover firmware).'),
        prefix=p.declare('prefix', 'mavros', 'Namespace of MAVROS relative to the robot '
                         'namespace: topics are <robot>/<prefix>/state, ...'),
        connect_timeout_s=p.declare('connect_timeout_s', 15.0, 'A command waits this long '
                                    'for state.connected, s (MAVROS: heartbeat seen).',
                                    (0.5, 600.0)),
        ready_timeout_s=p.declare('ready_timeout_s', 90.0, 'Arming waits this long for a '
                                  'local position and home, s (ArduCopter: ~60 s after '
                                  'boot in SITL).', (1.0, 3600.0)),
        state_timeout_s=p.declare('state_timeout_s', 3.0, 'No state message this long = link '
                                  'lost, s (MAVROS publishes state on every heartbeat, 1 Hz).',
                                  (0.5, 60.0)),
        pose_timeout_s=p.declare('pose_timeout_s', 1.0, 'No local pose this long (once one '
                                 'came) = link lost, s.', (0.1, 60.0)),
        ack_timeout_s=p.declare('ack_timeout_s', 7.0, 'A cmd/* call unanswered this long '
                                'fails, s; MAVROS answers by itself after 5 s.', (1.0, 60.0)),
        ack_grace_s=p.declare('ack_grace_s', 3.0, 'After an ACK timeout, the state is read '
                              'this long for the outcome before failing, s.', (0.0, 60.0)),
        mode_timeout_s=p.declare('mode_timeout_s', 3.0, 'A requested mode (or arming state) '
                                 'must show in state within this, s.', (0.2, 60.0)),
        setpoint_rate_hz=p.declare('setpoint_rate_hz', 20.0, 'Rate of the setpoint stream, '
                                   'Hz (PX4 OFFBOARD needs > 2 Hz; 20 Hz usual).',
                                   (2.5, 100.0)),
        stream_warmup_s=p.declare('stream_warmup_s', 1.0, 'Setpoints stream this long before '
                                  'OFFBOARD is requested, s (PX4 wants ~1 s).', (0.0, 10.0)),
        px4_takeoff=p.declare('px4_takeoff', 'offboard', 'PX4 takeoff: offboard (climb on '
                              'setpoints) or command (cmd/takeoff, AMSL altitude).'),
        takeoff_confirm_s=p.declare('takeoff_confirm_s', 10.0, 'After takeoff is accepted the '
                                    'vehicle must leave the ground within this, s.',
                                    (1.0, 120.0)),
        geoid_height_m=p.declare('geoid_height_m', 0.0, 'Geoid height at home (ellipsoid '
                                 'minus AMSL, EGM96), m: MAVROS reports home as ellipsoid '
                                 'height, PX4 NAV_TAKEOFF wants AMSL.', (-120.0, 120.0)),
        stream_rate_hz=p.declare('stream_rate_hz', 10, 'ArduPilot: data stream rate '
                                 'requested via set_stream_rate, Hz; 0 = not requested.',
                                 (0, 50)),
        setpoint_frame=p.declare('setpoint_frame', 'local', 'Setpoints in local ENU '
                                 '(setpoint_raw/local) or global (setpoint_raw/global, '
                                 'altitude above home).'),
        link_loss_action=p.declare('link_loss_action', 'hold', 'Commanded when the link or '
                                   'pose is lost: hold, land or rtl.'),
        status_text_window_s=p.declare('status_text_window_s', 5.0, 'STATUSTEXT received '
                                       'this long before a refusal is quoted as its reason, '
                                       's.', (0.0, 60.0)),
        capture_service=p.declare('capture_service', '', 'std_srvs/Trigger taking a picture '
                                  '(message = image URI); empty = capture_image unsupported.'),
        record_service=p.declare('record_service', '', 'std_srvs/SetBool starting (true) and '
                                 'stopping (false) video; message = URI; empty = unsupported.'),
        payload_service=p.declare('payload_service', '', 'std_srvs/SetBool gripping (true) '
                                  'or releasing (false); empty = pickup/dropoff unsupported.'),
        send_data_topic=p.declare('send_data_topic', '', 'std_msgs/UInt8MultiArray topic of a '
                                  "radio link's driver (reliable) that send_data publishes to; "
                                  'empty = send_data unsupported.'),
    )
    _choice(values['autopilot'], 'autopilot', AUTOPILOTS)
    _choice(values['vehicle'], 'vehicle', VEHICLES)
    _choice(values['px4_takeoff'], 'px4_takeoff', PX4_TAKEOFFS)
    _choice(values['setpoint_frame'], 'setpoint_frame', SETPOINT_FRAMES)
    _choice(values['link_loss_action'], 'link_loss_action', LINK_LOSS_ACTIONS)
    _relative(values['prefix'], 'prefix', may_be_empty=False)
    for parameter in _SERVICES:
        _relative(values[parameter], parameter, may_be_empty=True)
    values['stream_rate_hz'] = int(values['stream_rate_hz'])
    return MavrosSettings(**values)
