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

"""Python operation builders: build-time validation and goal fields."""

import dataclasses
import inspect

from brain_execution.core import builders as ops
from brain_execution.core.catalog import CATALOG, prepare
from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.errors import (
    ErrorCode, InvalidParametersError, UnsupportedOperationError)
from brain_execution.core.geo import GeoPoint, LocalPoint
from brain_execution.core.params import COMMON_PARAMS, WAYPOINT_KEYS
from brain_execution.core.state import LandedState, Platform, RobotSnapshot
import pytest

HOME = GeoPoint(48.0, 11.0)


def test_every_operation_has_a_factory_with_catalog_defaults():
    for name, spec in CATALOG.items():
        factory = getattr(ops, name)
        signature = inspect.signature(factory)
        for param in spec.params:
            if param.name in signature.parameters:
                default = signature.parameters[param.name].default
                if default is not inspect.Parameter.empty and param.kind != 'waypoint':
                    assert default == param.default, f'{name}.{param.name}'


def test_goal_fields_are_complete_and_typed():
    op = ops.go_to(40, 10, altitude_m=15, speed_mps=4, operation_id='a', priority=7,
                   timeout_s=30)
    fields = op.to_goal_fields()
    assert set(fields) == {p.name for p in CATALOG['go_to'].params + COMMON_PARAMS}
    assert fields['target'] == {'frame': 0, 'x_m': 40.0, 'y_m': 10.0, 'latitude_deg': 0.0,
                                'longitude_deg': 0.0, 'altitude_m': 15.0, 'has_yaw': False,
                                'yaw_rad': 0.0}
    assert isinstance(fields['speed_mps'], float) and fields['timeout_s'] == 30.0
    assert (fields['operation_id'], fields['priority']) == ('a', 7)


def test_goal_fields_are_a_fresh_copy():
    op = ops.follow_waypoints([(1, 2), (3, 4, 5)])
    fields = op.to_goal_fields()
    fields['waypoints'][0]['x_m'] = 99.0
    assert op.to_goal_fields()['waypoints'][0]['x_m'] == 1.0
    with pytest.raises(TypeError):
        op.params['speed_mps'] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.priority = 3


def test_build_time_validation():
    with pytest.raises(InvalidParametersError, match=r'altitude_m=500.0 out of range'):
        ops.takeoff(altitude_m=500.0)
    with pytest.raises(InvalidParametersError, match='climb_speed_mps=0.1'):
        ops.takeoff(climb_speed_mps=0.1)
    with pytest.raises(InvalidParametersError, match='payload_id'):
        ops.pickup('')
    with pytest.raises(InvalidParametersError, match='priority=300'):
        ops.hover(priority=300)
    with pytest.raises(InvalidParametersError, match=r'target.latitude_deg=95.0'):
        ops.go_to_geo(95.0, 11.0)
    with pytest.raises(InvalidParametersError, match='expected a list'):
        ops.follow_waypoints({'x_m': 1.0})
    with pytest.raises(InvalidParametersError, match=r'waypoints\[1\]'):
        ops.follow_waypoints([(0, 0), 'nowhere'])
    with pytest.raises(UnsupportedOperationError) as info:
        ops.operation('fly')
    assert info.value.code == ErrorCode.UNKNOWN_OPERATION
    with pytest.raises(TypeError):
        ops.operation('hover', {'priority': 3})
    with pytest.raises(TypeError):
        ops.hover(bogus=1)


def test_waypoint_spellings():
    op = ops.follow_waypoints([
        (1, 2), (3, 4, 5), LocalPoint(6.0, 7.0, 8.0, 0.5), GeoPoint(48.001, 11.0, 3.0),
        ops.waypoint(1.0, 1.0, yaw_rad=1.0), {'x_m': 2.0}])
    points = op.params['waypoints']
    assert all(set(p) == set(WAYPOINT_KEYS) for p in points)
    assert points[2]['has_yaw'] and points[2]['yaw_rad'] == 0.5
    assert points[3]['frame'] == 1 and points[3]['latitude_deg'] == 48.001
    assert ops.go_to_geo(48.0, 11.0, 10.0).params['target']['frame'] == 1
    assert ops.orbit((5, 5), radius_m=3.0).params['center']['x_m'] == 5.0
    assert ops.operation('go_to', {'target': LocalPoint(1.0, 2.0)}).params['target']['y_m'] == 2.0
    assert len(ops.follow_waypoints(iter([(1, 2), (3, 4)])).params['waypoints']) == 2


def test_other_factories():
    assert ops.send_data('gs', b'\x00\x01').to_goal_fields()['data'] == b'\x00\x01'
    assert ops.emergency_stop('test', release=True).params['release'] is True
    assert ops.scan_area([(0, 0), (10, 0), (10, 10)]).params['line_spacing_m'] == 10.0
    assert ops.operation('hover', {'duration_s': 2}).params['duration_s'] == 2.0
    assert ops.hover().with_options(priority=5).priority == 5


def test_sequence():
    first, second = ops.takeoff(), ops.land(operation_id='mine')
    mission = ops.sequence(first, [ops.hover(), second], id_prefix='m')
    assert [op.name for op in mission] == ['takeoff', 'hover', 'land']
    assert [op.operation_id for op in mission] == ['m-0', 'm-1', 'mine']
    assert ops.sequence(first, second) == (first, second)
    with pytest.raises(TypeError):
        ops.sequence(first, ['land'])


def test_built_goals_prepare_on_a_robot():
    drone = RobotSnapshot(Platform.DRONE, battery_percent=90.0, z_m=10.0,
                          landed_state=LandedState.IN_AIR)
    envelope = SafetyEnvelope()
    for op in ops.sequence(ops.go_to(10, 5, altitude_m=10), ops.go_to_geo(48.0001, 11.0, 12),
                           ops.orbit((0, 0, 10)), ops.capture_image(count=2),
                           ops.follow_waypoints([(1, 1, 10), (2, 2, 10)])):
        prepared = prepare(CATALOG[op.name], op.to_goal_fields(), snapshot=drone,
                           envelope=envelope, home=HOME)
        assert prepared.spec.name == op.name
