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
Nav2's result codes as the bridge maps them, and the ``nav2.*`` parameters it validates.

Plain Python: the parameters come from a dict standing in for the executor's node, the same
ParameterSource protocol the bridge gets in the robot executor.
"""

import math

from brain_execution.bridges.nav2.error_codes import nav2_error
from brain_execution.bridges.nav2.settings import declare_settings
from brain_execution.core.bridge import ArrayParameter
from brain_execution.core.errors import ErrorCode
import pytest


@pytest.mark.parametrize('action, code, expected', [
    ('navigate_to_pose', 208, ErrorCode.NO_PATH),
    ('navigate_to_pose', 204, ErrorCode.NO_PATH),
    ('navigate_to_pose', 105, ErrorCode.STUCK),
    ('navigate_to_pose', 104, ErrorCode.STUCK),
    ('navigate_to_pose', 714, ErrorCode.STUCK),
    ('navigate_to_pose', 102, ErrorCode.NAVIGATION_FAILED),
    ('navigate_to_pose', 0, ErrorCode.NAVIGATION_FAILED),
    ('navigate_to_pose', 4242, ErrorCode.NAVIGATION_FAILED),
    ('follow_waypoints', 601, ErrorCode.NAVIGATION_FAILED),
    ('dock_robot', 901, 1501),
    ('dock_robot', 902, 1501),
    ('dock_robot', 903, 1502),
    ('dock_robot', 999, 1502),
    ('undock_robot', 902, 1601),
    ('undock_robot', 905, ErrorCode.STUCK),
])
def test_nav2_codes_map_to_the_projects(action, code, expected):
    error = nav2_error(action, code, 'what Nav2 said')
    assert error.code == expected
    assert 'what Nav2 said' in str(error) and action in str(error)
    assert not error.retryable


def test_the_message_names_the_code_and_says_when_nav2_said_nothing():
    error = nav2_error('navigate_to_pose', 105, '', context='waypoint 2 of 3')
    assert str(error) == ('navigate_to_pose aborted by Nav2 at waypoint 2 of 3 with error_code '
                          '105 (FollowPath FAILED_TO_MAKE_PROGRESS) (no error_msg)')
    assert 'without an error code' in str(nav2_error('navigate_to_pose', 0, ''))
    assert 'does not declare' in str(nav2_error('navigate_to_pose', 4242, ''))


class _Parameters:
    """A ParameterSource over a dict of values set by the test."""

    def __init__(self, **values):
        self.values = {k.replace('__', '.'): v for k, v in values.items()}
        self.declared = {}

    def declare(self, name, default, description, limits=None):
        assert description, name
        self.declared[name] = (default, limits)
        value = self.values.get(name, [] if isinstance(default, ArrayParameter) else default)
        if limits is not None:
            assert limits[0] <= value <= limits[1], (name, value, limits)
        return value


def test_defaults_are_nav2s_and_resolve_under_the_namespace():
    settings = declare_settings(_Parameters())
    assert settings.frame.name == 'map'
    assert settings.resolve(settings.navigate_to_pose_action) == '/navigate_to_pose'
    assert settings.resolve(settings.lifecycle_state_service) == '/bt_navigator/get_state'
    assert settings.localization_topic == 'amcl_pose' and settings.odometry_topic == 'odom'
    ns = declare_settings(_Parameters(namespace='/rover1/nav2'))
    assert ns.resolve('follow_waypoints') == '/rover1/nav2/follow_waypoints'
    home = declare_settings(_Parameters(home_pose=[2.0, 1.0, 0.5])).frame.home
    assert (home.x_m, home.y_m, home.yaw_rad) == (2.0, 1.0, 0.5)


def test_every_parameter_has_a_description_and_numbers_have_limits():
    parameters = _Parameters()
    declare_settings(parameters)
    for name, (default, limits) in parameters.declared.items():
        if isinstance(default, float):
            assert limits is not None, name


@pytest.mark.parametrize('values, named', [
    ({'namespace': 'rover1'}, 'nav2.namespace'),
    ({'namespace': '/rover1/'}, 'nav2.namespace'),
    ({'navigate_to_pose_action': '/navigate_to_pose'}, 'nav2.navigate_to_pose_action'),
    ({'follow_waypoints_action': ''}, 'nav2.follow_waypoints_action'),
    ({'readiness': 'maybe'}, 'nav2.readiness'),
    ({'odometry_qos': 'fast'}, 'nav2.odometry_qos'),
    ({'home_pose': [1.0, 2.0]}, 'nav2.home_pose'),
    ({'home_pose': [1.0, math.nan, 0.0]}, 'nav2.home_pose'),
    ({'global_frame': ''}, 'nav2.global_frame'),
])
def test_bad_settings_are_refused_naming_the_parameter(values, named):
    with pytest.raises(ValueError, match=named.replace('.', r'\.')):
        declare_settings(_Parameters(**values))
