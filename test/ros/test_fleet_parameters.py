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
The coordinator's fleet parameters: both forms, mixed, and every refusal naming the robot.

:func:`parse_fleet` is checked on its own; :func:`declare_fleet` on a node (its own Context,
not spun) given the overrides a params file would give it.
"""

from brain_execution.core.state import Platform
from brain_execution.ros.fleet_parameters import declare_fleet, FleetRobot, parse_fleet
import pytest
import rclpy
from rclpy.context import Context
from rclpy.parameter import Parameter

from .conftest import DOMAIN_ID


def _per_robot(values):
    return lambda robot_id: (values.get(f'robots.{robot_id}.platform', ''),
                             values.get(f'robots.{robot_id}.namespace', ''))


def test_both_forms_mix_in_order_each_robot_in_its_namespace():
    fleet = parse_fleet(['drone1:drone', 'rover1:ground'], ['boat2', 'drone2'], _per_robot({
        'robots.boat2.platform': 'surface',
        'robots.drone2.platform': 'drone', 'robots.drone2.namespace': '/site_a/drone2'}))
    assert list(fleet.values()) == [
        FleetRobot('drone1', Platform.DRONE, '/drone1'),
        FleetRobot('rover1', Platform.GROUND, '/rover1'),
        FleetRobot('boat2', Platform.SURFACE, '/boat2'),  # empty namespace = /<id>
        FleetRobot('drone2', Platform.DRONE, '/site_a/drone2')]


def test_per_robot_values_are_read_for_listed_ids_only_once_they_are_checked():
    asked = []

    def per_robot(robot_id):
        asked.append(robot_id)
        return 'drone', ''

    with pytest.raises(ValueError, match='^robot_ids: robot a is listed twice'):
        parse_fleet([], ['a', 'a'], per_robot)
    assert asked == []


@pytest.mark.parametrize('robots, robot_ids, values, message', [
    (['drone1:drone'], ['drone1'], {'robots.drone1.platform': 'drone'},
     r'^robot_ids: robot drone1 is also in robots \("drone1:drone"\); give each robot in '
     'one form only'),
    (['drone1:drone', 'drone1:ground'], [], {}, '^robots: robot drone1 is listed twice'),
    (['drone1'], [], {}, r'^robots: entry \'drone1\' is not "robot_id:platform"'),
    (['drone1:plane'], [], {}, r'^robots: entry \'drone1:plane\' .* drone, ground, surface'),
    ([':drone'], [], {}, r"^robots: entry ':drone': robot id '' is not a ROS name token"),
    (['site/drone1:drone'], [], {}, "^robots: entry 'site/drone1:drone': robot id"),
    ([], ['drone.1'], {}, "^robot_ids: robot id 'drone.1' is not a ROS name token"),
    ([], ['1drone'], {}, "^robot_ids: robot id '1drone' is not a ROS name token"),
    ([], ['drone1'], {},
     r"^robots.drone1.platform: '' is not one of drone, ground, surface \(robot_ids lists "
     r'drone1\)'),
    ([], ['drone1'], {'robots.drone1.platform': 'plane'},
     "^robots.drone1.platform: 'plane' is not one of drone, ground, surface"),
    ([], ['drone1'], {'robots.drone1.platform': 'drone',
                      'robots.drone1.namespace': 'site_a/drone1'},
     "^robots.drone1.namespace: 'site_a/drone1' is not an absolute ROS namespace such as "
     '/site_a/drone1: namespace must be absolute'),
    ([], ['drone1'], {'robots.drone1.platform': 'drone',
                      'robots.drone1.namespace': '/site_a/drone1/'},
     "^robots.drone1.namespace: '/site_a/drone1/' .*must not end with a '/'"),
    ([], ['drone1'], {'robots.drone1.platform': 'drone', 'robots.drone1.namespace': '/'},
     "^robots.drone1.namespace: '/' .*the root namespace"),
    (['drone1:drone'], ['drone2'], {'robots.drone2.platform': 'drone',
                                    'robots.drone2.namespace': '/drone1'},
     '^robots.drone2.namespace: robots drone1 and drone2 share the namespace /drone1'),
    ([], [], {}, '^robots: the fleet is empty'),
])
def test_bad_fleet_parameters_are_refused_naming_them(robots, robot_ids, values, message):
    with pytest.raises(ValueError, match=message):
        parse_fleet(robots, robot_ids, _per_robot(values))


@pytest.fixture
def context():
    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


def _declared(context, **values):
    overrides = [Parameter(name.replace('__', '.'), value=value)
                 for name, value in values.items()]
    node = rclpy.create_node('coordinator', namespace='/execution', context=context,
                             parameter_overrides=overrides)
    try:
        return declare_fleet(node), {
            name: node.describe_parameter(name)
            for name in node.list_parameters([], 0).names}
    finally:
        node.destroy_node()


def test_declared_read_only_and_described_for_listed_ids(context):
    fleet, descriptors = _declared(
        context, robots=['rover1:ground'], robot_ids=['drone2'],
        robots__drone2__platform='drone', robots__drone2__namespace='/site_a/drone2')
    assert fleet['drone2'] == FleetRobot('drone2', Platform.DRONE, '/site_a/drone2')
    assert fleet['rover1'].namespace == '/rover1'
    for name in ('robots', 'robot_ids', 'robots.drone2.platform', 'robots.drone2.namespace'):
        assert descriptors[name].read_only and descriptors[name].description, name
    assert 'robots.rover1.platform' not in descriptors  # the short form has no per-robot ones


def test_a_value_for_an_unlisted_robot_is_refused(context):
    # Without it robot drone3 would silently not be coordinated, nor stopped fleet-wide.
    with pytest.raises(ValueError, match='^robots.drone3.namespace: set, but robot_ids does '
                                         'not list drone3'):
        _declared(context, robot_ids=['drone2'], robots__drone2__platform='drone',
                  robots__drone3__namespace='/site_a/drone3')
