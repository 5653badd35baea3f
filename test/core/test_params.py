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

"""Goal field validation: messages, types, waypoints, common options and fuzzing."""

import array
import math

from brain_execution.core.catalog import CATALOG
from brain_execution.core.errors import InvalidParametersError, PreconditionFailedError
from brain_execution.core.geo import GeoPoint, LocalPoint
from brain_execution.core.params import (
    COMMON_PARAMS, default_waypoint, ParamSpec, validate_params, WAYPOINT_KEYS)
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest

HOME = GeoPoint(48.0, 11.0)


def _specs(name):
    return CATALOG[name].params


def _error(name, raw, **kwargs):
    with pytest.raises(InvalidParametersError) as info:
        validate_params(_specs(name), raw, operation=name, **kwargs)
    return str(info.value)


def test_param_spec_refuses_nonsense_config():
    with pytest.raises(ValueError, match='kind'):
        ParamSpec('x', 'complex')
    with pytest.raises(ValueError, match='minimum'):
        ParamSpec('x', 'float', minimum=2.0, maximum=1.0)
    with pytest.raises(ValueError, match='min_items'):
        ParamSpec('x', 'waypoints', min_items=5, max_length=2)


def test_defaults_fill_absent_fields_and_types_are_normalized():
    params = validate_params(_specs('takeoff'), {'altitude_m': 20})
    assert params == {'altitude_m': 20.0, 'climb_speed_mps': 1.5, 'operation_id': '',
                      'priority': 100, 'timeout_s': 0.0}
    assert isinstance(params['altitude_m'], float)
    assert validate_params(_specs('takeoff'), None)['altitude_m'] == 10.0


def test_out_of_range_message_names_field_value_and_limits():
    assert _error('takeoff', {'altitude_m': 150.0}) == \
        'altitude_m=150.0 out of range [1.0, 120.0] m'
    assert _error('takeoff', {'climb_speed_mps': 0.4}) == \
        'climb_speed_mps=0.4 out of range [0.5, 5.0] m/s'


@pytest.mark.parametrize('value', [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(value):
    assert 'is not a finite number' in _error('takeoff', {'altitude_m': value})


@pytest.mark.parametrize('value', [True, '10', None, [10.0], {'v': 1}])
def test_wrong_types_are_refused(value):
    assert _error('takeoff', {'altitude_m': value}).startswith('altitude_m=')


def test_integer_fields_refuse_floats_and_bools():
    assert 'expected an integer' in _error('capture_image', {'count': 2.0})
    assert 'expected an integer' in _error('capture_image', {'count': True})
    assert 'expected true or false' in _error('return_home', {'land': 1})


def test_zero_sentinel_is_accepted_and_named_in_the_limits():
    assert validate_params(_specs('return_home'), {'speed_mps': 0.0})['speed_mps'] == 0.0
    message = _error('return_home', {'speed_mps': 0.05})
    assert message == 'speed_mps=0.05 out of range [0.1, 30.0] m/s (or 0 = cruise speed)'
    # Orbit has no sentinel: its speed is a real speed.
    assert 'speed_mps=0.0 out of range' in _error('orbit', {
        'center': {'x_m': 1.0}, 'speed_mps': 0.0})


def test_unknown_fields_are_named():
    message = _error('takeoff', {'altitud_m': 10.0})
    assert 'unknown field(s) altitud_m for takeoff' in message
    assert 'altitude_m' in message


def test_required_and_empty_strings():
    assert _error('pickup', {}) == 'payload_id is required for pickup'
    assert 'must not be empty' in _error('pickup', {'payload_id': ''})
    assert 'must not be empty' in _error('dock', {'dock_id': '   '})
    assert 'must not be empty' in _error('send_data', {'destination': ''})
    # Dropoff's payload_id may be empty: whatever the robot carries.
    assert validate_params(_specs('dropoff'), {'payload_id': ''})['payload_id'] == ''


def test_string_and_bytes_lengths():
    assert 'at most 1024' in _error('broadcast_status', {'message': 'x' * 1025})
    assert validate_params(_specs('broadcast_status'), {'message': 'x' * 1024})
    assert 'at most 65536' in _error('send_data', {'destination': 'gs',
                                                   'data': bytes(65537)})


@pytest.mark.parametrize('data', [b'\x01\x02', bytearray(b'\x01\x02'), [1, 2],
                                  array.array('B', [1, 2]), memoryview(b'\x01\x02')])
def test_bytes_accept_the_usual_spellings(data):
    params = validate_params(_specs('send_data'), {'destination': 'gs', 'data': data})
    assert params['data'] == b'\x01\x02'


def test_bytes_list_items_must_be_bytes():
    assert 'data[1]=256' in _error('send_data', {'destination': 'gs', 'data': [1, 256]})
    assert 'data=' in _error('send_data', {'destination': 'gs', 'data': 'text'})


def test_common_options_are_checked_for_every_operation():
    for name in CATALOG:
        raw = _valid_sample(name)
        assert 'priority=256 out of range [0, 255]' in _error(name, {**raw, 'priority': 256})
        assert 'timeout_s=-1.0' in _error(name, {**raw, 'timeout_s': -1.0})
        assert 'timeout_s=86401.0' in _error(name, {**raw, 'timeout_s': 86401.0})
        assert 'at most 128' in _error(name, {**raw, 'operation_id': 'x' * 129})
    assert [spec.name for spec in COMMON_PARAMS] == ['operation_id', 'priority', 'timeout_s']


def test_waypoint_errors_name_the_dotted_path():
    points = [{'x_m': float(i)} for i in range(5)]
    points[3] = {'frame': 1, 'latitude_deg': 91.0}
    assert _error('follow_waypoints', {'waypoints': points}) == \
        'waypoints[3].latitude_deg=91.0 out of range [-90.0, 90.0] deg'
    assert _error('go_to', {'target': {'frame': 2}}) == \
        'target.frame=2 is not a known frame (0 = LOCAL_ENU, 1 = GEOGRAPHIC)'
    assert 'target.x_m=nan' in _error('go_to', {'target': {'x_m': math.nan}})
    assert 'target: unknown field(s) z_m' in _error('go_to', {'target': {'z_m': 1.0}})
    assert 'expected a Waypoint' in _error('go_to', {'target': [1.0, 2.0]})
    assert _error('go_to', {}) == 'target is required for go_to'
    # A local waypoint's unused latitude is not range-checked, only required to be finite.
    assert validate_params(_specs('go_to'), {'target': {'latitude_deg': 500.0}})


def test_waypoint_list_lengths():
    assert 'at least 1 required' in _error('follow_waypoints', {'waypoints': []})
    assert 'at most 500 allowed' in _error('follow_waypoints', {'waypoints': [{}] * 501})
    assert 'at least 3 required' in _error('scan_area', {'boundary': [{}, {}]})
    assert 'expected a list' in _error('scan_area', {'boundary': 'abc'})


def test_waypoints_become_local_points():
    params = validate_params(_specs('follow_waypoints'), {'waypoints': [
        {'x_m': 3.0, 'y_m': 4.0, 'altitude_m': 5.0, 'has_yaw': True, 'yaw_rad': 1.0},
        {'frame': 1, 'latitude_deg': 48.001, 'longitude_deg': 11.0, 'altitude_m': 7.0},
    ]}, home=HOME)
    first, second = params['waypoints']
    assert first == LocalPoint(3.0, 4.0, 5.0, 1.0)
    assert second.yaw_rad is None
    assert second.x_m == pytest.approx(0.0, abs=1e-6)
    assert second.y_m == pytest.approx(111.2, abs=0.5)
    assert second.z_m == 7.0


def test_unconverted_waypoints_are_complete_mappings():
    params = validate_params(_specs('go_to'), {'target': {'x_m': 1}}, convert_waypoints=False)
    assert set(params['target']) == set(WAYPOINT_KEYS)
    assert params['target'] == {**default_waypoint(), 'x_m': 1.0}


@pytest.mark.parametrize('home', [None, GeoPoint(math.nan, 11.0)])
def test_geographic_waypoint_without_home_is_a_precondition(home):
    raw = {'target': {'frame': 1, 'latitude_deg': 48.0, 'longitude_deg': 11.0}}
    with pytest.raises(PreconditionFailedError, match='home position is unknown'):
        validate_params(_specs('go_to'), raw, home=home)


def test_invalid_field_wins_over_unknown_home():
    raw = {'target': {'frame': 1, 'latitude_deg': 48.0}, 'speed_mps': -1.0}
    with pytest.raises(InvalidParametersError):
        validate_params(_specs('go_to'), raw, home=None)


def test_raw_must_be_a_mapping():
    assert 'expected a mapping' in _error('takeoff', [('altitude_m', 10.0)])


_SAMPLES = {
    'go_to': {'target': {'x_m': 1.0}},
    'orbit': {'center': {'x_m': 1.0}},
    'follow_waypoints': {'waypoints': [{'x_m': 1.0}]},
    'scan_area': {'boundary': [{'x_m': 0.0}, {'x_m': 10.0}, {'y_m': 10.0}]},
    'pickup': {'payload_id': 'box'},
    'dock': {'dock_id': 'd1'},
    'send_data': {'destination': 'gs'},
}


def _valid_sample(name):
    return dict(_SAMPLES.get(name, {}))


_WEIRD = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0, -1, 1e308, -1e308, 2 ** 64,
                     '', ' ', 'x' * 2000, None, True, False, [], {}, b'', [None], [{}],
                     [{'frame': 7}], {'frame': 1}, {'x_m': math.nan}]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.integers(min_value=-5, max_value=300), max_size=5),
)

_WAYPOINT = st.dictionaries(
    st.sampled_from(WAYPOINT_KEYS + ('bogus',)),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
              st.booleans(), st.none(), st.text(max_size=3)),
    max_size=8)


@st.composite
def _goal(draw):
    name = draw(st.sampled_from(sorted(CATALOG)))
    fields = [spec.name for spec in CATALOG[name].params + COMMON_PARAMS] + ['unknown_field']
    raw = _valid_sample(name)
    for field in draw(st.lists(st.sampled_from(fields), max_size=4, unique=True)):
        raw[field] = draw(st.one_of(_WEIRD, _WAYPOINT, st.lists(_WAYPOINT, max_size=4)))
    return name, raw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_goal())
def test_fuzzed_goals_raise_only_invalid_parameters(goal):
    name, raw = goal
    try:
        params = validate_params(_specs(name), raw, home=HOME, operation=name)
    except InvalidParametersError as e:
        assert str(e)
        return
    for spec in CATALOG[name].params:
        value = params[spec.name]
        if spec.kind == 'float':
            assert math.isfinite(value)
            assert (spec.zero_means_default and value == 0.0) or \
                spec.minimum <= value <= spec.maximum
