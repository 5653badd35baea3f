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
The installed mavros_msgs and geographic_msgs, stand-in or real, have what MAVROS code uses.

The expected layouts and constants are upstream's (mavlink/mavros ``mavros_msgs`` and
ros-geographic-info ``geographic_msgs``, ros2 branches), read from the generated classes with
rosidl's ``get_fields_and_field_types()``. Nothing here is specific to the stand-ins, so the
same test runs unchanged against the real packages: the real CommandCode carries the whole
MAV_CMD enum, of which the numbers below are a subset.
"""

from geographic_msgs.msg import GeoPoint, GeoPointStamped, GeoPose, GeoPoseStamped
from mavros_msgs.msg import (
    Altitude, CommandCode, ExtendedState, GlobalPositionTarget, HomePosition, PositionTarget,
    State, StatusText, Waypoint, WaypointReached)
from mavros_msgs.srv import (
    CommandBool, CommandHome, CommandLong, CommandTOL, MessageInterval, SetMode, StreamRate,
    WaypointClear, WaypointPush, WaypointSetCurrent)
import pytest

_HEADER = 'std_msgs/Header'
_VECTOR = 'geometry_msgs/Vector3'
_RESULT = {'success': 'boolean', 'result': 'uint8'}
_TYPE_MASK = {
    'IGNORE_VX': 8, 'IGNORE_VY': 16, 'IGNORE_VZ': 32, 'IGNORE_AFX': 64, 'IGNORE_AFY': 128,
    'IGNORE_AFZ': 256, 'FORCE': 512, 'IGNORE_YAW': 1024, 'IGNORE_YAW_RATE': 2048}

LAYOUTS = {
    State: {'header': _HEADER, 'connected': 'boolean', 'armed': 'boolean', 'guided': 'boolean',
            'manual_input': 'boolean', 'mode': 'string', 'system_status': 'uint8'},
    ExtendedState: {'header': _HEADER, 'vtol_state': 'uint8', 'landed_state': 'uint8'},
    HomePosition: {'header': _HEADER, 'geo': 'geographic_msgs/GeoPoint',
                   'position': 'geometry_msgs/Point', 'orientation': 'geometry_msgs/Quaternion',
                   'approach': _VECTOR},
    Altitude: {'header': _HEADER, **dict.fromkeys(
        ('monotonic', 'amsl', 'local', 'relative', 'terrain', 'bottom_clearance'), 'float')},
    StatusText: {'header': _HEADER, 'severity': 'uint8', 'text': 'string'},
    PositionTarget: {'header': _HEADER, 'coordinate_frame': 'uint8', 'type_mask': 'uint16',
                     'position': 'geometry_msgs/Point', 'velocity': _VECTOR,
                     'acceleration_or_force': _VECTOR, 'yaw': 'float', 'yaw_rate': 'float'},
    GlobalPositionTarget: {'header': _HEADER, 'coordinate_frame': 'uint8',
                           'type_mask': 'uint16', 'latitude': 'double', 'longitude': 'double',
                           'altitude': 'float', 'velocity': _VECTOR,
                           'acceleration_or_force': _VECTOR, 'yaw': 'float',
                           'yaw_rate': 'float'},
    Waypoint: {'frame': 'uint8', 'command': 'uint16', 'is_current': 'boolean',
               'autocontinue': 'boolean', 'param1': 'float', 'param2': 'float',
               'param3': 'float', 'param4': 'float', 'x_lat': 'double', 'y_long': 'double',
               'z_alt': 'double'},
    WaypointReached: {'header': _HEADER, 'wp_seq': 'uint16'},
    SetMode.Request: {'base_mode': 'uint8', 'custom_mode': 'string'},
    SetMode.Response: {'mode_sent': 'boolean'},
    CommandBool.Request: {'value': 'boolean'},
    CommandBool.Response: _RESULT,
    # float32 latitude and longitude: about 1 m of resolution, upstream's choice.
    CommandTOL.Request: {'min_pitch': 'float', 'yaw': 'float', 'latitude': 'float',
                         'longitude': 'float', 'altitude': 'float'},
    CommandTOL.Response: _RESULT,
    CommandLong.Request: {'broadcast': 'boolean', 'command': 'uint16', 'confirmation': 'uint8',
                          **{f'param{i}': 'float' for i in range(1, 8)}},
    CommandLong.Response: _RESULT,
    CommandHome.Request: {'current_gps': 'boolean', 'yaw': 'float', 'latitude': 'float',
                          'longitude': 'float', 'altitude': 'float'},
    CommandHome.Response: _RESULT,
    StreamRate.Request: {'stream_id': 'uint8', 'message_rate': 'uint16', 'on_off': 'boolean'},
    StreamRate.Response: {},
    MessageInterval.Request: {'message_id': 'uint32', 'message_rate': 'float'},
    MessageInterval.Response: {'success': 'boolean'},
    WaypointPush.Request: {'start_index': 'uint16',
                           'waypoints': 'sequence<mavros_msgs/Waypoint>'},
    WaypointPush.Response: {'success': 'boolean', 'wp_transfered': 'uint32'},
    WaypointClear.Request: {},
    WaypointClear.Response: {'success': 'boolean'},
    WaypointSetCurrent.Request: {'wp_seq': 'uint16'},
    WaypointSetCurrent.Response: {'success': 'boolean'},
    GeoPoint: {'latitude': 'double', 'longitude': 'double', 'altitude': 'double'},
    GeoPointStamped: {'header': _HEADER, 'position': 'geographic_msgs/GeoPoint'},
    GeoPose: {'position': 'geographic_msgs/GeoPoint', 'orientation': 'geometry_msgs/Quaternion'},
    GeoPoseStamped: {'header': _HEADER, 'pose': 'geographic_msgs/GeoPose'},
}

_PX4_MODES = {
    'MANUAL': 'MANUAL', 'ACRO': 'ACRO', 'ALTITUDE': 'ALTCTL', 'POSITION': 'POSCTL',
    'OFFBOARD': 'OFFBOARD', 'STABILIZED': 'STABILIZED', 'RATTITUDE': 'RATTITUDE',
    'MISSION': 'AUTO.MISSION', 'LOITER': 'AUTO.LOITER', 'RTL': 'AUTO.RTL', 'LAND': 'AUTO.LAND',
    'RTGS': 'AUTO.RTGS', 'READY': 'AUTO.READY', 'TAKEOFF': 'AUTO.TAKEOFF'}
_COPTER_MODES = (
    'STABILIZE ACRO ALT_HOLD AUTO GUIDED LOITER RTL CIRCLE POSITION LAND OF_LOITER DRIFT SPORT '
    'FLIP AUTOTUNE POSHOLD BRAKE THROW AVOID_ADSB GUIDED_NOGPS').split()
_ROVER_MODES = 'MANUAL LEARNING STEERING HOLD AUTO RTL GUIDED INITIALISING'.split()

CONSTANTS = {
    State: {**{f'MODE_PX4_{name}': mode for name, mode in _PX4_MODES.items()},
            **{f'MODE_APM_COPTER_{mode}': mode for mode in _COPTER_MODES},
            **{f'MODE_APM_ROVER_{mode}': mode for mode in _ROVER_MODES}},
    ExtendedState: {'LANDED_STATE_UNDEFINED': 0, 'LANDED_STATE_ON_GROUND': 1,
                    'LANDED_STATE_IN_AIR': 2, 'LANDED_STATE_TAKEOFF': 3,
                    'LANDED_STATE_LANDING': 4, 'VTOL_STATE_UNDEFINED': 0,
                    'VTOL_STATE_TRANSITION_TO_FW': 1, 'VTOL_STATE_TRANSITION_TO_MC': 2,
                    'VTOL_STATE_MC': 3, 'VTOL_STATE_FW': 4},
    StatusText: {'EMERGENCY': 0, 'ALERT': 1, 'CRITICAL': 2, 'ERROR': 3, 'WARNING': 4,
                 'NOTICE': 5, 'INFO': 6, 'DEBUG': 7},
    PositionTarget: {'FRAME_LOCAL_NED': 1, 'FRAME_LOCAL_OFFSET_NED': 7, 'FRAME_BODY_NED': 8,
                     'FRAME_BODY_OFFSET_NED': 9, 'IGNORE_PX': 1, 'IGNORE_PY': 2,
                     'IGNORE_PZ': 4, **_TYPE_MASK},
    GlobalPositionTarget: {'FRAME_GLOBAL_INT': 5, 'FRAME_GLOBAL_REL_ALT': 6,
                           'FRAME_GLOBAL_TERRAIN_ALT': 11, 'IGNORE_LATITUDE': 1,
                           'IGNORE_LONGITUDE': 2, 'IGNORE_ALTITUDE': 4, **_TYPE_MASK},
    CommandCode: {'NAV_WAYPOINT': 16, 'NAV_LOITER_UNLIM': 17, 'NAV_RETURN_TO_LAUNCH': 20,
                  'NAV_LAND': 21, 'NAV_TAKEOFF': 22, 'DO_SET_MODE': 176,
                  'DO_CHANGE_SPEED': 178, 'DO_SET_HOME': 179, 'DO_REPOSITION': 192,
                  'COMPONENT_ARM_DISARM': 400, 'SET_MESSAGE_INTERVAL': 511,
                  'REQUEST_MESSAGE': 512},
    Waypoint: {'FRAME_GLOBAL': 0, 'FRAME_LOCAL_NED': 1, 'FRAME_MISSION': 2,
               'FRAME_GLOBAL_REL_ALT': 3, 'FRAME_LOCAL_ENU': 4, 'FRAME_GLOBAL_INT': 5,
               'FRAME_GLOBAL_RELATIVE_ALT_INT': 6, 'FRAME_GLOBAL_TERRAIN_ALT': 10},
    SetMode.Request: {'MAV_MODE_PREFLIGHT': 0, 'MAV_MODE_GUIDED_ARMED': 216,
                      'MAV_MODE_AUTO_ARMED': 220},
    StreamRate.Request: {'STREAM_ALL': 0, 'STREAM_RAW_SENSORS': 1,
                         'STREAM_EXTENDED_STATUS': 2, 'STREAM_RC_CHANNELS': 3,
                         'STREAM_RAW_CONTROLLER': 4, 'STREAM_POSITION': 6, 'STREAM_EXTRA1': 10,
                         'STREAM_EXTRA2': 11, 'STREAM_EXTRA3': 12},
}


def _name(message_type) -> str:
    return f'{message_type.__module__}.{message_type.__qualname__}'


@pytest.mark.parametrize('message_type', LAYOUTS, ids=_name)
def test_fields_types_and_order_are_upstreams(message_type):
    # dicts compare without order; the field order is part of the layout, so compare lists.
    assert list(message_type.get_fields_and_field_types().items()) == list(
        LAYOUTS[message_type].items())


@pytest.mark.parametrize('message_type', CONSTANTS, ids=_name)
def test_constants_are_upstreams(message_type):
    for name, value in CONSTANTS[message_type].items():
        assert getattr(message_type, name) == value, name


def test_defaults_code_relies_on():
    # Unset floats are 0.0, not NaN: a PX4 takeoff needs NaN lat/lon set explicitly.
    tol = CommandTOL.Request()
    assert (tol.latitude, tol.longitude, tol.altitude) == (0.0, 0.0, 0.0)
    assert State().mode == '' and not State().connected
    assert ExtendedState().landed_state == ExtendedState.LANDED_STATE_UNDEFINED
    assert GeoPoint().altitude == 0.0
