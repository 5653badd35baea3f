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
Malformed goals sent to a drone executor running as a separate process.

Hypothesis builds goals for takeoff, go_to, follow_waypoints, hover, capture_image and
send_data in which exactly one field is bad (NaN, infinities, huge or negative numbers,
values out of range, empty required strings, unknown waypoint frames, empty or too long
lists, too much data) and every other field is valid. Each goal must end with
INVALID_PARAMETERS and a message naming the bad field; afterwards the same process must
still be running and still serve valid goals.

Only values rclpy accepts at assignment can be sent (a uint8 of 300 or a str in a float
field fails in the client), so the strategies stay inside the message types.
"""

import math
import string

from action_msgs.msg import GoalStatus
from brain_execution_interfaces.msg import ErrorCode, Waypoint
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir, storage_directory
import pytest

_SETTINGS = settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
_RESULT_TIMEOUT_S = 15.0

_NON_FINITE = [math.nan, math.inf, -math.inf]
_FLOAT_FIELDS_OF_WAYPOINT = (
    'x_m', 'y_m', 'latitude_deg', 'longitude_deg', 'altitude_m', 'yaw_rad')


@pytest.fixture(scope='module', autouse=True)
def hypothesis_home_outside_repo(tmp_path_factory):
    """Keep Hypothesis's files (database=None already; caches too) out of the repository."""
    previous = storage_directory(intent_to_write=False).path
    set_hypothesis_home_dir(tmp_path_factory.mktemp('hypothesis'))
    yield
    set_hypothesis_home_dir(previous)


@pytest.fixture(scope='module')
def drone(module_start_executor, module_ros):
    """One drone executor for the whole module."""
    process = module_start_executor('drone')
    module_ros.wait_for_servers(process, ['takeoff', 'go_to', 'follow_waypoints', 'hover',
                                          'capture_image', 'send_data'])
    return process


def _send_bad(ros, drone, operation, case):
    """Send one goal with exactly one bad field; check how it ends."""
    fields, bad_field = case
    run = ros.send(drone.robot_id, operation, fields)
    result = run.wait(_RESULT_TIMEOUT_S)
    assert result is not None, f'{operation}: goal rejected without a result'
    assert result.error_code == ErrorCode.INVALID_PARAMETERS, (
        f'{operation} with bad {bad_field}: error_code {result.error_code} '
        f'({result.error_msg!r}); fields={fields!r}')
    assert run.status == GoalStatus.STATUS_ABORTED
    assert result.error_msg, f'{operation}: empty error_msg'
    assert bad_field in result.error_msg, (
        f'{operation}: error_msg {result.error_msg!r} does not name {bad_field!r}')
    assert result.retryable is False
    assert result.operation_id, 'a refused goal still gets an operation id'


# --- strategies ------------------------------------------------------------------------------

def _valid_float(low, high):
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _bad_float(low, high, *, zero_ok=False):
    """NaN, infinities, huge, negative and other values outside [low, high]."""
    finite = {'allow_nan': False, 'allow_infinity': False}
    bad = st.one_of(
        st.sampled_from(_NON_FINITE + [1e300, -1e300, -1.0]),
        st.floats(min_value=high, exclude_min=True, **finite),
        st.floats(max_value=low, exclude_max=True, **finite),
    ).filter(lambda v: math.isnan(v) or not low <= v <= high)
    if zero_ok:
        bad = bad.filter(lambda v: v != 0.0)
    return bad


_TEXT = st.text(st.characters(codec='utf-8', exclude_characters='\x00'), max_size=20)
_TOO_LONG_ID = st.text(string.ascii_letters + string.digits, min_size=129, max_size=300)

# Common goal options: operation_id (<= 128 characters) and timeout_s (0..86400 s).
_COMMON_BAD = {
    'timeout_s': _bad_float(0.0, 86400.0),
    'operation_id': _TOO_LONG_ID,
}


@st.composite
def _waypoint(draw, *, frame=None):
    frame = draw(st.sampled_from([Waypoint.FRAME_LOCAL_ENU, Waypoint.FRAME_GEOGRAPHIC])
                 if frame is None else st.just(frame))
    return Waypoint(
        frame=frame, x_m=draw(_valid_float(-1e4, 1e4)), y_m=draw(_valid_float(-1e4, 1e4)),
        latitude_deg=draw(_valid_float(-90.0, 90.0)),
        longitude_deg=draw(_valid_float(-180.0, 180.0)),
        altitude_m=draw(_valid_float(-100.0, 1000.0)), has_yaw=draw(st.booleans()),
        yaw_rad=draw(_valid_float(-10.0, 10.0)))


@st.composite
def _bad_waypoint(draw):
    """Return (waypoint, name of its bad field)."""
    kind = draw(st.sampled_from(['frame', 'non_finite', 'latitude', 'longitude']))
    if kind == 'frame':
        point = draw(_waypoint())
        point.frame = draw(st.integers(min_value=2, max_value=255))
        return point, 'frame'
    if kind == 'non_finite':
        # Refused in every frame, also in the coordinates the frame does not use.
        point = draw(_waypoint())
        name = draw(st.sampled_from(_FLOAT_FIELDS_OF_WAYPOINT))
        setattr(point, name, draw(st.sampled_from(_NON_FINITE)))
        return point, name
    point = draw(_waypoint(frame=Waypoint.FRAME_GEOGRAPHIC))
    if kind == 'latitude':
        point.latitude_deg = draw(_bad_float(-90.0, 90.0))
        return point, 'latitude_deg'
    point.longitude_deg = draw(_bad_float(-180.0, 180.0))
    return point, 'longitude_deg'


@st.composite
def _one_bad_field(draw, valid, bad):
    """
    Return (goal fields, name of the bad field) with one bad field and the rest valid.

    :param valid: field name -> strategy of valid values.
    :param bad: field name -> strategy of bad values, or of (value, field name in the
        message) pairs when the message names a nested path.
    """
    fields = {name: draw(strategy) for name, strategy in valid.items()}
    name = draw(st.sampled_from(sorted(bad)))
    value = draw(bad[name])
    if isinstance(value, tuple):
        value, path = value
    else:
        path = name
    fields[name] = value
    return fields, path


def _with_path(strategy, prefix):
    """Map (value, field) pairs to (value, '<prefix>.<field>')."""
    return strategy.map(lambda pair: (pair[0], f'{prefix}.{pair[1]}'))


@st.composite
def _bad_waypoint_list(draw):
    """Return (waypoints, path named in the message) for a list that is bad somewhere."""
    kind = draw(st.sampled_from(['empty', 'too_many', 'one_bad']))
    if kind == 'empty':
        return [], 'waypoints'
    if kind == 'too_many':
        return [Waypoint(x_m=float(i)) for i in range(draw(st.integers(501, 600)))], 'waypoints'
    points = draw(st.lists(_waypoint(), min_size=1, max_size=6))
    index = draw(st.integers(min_value=0, max_value=len(points)))
    point, field = draw(_bad_waypoint())
    points.insert(index, point)
    return points, f'waypoints[{index}].{field}'


_SPEED_VALID = st.one_of(st.just(0.0), _valid_float(0.1, 30.0))
_SPEED_BAD = _bad_float(0.1, 30.0, zero_ok=True)
_RADIUS_VALID = _valid_float(0.1, 50.0)
_RADIUS_BAD = _bad_float(0.1, 50.0)

_CASES = {
    'takeoff': _one_bad_field(
        {'altitude_m': _valid_float(1.0, 120.0), 'climb_speed_mps': _valid_float(0.5, 5.0)},
        dict(_COMMON_BAD, altitude_m=_bad_float(1.0, 120.0),
             climb_speed_mps=_bad_float(0.5, 5.0))),
    'go_to': _one_bad_field(
        {'target': _waypoint(), 'speed_mps': _SPEED_VALID,
         'acceptance_radius_m': _RADIUS_VALID},
        dict(_COMMON_BAD, target=_with_path(_bad_waypoint(), 'target'), speed_mps=_SPEED_BAD,
             acceptance_radius_m=_RADIUS_BAD)),
    'follow_waypoints': _one_bad_field(
        {'waypoints': st.lists(_waypoint(), min_size=1, max_size=6), 'speed_mps': _SPEED_VALID,
         'acceptance_radius_m': _RADIUS_VALID},
        dict(_COMMON_BAD, waypoints=_bad_waypoint_list(), speed_mps=_SPEED_BAD,
             acceptance_radius_m=_RADIUS_BAD)),
    'hover': _one_bad_field(
        {'duration_s': _valid_float(0.0, 3600.0)},
        dict(_COMMON_BAD, duration_s=_bad_float(0.0, 3600.0))),
    'capture_image': _one_bad_field(
        {'camera_id': _TEXT, 'count': st.integers(1, 1000),
         'interval_s': _valid_float(0.0, 60.0)},
        dict(_COMMON_BAD,
             count=st.one_of(st.just(0), st.integers(min_value=1001, max_value=2 ** 32 - 1)),
             interval_s=_bad_float(0.0, 60.0))),
    'send_data': _one_bad_field(
        {'destination': _TEXT.filter(str.strip), 'content_type': _TEXT,
         'data': st.binary(max_size=256)},
        dict(_COMMON_BAD,
             destination=st.sampled_from(['', ' ', '\t', '  \n ']),
             data=st.integers(min_value=65537, max_value=70000).map(lambda n: b'\xa5' * n))),
}


# --- tests -----------------------------------------------------------------------------------

def test_every_operation_has_cases():
    assert set(_CASES) == {'takeoff', 'go_to', 'follow_waypoints', 'hover', 'capture_image',
                           'send_data'}


@_SETTINGS
@given(case=_CASES['takeoff'])
def test_bad_takeoff(module_ros, drone, case):
    _send_bad(module_ros, drone, 'takeoff', case)


@_SETTINGS
@given(case=_CASES['go_to'])
def test_bad_go_to(module_ros, drone, case):
    _send_bad(module_ros, drone, 'go_to', case)


@_SETTINGS
@given(case=_CASES['follow_waypoints'])
def test_bad_follow_waypoints(module_ros, drone, case):
    _send_bad(module_ros, drone, 'follow_waypoints', case)


def test_empty_waypoint_list(module_ros, drone):
    # Always sent, whatever Hypothesis draws above.
    _send_bad(module_ros, drone, 'follow_waypoints', ({'waypoints': []}, 'waypoints'))


@_SETTINGS
@given(case=_CASES['hover'])
def test_bad_hover(module_ros, drone, case):
    _send_bad(module_ros, drone, 'hover', case)


@_SETTINGS
@given(case=_CASES['capture_image'])
def test_bad_capture_image(module_ros, drone, case):
    _send_bad(module_ros, drone, 'capture_image', case)


@_SETTINGS
@given(case=_CASES['send_data'])
def test_bad_send_data(module_ros, drone, case):
    _send_bad(module_ros, drone, 'send_data', case)


def test_executor_survives_and_serves_valid_goals(module_ros, drone):
    assert drone.running(), f'executor died:\n{drone.log()}'
    capture = module_ros.send(drone.robot_id, 'capture_image', {'count': 1})
    result = capture.wait(_RESULT_TIMEOUT_S)
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert capture.status == GoalStatus.STATUS_SUCCEEDED
    assert len(result.image_uris) == 1
    takeoff = module_ros.send(drone.robot_id, 'takeoff',
                              {'altitude_m': 3.0, 'climb_speed_mps': 5.0})
    result = takeoff.wait(_RESULT_TIMEOUT_S)
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert takeoff.status == GoalStatus.STATUS_SUCCEEDED
    assert abs(result.altitude_m - 3.0) <= 0.5
    assert drone.running()
