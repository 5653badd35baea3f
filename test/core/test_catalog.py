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

"""The catalog against the .action files, and prepare / postconditions / estimates."""

import math
from pathlib import Path
import re

from brain_execution.core.catalog import (
    adaptive_timeout_s, CATALOG, check_postconditions, get_operation, OperationClass,
    operations_for, prepare)
from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.errors import (
    AltitudeLimitError, ErrorCode, ExecutionError, GeofenceViolationError,
    InvalidParametersError, PostconditionFailedError, PreconditionFailedError, SpeedLimitError,
    UnsupportedOperationError)
from brain_execution.core.geo import GeoPoint, local_to_geographic
from brain_execution.core.params import COMMON_PARAMS
from brain_execution.core.state import LandedState, Platform, RobotSnapshot
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest

ACTION_DIR = Path(__file__).resolve().parents[2] / 'brain_execution_interfaces' / 'action'
COORDINATOR_ACTIONS = {'ExecuteOperation', 'ExecutePlan'}
HOME = GeoPoint(48.0, 11.0)
SQUARE = ((-100.0, -100.0), (100.0, -100.0), (100.0, 100.0), (-100.0, 100.0))
U_FENCE = ((-100.0, -100.0), (100.0, -100.0), (100.0, 100.0), (20.0, 100.0), (20.0, 0.0),
           (-20.0, 0.0), (-20.0, 100.0), (-100.0, 100.0))
ENVELOPE = SafetyEnvelope(geofence=SQUARE, altitude_ceiling_m=100.0, max_speed_mps=10.0,
                          cruise_speed_mps=4.0, min_battery_takeoff_percent=20.0,
                          min_battery_departure_percent=15.0, return_home_battery_percent=10.0,
                          max_payload_kg=2.0)

_KIND_OF_TYPE = {'float64': 'float', 'uint8': 'int', 'uint32': 'int', 'string': 'str',
                 'bool': 'bool', 'Waypoint': 'waypoint', 'Waypoint[]': 'waypoints',
                 'uint8[]': 'bytes'}
_ZERO_OF_KIND = {'float': 0.0, 'int': 0, 'str': '', 'bool': False, 'bytes': b''}


def _parse_goal(path):
    """Return [(type, name, default text or None, preceding comment)] of the goal section."""
    fields, comment = [], []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line == '---':
            break
        if not line:
            comment = []
        elif line.startswith('#'):
            comment.append(line.lstrip('# '))
        elif '=' not in line.split('#')[0]:
            parts = line.split('#')[0].split()
            fields.append((parts[0], parts[1], parts[2] if len(parts) > 2 else None,
                           ' '.join(comment)))
            comment = []
    return fields


def _default(kind, text):
    if text is None:
        return _ZERO_OF_KIND.get(kind)
    if kind == 'float':
        return float(text)
    if kind == 'int':
        return int(text)
    if kind == 'bool':
        return {'true': True, 'false': False}[text]
    return text.strip('"\'')


# '1..120' or '0 (lowest) .. 255 (highest)'.
_RANGE = re.compile(r'(-?\d+(?:\.\d+)?)(?: \(\w+\))? ?\.\. ?(-?\d+(?:\.\d+)?)')
_AT_MOST = re.compile(r'[Aa]t most (\d+)')


def _check_field(spec, type_name, default_text, comment, where):
    assert spec.kind == _KIND_OF_TYPE[type_name], where
    if spec.kind in ('waypoint', 'waypoints'):
        assert spec.default is None, where
    else:
        assert spec.default == _default(spec.kind, default_text), where
        assert type(spec.default) is type(_default(spec.kind, default_text)), where
    found = _RANGE.search(comment)
    if spec.kind in ('float', 'int'):
        assert found, f'{where}: no range in the comment {comment!r}'
        assert (spec.minimum, spec.maximum) == (float(found[1]), float(found[2])), where
        sentinel = bool(re.search(r'\b0 = ', comment)) and spec.minimum > 0
        assert spec.zero_means_default == sentinel, where
    elif spec.kind == 'waypoints':
        if found:
            assert (spec.min_items, spec.max_length) == (int(found[1]), int(found[2])), where
    at_most = _AT_MOST.search(comment)
    if spec.kind in ('str', 'bytes'):
        assert spec.max_length == (int(at_most[1]) if at_most else None), where
        assert spec.required == ('must not be empty' in comment), where


def test_catalog_covers_every_robot_action():
    actions = {path.stem for path in ACTION_DIR.glob('*.action')} - COORDINATOR_ACTIONS
    assert {spec.action_type for spec in CATALOG.values()} == actions
    assert len(CATALOG) == len(actions) == 20


@pytest.mark.parametrize('name', list(CATALOG))
def test_goal_fields_match_the_action_file(name):
    spec = CATALOG[name]
    assert spec.name == name
    assert spec.action_type == ''.join(word.capitalize() for word in name.split('_'))
    fields = _parse_goal(ACTION_DIR / f'{spec.action_type}.action')
    common_names = [p.name for p in COMMON_PARAMS]
    own = [field for field in fields if field[1] not in common_names]
    assert [field[1] for field in own] == [p.name for p in spec.params]
    for type_name, field_name, default_text, comment in own:
        _check_field(spec.param(field_name), type_name, default_text, comment,
                     f'{name}.{field_name}')
    common = [field for field in fields if field[1] in common_names]
    assert [field[1] for field in common] == common_names
    for type_name, field_name, default_text, comment in common:
        param = next(p for p in COMMON_PARAMS if p.name == field_name)
        if param.kind != 'str':
            _check_field(param, type_name, default_text, comment, f'{name}.{field_name}')


def test_issue_ranges_for_takeoff():
    spec = CATALOG['takeoff']
    assert (spec.param('altitude_m').minimum, spec.param('altitude_m').maximum) == (1.0, 120.0)
    assert (spec.param('climb_speed_mps').minimum,
            spec.param('climb_speed_mps').maximum) == (0.5, 5.0)


_COVERAGE = {
    Platform.DRONE: {'takeoff', 'land', 'go_to', 'hover', 'orbit', 'follow_waypoints',
                     'scan_area', 'capture_image', 'record_video', 'pickup', 'dropoff',
                     'return_home', 'emergency_stop', 'emergency_land', 'send_data',
                     'broadcast_status'},
    Platform.GROUND: {'go_to', 'hold', 'follow_waypoints', 'scan_area', 'capture_image',
                      'record_video', 'pickup', 'dropoff', 'return_home', 'dock', 'undock',
                      'emergency_stop', 'send_data', 'broadcast_status'},
    Platform.SURFACE: {'go_to', 'station_keep', 'orbit', 'follow_waypoints', 'scan_area',
                       'capture_image', 'record_video', 'pickup', 'dropoff', 'return_home',
                       'dock', 'undock', 'emergency_stop', 'send_data', 'broadcast_status'},
}


@pytest.mark.parametrize('platform', list(Platform))
def test_platform_coverage(platform):
    assert {spec.name for spec in operations_for(platform)} == _COVERAGE[platform]
    assert {spec.name for spec in operations_for(platform.value)} == _COVERAGE[platform]


def test_get_operation_errors():
    assert get_operation('go_to', Platform.GROUND) is CATALOG['go_to']
    with pytest.raises(UnsupportedOperationError) as info:
        get_operation('takeoff', Platform.GROUND)
    assert info.value.code == ErrorCode.UNSUPPORTED
    assert 'ground robots cannot takeoff' in str(info.value)
    with pytest.raises(UnsupportedOperationError) as info:
        get_operation('fly', 'drone')
    assert info.value.code == ErrorCode.UNKNOWN_OPERATION


def test_operation_classes_and_repeat_safety():
    classes = {name: spec.op_class for name, spec in CATALOG.items()}
    assert {n for n, c in classes.items() if c is OperationClass.EMERGENCY} == {
        'emergency_stop', 'emergency_land'}
    assert {n for n, c in classes.items() if c is OperationClass.SENSING} == {
        'capture_image', 'record_video'}
    assert {n for n, c in classes.items() if c is OperationClass.COMMUNICATION} == {
        'send_data', 'broadcast_status'}
    repeatable = {name for name, spec in CATALOG.items() if spec.safe_to_repeat}
    assert {'go_to', 'hover', 'broadcast_status', 'emergency_stop'} <= repeatable
    # A second run of these is a second physical action (images, a recording, a payload).
    assert not {'takeoff', 'land', 'pickup', 'dropoff', 'send_data', 'dock', 'undock',
                'capture_image', 'record_video'} & repeatable


# --- prepare -------------------------------------------------------------------------------

def _drone(**kwargs):
    values = {'battery_percent': 80.0, 'landed_state': LandedState.IN_AIR, 'armed': True,
              'z_m': 10.0}
    values.update(kwargs)
    return RobotSnapshot(Platform.DRONE, **values)


def _ground(**kwargs):
    return RobotSnapshot(Platform.GROUND, **{'battery_percent': 80.0, **kwargs})


def _surface(**kwargs):
    return RobotSnapshot(Platform.SURFACE, **{'battery_percent': 80.0, **kwargs})


def _prepare(name, raw=None, snapshot=None, envelope=ENVELOPE, home=HOME):
    snapshot = snapshot or _drone()
    return prepare(CATALOG[name], raw or {}, snapshot=snapshot, envelope=envelope, home=home)


def _precondition(name, raw, snapshot, envelope=ENVELOPE):
    with pytest.raises(PreconditionFailedError) as info:
        _prepare(name, raw, snapshot, envelope)
    return str(info.value)


def test_prepare_resolves_speed_estimate_and_timeout():
    prepared = _prepare('go_to', {'target': {'x_m': 40.0, 'y_m': 30.0, 'altitude_m': 10.0}})
    assert prepared.params['speed_mps'] == ENVELOPE.cruise_speed_mps
    assert prepared.params['target'].x_m == 40.0
    assert prepared.estimate_s == pytest.approx(50.0 / 4.0 + 4.0)
    assert prepared.timeout_s == pytest.approx(adaptive_timeout_s(prepared.estimate_s))
    assert prepared.operation_id == '' and prepared.priority == 100
    explicit = _prepare('go_to', {'target': {'x_m': 40.0}, 'timeout_s': 7.0,
                                  'operation_id': 'a', 'priority': 9})
    assert (explicit.timeout_s, explicit.operation_id, explicit.priority) == (7.0, 'a', 9)
    with pytest.raises(TypeError):
        explicit.params['speed_mps'] = 1.0


def test_takeoff_estimate():
    prepared = _prepare('takeoff', {'altitude_m': 20.0, 'climb_speed_mps': 2.0},
                        _drone(landed_state=LandedState.ON_GROUND, z_m=0.0, armed=False))
    assert prepared.estimate_s == pytest.approx(10.0 + 5.0)


def test_adaptive_timeout():
    assert adaptive_timeout_s(0.0) == 10.0
    assert adaptive_timeout_s(100.0) == 160.0
    assert adaptive_timeout_s(math.nan) == 10.0
    assert adaptive_timeout_s(math.inf) == 86400.0


def test_prepare_refuses_unsupported_platform():
    with pytest.raises(UnsupportedOperationError):
        _prepare('takeoff', {}, _ground())


def test_speed_altitude_and_fence_errors():
    with pytest.raises(SpeedLimitError, match=r'speed_mps=12.0 above limit 10.0 m/s'):
        _prepare('go_to', {'target': {'x_m': 1.0}, 'speed_mps': 12.0})
    with pytest.raises(SpeedLimitError):
        _prepare('orbit', {'center': {'x_m': 1.0}, 'speed_mps': 11.0})
    with pytest.raises(AltitudeLimitError, match=r'target.altitude_m=130.0 above ceiling 100.0'):
        _prepare('go_to', {'target': {'x_m': 1.0, 'altitude_m': 130.0}})
    with pytest.raises(AltitudeLimitError, match=r'^altitude_m=110.0 above ceiling 100.0 m$'):
        _prepare('takeoff', {'altitude_m': 110.0},
                 _drone(landed_state=LandedState.ON_GROUND, z_m=0.0))
    with pytest.raises(AltitudeLimitError, match=r'waypoints\[1\].altitude_m'):
        _prepare('follow_waypoints', {'waypoints': [{'altitude_m': 5.0},
                                                    {'altitude_m': 101.0}]})
    with pytest.raises(GeofenceViolationError, match=r'target \(x_m=150.0'):
        _prepare('go_to', {'target': {'x_m': 150.0}})
    # Ground robots ignore altitude: a high z is no violation.
    _prepare('go_to', {'target': {'x_m': 1.0, 'altitude_m': 500.0}}, _ground())


def test_non_convex_fence_paths():
    envelope = SafetyEnvelope(geofence=U_FENCE)
    robot = _ground(x_m=-60.0, y_m=80.0)
    with pytest.raises(GeofenceViolationError, match='path to target'):
        _prepare('go_to', {'target': {'x_m': 60.0, 'y_m': 80.0}}, robot, envelope)
    route = [{'x_m': -60.0, 'y_m': -50.0}, {'x_m': 60.0, 'y_m': -50.0},
             {'x_m': 60.0, 'y_m': 80.0}]
    _prepare('follow_waypoints', {'waypoints': route}, robot, envelope)
    with pytest.raises(GeofenceViolationError, match='leg to waypoints'):
        _prepare('follow_waypoints', {'waypoints': route[1:]}, robot, envelope)
    with pytest.raises(GeofenceViolationError, match=r'boundary\[3\]->boundary\[0\]'):
        _prepare('scan_area', {'boundary': route[::-1] + [{'x_m': -60.0, 'y_m': 80.0}]},
                 _ground(x_m=60.0, y_m=80.0), envelope)
    with pytest.raises(GeofenceViolationError, match='orbit circle'):
        _prepare('orbit', {'center': {'x_m': -60.0, 'y_m': 80.0}, 'radius_m': 30.0},
                 _surface(x_m=-60.0, y_m=60.0), envelope)
    _prepare('orbit', {'center': {'x_m': -60.0, 'y_m': 50.0}, 'radius_m': 30.0},
             _surface(x_m=-60.0, y_m=60.0), envelope)


def test_return_home_is_never_refused_by_the_fence():
    _prepare('return_home', {}, _ground(x_m=500.0, y_m=0.0))


def test_geographic_target_needs_home():
    target = local_to_geographic(HOME, 30.0, 40.0, 12.0)
    raw = {'target': {'frame': 1, 'latitude_deg': target.latitude_deg,
                      'longitude_deg': target.longitude_deg, 'altitude_m': 12.0}}
    prepared = _prepare('go_to', raw)
    assert prepared.params['target'].x_m == pytest.approx(30.0, abs=1e-6)
    assert prepared.params['target'].y_m == pytest.approx(40.0, abs=1e-6)
    with pytest.raises(PreconditionFailedError, match='home position is unknown'):
        _prepare('go_to', raw, home=None)


def test_check_order_schema_then_envelope_then_preconditions():
    down = _drone(link_up=False, landed_state=LandedState.ON_GROUND)
    with pytest.raises(InvalidParametersError):
        _prepare('go_to', {'target': {'x_m': 150.0}, 'acceptance_radius_m': 0.0}, down)
    with pytest.raises(GeofenceViolationError):
        _prepare('go_to', {'target': {'x_m': 150.0}}, down)
    with pytest.raises(PreconditionFailedError):
        _prepare('go_to', {'target': {'x_m': 50.0}}, down)


def test_precondition_messages_show_observed_values():
    on_ground = _drone(landed_state=LandedState.ON_GROUND, z_m=0.0, armed=False)
    assert _precondition('takeoff', {}, _drone(
        landed_state=LandedState.ON_GROUND, battery_percent=15.0)) == \
        'battery 15% < 20% required for takeoff'
    assert 'battery level unknown' in _precondition('takeoff', {}, _drone(
        landed_state=LandedState.ON_GROUND, battery_percent=math.nan))
    assert _precondition('takeoff', {}, _drone()) == \
        'drone is in the air; takeoff needs it on the ground'
    assert _precondition('go_to', {'target': {'x_m': 1.0}}, on_ground) == \
        'drone is on the ground; go_to needs it airborne'
    for name, raw in [('land', {}), ('hover', {}), ('orbit', {'center': {}}),
                      ('follow_waypoints', {'waypoints': [{}]}),
                      ('scan_area', {'boundary': [{}, {'x_m': 5.0}, {'y_m': 5.0}]})]:
        assert f'{name} needs it airborne' in _precondition(name, raw, on_ground)
    assert _precondition('capture_image', {}, _drone(link_up=False)) == \
        'link to the platform is down'
    assert _precondition('send_data', {'destination': 'gs'}, _ground(link_up=False)) == \
        'link to the platform is down'


def test_ground_and_surface_departure_preconditions():
    go = {'target': {'x_m': 5.0}}
    assert 'robot is docked; go_to needs it undocked' in _precondition(
        'go_to', go, _ground(docked=True))
    assert _precondition('go_to', go, _surface(battery_percent=12.5)) == \
        'battery 12.5% < 15% required for go_to'
    both = _precondition('follow_waypoints', {'waypoints': [{}]},
                         _ground(docked=True, battery_percent=3.0, link_up=False))
    assert both.count(';') >= 2 and 'battery 3%' in both and 'link' in both
    # Unknown battery lets a ground robot go; low battery still lets it go home or dock.
    _prepare('go_to', go, _ground(battery_percent=math.nan))
    _prepare('return_home', {}, _ground(battery_percent=1.0))
    _prepare('dock', {'dock_id': 'd1'}, _ground(battery_percent=1.0))
    assert 'robot is not docked; undock needs it docked' in _precondition(
        'undock', {}, _ground())
    assert 'battery 5%' in _precondition('undock', {}, _ground(docked=True, battery_percent=5.0))
    assert 'dock needs it undocked' in _precondition('dock', {'dock_id': 'd1'},
                                                     _surface(docked=True))


def test_payload_preconditions():
    loaded = _ground(payload_id='box1', payload_mass_kg=1.5)
    assert _precondition('pickup', {'payload_id': 'box2'}, loaded) == \
        "robot already carries payload 'box1' (1.5 kg); pickup needs it empty"
    assert _precondition('pickup', {'payload_id': 'box2', 'expected_mass_kg': 3.0},
                         _ground()) == 'expected_mass_kg=3.0 above the payload limit 2.0 kg'
    assert _precondition('dropoff', {}, _ground()) == \
        'robot carries no payload; dropoff needs one'
    assert _precondition('dropoff', {'payload_id': 'box2'}, loaded) == \
        "robot carries payload 'box1', not 'box2'"
    _prepare('dropoff', {'payload_id': 'box1'}, loaded)
    _prepare('dropoff', {}, loaded)


@pytest.mark.parametrize('name', ['emergency_stop', 'emergency_land'])
def test_emergency_operations_have_no_preconditions(name):
    assert CATALOG[name].preconditions == ()
    worst = _drone(link_up=False, battery_percent=0.0, landed_state=LandedState.UNKNOWN,
                   x_m=1e6, z_m=1e4, docked=True, payload_id='x')
    prepared = _prepare(name, {}, worst)
    assert math.isfinite(prepared.estimate_s) and prepared.timeout_s > 0.0
    if name == 'emergency_stop':
        _prepare(name, {'release': True}, _ground(link_up=False, docked=True))


# --- postconditions ------------------------------------------------------------------------

def _post(name, raw, before, after):
    prepared = _prepare(name, raw, before)
    try:
        check_postconditions(prepared, after)
    except PostconditionFailedError as e:
        return str(e)
    return None


def test_takeoff_postcondition_tolerance():
    ground = _drone(landed_state=LandedState.ON_GROUND, z_m=0.0, armed=False)
    assert _post('takeoff', {'altitude_m': 10.0}, ground, _drone(z_m=9.6)) is None
    assert _post('takeoff', {'altitude_m': 10.0}, ground, _drone(z_m=9.4)) == \
        'altitude 9.4 m is not within 0.5 m of the requested 10.0 m'
    assert _post('takeoff', {'altitude_m': 100.0}, ground, _drone(z_m=95.1)) is None
    assert 'not within 5.0 m' in _post('takeoff', {'altitude_m': 100.0}, ground,
                                       _drone(z_m=94.9))
    assert 'on the ground after takeoff' in _post('takeoff', {}, ground, ground)


def test_motion_postconditions():
    flying = _drone()
    landed = _drone(landed_state=LandedState.ON_GROUND, armed=False, z_m=0.0)
    assert _post('land', {}, flying, landed) is None
    assert 'still armed' in _post('land', {}, flying, _drone(
        landed_state=LandedState.ON_GROUND, armed=True))
    target = {'target': {'x_m': 30.0, 'y_m': 40.0, 'altitude_m': 10.0},
              'acceptance_radius_m': 2.0}
    assert _post('go_to', target, flying, _drone(x_m=29.0, y_m=39.0)) is None
    assert _post('go_to', target, flying, _drone(x_m=27.0, y_m=36.0)) == \
        'robot is 5.0 m from the target (30.0, 40.0, 10.0); acceptance_radius_m 2.0 m'
    assert 'm from the target' in _post('go_to', target, flying, _drone(
        x_m=30.0, y_m=40.0, z_m=15.0))
    # Ground robots are judged horizontally.
    assert _post('go_to', target, _ground(), _ground(x_m=30.0, y_m=40.0)) is None
    route = {'waypoints': [{'x_m': 1.0}, {'x_m': 9.0}]}
    assert 'last waypoint [1]' in _post('follow_waypoints', route, _ground(),
                                        _ground(x_m=1.0))


def test_dock_and_payload_postconditions():
    assert _post('dock', {'dock_id': 'd'}, _ground(), _ground(docked=True)) is None
    assert _post('dock', {'dock_id': 'd'}, _ground(), _ground()) == \
        'robot is not docked after dock'
    assert _post('undock', {}, _ground(docked=True), _ground()) is None
    assert 'still docked' in _post('undock', {}, _ground(docked=True), _ground(docked=True))
    assert _post('pickup', {'payload_id': 'b'}, _ground(), _ground(payload_id='b')) is None
    assert "carries payload '' after pickup of 'b'" in _post(
        'pickup', {'payload_id': 'b'}, _ground(), _ground())
    assert _post('dropoff', {}, _ground(payload_id='b'), _ground()) is None
    assert "still carries payload 'b'" in _post('dropoff', {}, _ground(payload_id='b'),
                                                _ground(payload_id='b'))


# --- fuzzing -------------------------------------------------------------------------------

_SAMPLES = {
    'takeoff': {'altitude_m': 30.0},
    'go_to': {'target': {'x_m': 20.0, 'y_m': -30.0, 'altitude_m': 15.0}},
    'orbit': {'center': {'x_m': 10.0, 'altitude_m': 15.0}, 'radius_m': 20.0, 'turns': 2.0},
    'follow_waypoints': {'waypoints': [{'x_m': 10.0, 'altitude_m': 10.0},
                                       {'y_m': 50.0, 'altitude_m': 10.0}]},
    'scan_area': {'boundary': [{'x_m': -50.0, 'y_m': -50.0}, {'x_m': 50.0, 'y_m': -50.0},
                               {'x_m': 50.0, 'y_m': 50.0}]},
    'capture_image': {'count': 5, 'interval_s': 2.0},
    'pickup': {'payload_id': 'box'},
    'dropoff': {},
    'dock': {'dock_id': 'd1'},
    'send_data': {'destination': 'gs', 'data': bytes(5000)},
    'broadcast_status': {'repeat': 3, 'interval_s': 1.0},
}


def _ready_snapshot(spec, platform):
    if spec.name == 'takeoff':
        return _drone(landed_state=LandedState.ON_GROUND, z_m=0.0)
    if spec.name == 'undock':
        return RobotSnapshot(platform, battery_percent=80.0, docked=True)
    if spec.name == 'dropoff':
        return RobotSnapshot(platform, battery_percent=80.0, payload_id='box',
                             landed_state=LandedState.IN_AIR)
    if platform is Platform.DRONE:
        return _drone()
    return RobotSnapshot(platform, battery_percent=80.0)


@pytest.mark.parametrize('name', list(CATALOG))
def test_every_operation_prepares_with_a_finite_estimate(name):
    spec = CATALOG[name]
    for platform in spec.platforms:
        prepared = _prepare(name, dict(_SAMPLES.get(name, {})), _ready_snapshot(spec, platform))
        assert math.isfinite(prepared.estimate_s) and prepared.estimate_s > 0.0, platform
        assert prepared.timeout_s == adaptive_timeout_s(prepared.estimate_s)


def test_estimates_follow_the_parameters():
    assert _prepare('hover', {'duration_s': 30.0}).estimate_s >= 30.0
    assert _prepare('capture_image', {'count': 5, 'interval_s': 2.0}).estimate_s >= 8.0
    assert _prepare('record_video', {'duration_s': 60.0}).estimate_s >= 60.0
    near = _prepare('scan_area', {'boundary': _SAMPLES['scan_area']['boundary'],
                                  'line_spacing_m': 5.0})
    far = _prepare('scan_area', {'boundary': _SAMPLES['scan_area']['boundary'],
                                 'line_spacing_m': 50.0})
    # 21 sweep lines of 100 m against 3.
    assert near.estimate_s > 2100.0 / 4.0 > far.estimate_s


_ANY = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0, 1e300, '', None, True, [],
                     {}, [{}], {'frame': 1, 'latitude_deg': 89.0}, [{'x_m': 1e9}],
                     {'x_m': 1e300, 'y_m': -1e300, 'altitude_m': 1e300},
                     [{'x_m': -1.7e308}, {'x_m': 1.7e308}, {'y_m': 1.7e308}], 10 ** 400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10, max_value=10 ** 6),
    st.text(max_size=5),
)


@st.composite
def _case(draw):
    name = draw(st.sampled_from(sorted(CATALOG)))
    spec = CATALOG[name]
    platform = draw(st.sampled_from(sorted(spec.platforms)))
    raw = dict(_SAMPLES.get(name, {}))
    fields = [p.name for p in spec.params + COMMON_PARAMS]
    for field in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        raw[field] = draw(_ANY)
    snapshot = RobotSnapshot(
        platform,
        x_m=draw(st.floats(-300, 300) | st.just(math.nan)),
        y_m=draw(st.floats(-300, 300)),
        z_m=draw(st.floats(-5, 200) | st.just(math.nan)),
        battery_percent=draw(st.floats(0, 100) | st.just(math.nan)),
        landed_state=draw(st.sampled_from(list(LandedState))),
        docked=draw(st.booleans()), link_up=draw(st.booleans()),
        payload_id=draw(st.sampled_from(['', 'box'])))
    home = draw(st.sampled_from([HOME, None]))
    envelope = draw(st.sampled_from([ENVELOPE, SafetyEnvelope(geofence=U_FENCE),
                                     SafetyEnvelope()]))
    return spec, raw, snapshot, envelope, home


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_prepare_fails_only_with_execution_errors(case):
    spec, raw, snapshot, envelope, home = case
    try:
        prepared = prepare(spec, raw, snapshot=snapshot, envelope=envelope, home=home)
    except ExecutionError as e:
        assert not isinstance(e, UnsupportedOperationError)
        assert str(e)
        return
    # Infinite only for targets beyond any real range, where no fence is configured.
    assert prepared.estimate_s >= 0.0
    assert 0.0 < prepared.timeout_s <= 86400.0
    try:
        check_postconditions(prepared, snapshot)
    except PostconditionFailedError as e:
        assert str(e)


def test_far_targets_without_a_fence_do_not_overflow():
    open_envelope = SafetyEnvelope()
    far = {'target': {'x_m': -1.7e308, 'y_m': 1.7e308}}
    prepared = _prepare('go_to', far, _ground(x_m=1.7e308), open_envelope)
    assert prepared.timeout_s == 86400.0
    with pytest.raises(PostconditionFailedError, match='inf m from the target'):
        check_postconditions(prepared, _ground())
    corners = [{'x_m': -1.7e308}, {'x_m': 1.7e308}, {'y_m': 1.7e308}]
    with pytest.raises(ExecutionError, match='sweep lines') as refused:
        _prepare('scan_area', {'boundary': corners}, _ground(), open_envelope)
    assert refused.value.code == 901  # ScanArea.AREA_TOO_LARGE
    wide = [{'x_m': -1e6}, {'x_m': 1e6}, {'y_m': 1e4}]
    assert _prepare('scan_area', {'boundary': wide, 'line_spacing_m': 500.0}, _ground(),
                    open_envelope).timeout_s == 86400.0
