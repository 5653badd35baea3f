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
The installed nav2_msgs, stand-in or real, has what the Nav2 bridge and sim_nav2 use.

The expected layouts and constants are Nav2 Jazzy's (nav2_msgs/action/*.action and msg/ on
the jazzy branch), read from the generated classes with rosidl's
``get_fields_and_field_types()``. Against the real package, the codes the bridge maps from
servers the stand-in leaves out (ComputePathToPose, FollowPath, ...) are checked too.
"""

from brain_execution.bridges.nav2.error_codes import DOCK_CODES, NAVIGATION_CODES, UNDOCK_CODES
import nav2_msgs.action
from nav2_msgs.action import DockRobot, FollowWaypoints, NavigateToPose, UndockRobot
from nav2_msgs.msg import MissedWaypoint, SpeedLimit
import pytest

_POSE = 'geometry_msgs/PoseStamped'
_DURATION = 'builtin_interfaces/Duration'

LAYOUTS = {
    NavigateToPose.Goal: {'pose': _POSE, 'behavior_tree': 'string'},
    NavigateToPose.Result: {'error_code': 'uint16', 'error_msg': 'string'},
    NavigateToPose.Feedback: {'current_pose': _POSE, 'navigation_time': _DURATION,
                              'estimated_time_remaining': _DURATION,
                              'number_of_recoveries': 'int16', 'distance_remaining': 'float'},
    FollowWaypoints.Goal: {'number_of_loops': 'uint32', 'goal_index': 'uint32',
                           'poses': f'sequence<{_POSE}>'},
    FollowWaypoints.Result: {'missed_waypoints': 'sequence<nav2_msgs/MissedWaypoint>',
                             'error_code': 'uint16', 'error_msg': 'string'},
    FollowWaypoints.Feedback: {'current_waypoint': 'uint32'},
    DockRobot.Goal: {'use_dock_id': 'boolean', 'dock_id': 'string', 'dock_pose': _POSE,
                     'dock_type': 'string', 'max_staging_time': 'float',
                     'navigate_to_staging_pose': 'boolean'},
    DockRobot.Result: {'success': 'boolean', 'error_code': 'uint16', 'num_retries': 'uint16',
                       'error_msg': 'string'},
    DockRobot.Feedback: {'state': 'uint16', 'docking_time': _DURATION, 'num_retries': 'uint16'},
    UndockRobot.Goal: {'dock_type': 'string', 'max_undocking_time': 'float'},
    UndockRobot.Result: {'success': 'boolean', 'error_code': 'uint16', 'error_msg': 'string'},
    UndockRobot.Feedback: {},
    MissedWaypoint: {'index': 'uint32', 'goal': _POSE, 'error_code': 'uint16'},
    SpeedLimit: {'header': 'std_msgs/Header', 'percentage': 'boolean', 'speed_limit': 'double'},
}

CONSTANTS = {
    NavigateToPose.Result: {'NONE': 0},
    FollowWaypoints.Result: {'NONE': 0, 'UNKNOWN': 600, 'TASK_EXECUTOR_FAILED': 601},
    DockRobot.Result: {'NONE': 0, 'DOCK_NOT_IN_DB': 901, 'DOCK_NOT_VALID': 902,
                       'FAILED_TO_STAGE': 903, 'FAILED_TO_DETECT_DOCK': 904,
                       'FAILED_TO_CONTROL': 905, 'FAILED_TO_CHARGE': 906, 'UNKNOWN': 999},
    DockRobot.Feedback: {'NONE': 0, 'NAV_TO_STAGING_POSE': 1, 'INITIAL_PERCEPTION': 2,
                         'CONTROLLING': 3, 'WAIT_FOR_CHARGE': 4, 'RETRY': 5},
    UndockRobot.Result: {'NONE': 0, 'DOCK_NOT_VALID': 902, 'FAILED_TO_CONTROL': 905,
                         'UNKNOWN': 999},
}


def _name(message_type) -> str:
    return f'{message_type.__module__}.{message_type.__qualname__}'


@pytest.mark.parametrize('message_type', LAYOUTS, ids=_name)
def test_fields_and_types_are_jazzys(message_type):
    assert message_type.get_fields_and_field_types() == LAYOUTS[message_type]


@pytest.mark.parametrize('message_type', CONSTANTS, ids=_name)
def test_constants_are_jazzys(message_type):
    for name, value in CONSTANTS[message_type].items():
        assert getattr(message_type, name) == value, name


def test_defaults_the_bridge_relies_on():
    goal = DockRobot.Goal()
    assert goal.use_dock_id and goal.navigate_to_staging_pose
    assert goal.max_staging_time == pytest.approx(1000.0)
    assert UndockRobot.Goal().max_undocking_time == pytest.approx(30.0)
    assert FollowWaypoints.Goal().goal_index == 0
    assert DockRobot.Result().success and UndockRobot.Result().success


def test_the_bridges_docking_codes_are_the_packages():
    for result, table in ((DockRobot.Result, DOCK_CODES), (UndockRobot.Result, UNDOCK_CODES)):
        for code, entry in table.items():
            assert getattr(result, entry.name) == code, (result, entry.name)


def test_the_bridges_navigation_codes_are_the_packages():
    """Against the real nav2_msgs only: the stand-in leaves these servers' actions out."""
    declared = {entry.declared_by for entry in NAVIGATION_CODES.values()}
    missing = sorted(name for name in declared if not hasattr(nav2_msgs.action, name))
    if set(missing) >= declared - {'FollowWaypoints'}:
        pytest.skip(f'stand-in nav2_msgs: no {", ".join(missing)}')
    assert not missing, f'the real nav2_msgs lacks {missing}'
    for code, entry in NAVIGATION_CODES.items():
        assert getattr(getattr(nav2_msgs.action, entry.declared_by).Result, entry.name) == code
