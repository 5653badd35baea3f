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
The catalog of operations: what each one takes, needs, promises and how long it lasts.

Every entry mirrors one ``brain_execution_interfaces/action/<ActionType>.action`` file (field
names, defaults, ranges; a test parses the files and compares). The executor calls
:func:`prepare` with a goal's fields before it touches the platform, which checks in this
order, so that the error a caller sees is the most fundamental one:

1. the platform can do the operation (``UNSUPPORTED``);
2. the goal fields against their schema (``INVALID_PARAMETERS``);
3. every target, path and speed against the robot's :class:`SafetyEnvelope`
   (``GEOFENCE_VIOLATION``, ``ALTITUDE_LIMIT_VIOLATION``, ``SPEED_LIMIT_VIOLATION``);
4. the robot's state against the operation's preconditions (``PRECONDITION_FAILED``).

When the operation ends, :func:`check_postconditions` compares the robot with what the
operation promised. Emergency operations have no preconditions: they must always be accepted.
"""

import dataclasses
import enum
import math
import types
import typing

from .coverage import lawnmower_path, MAX_SWEEP_LINES, sweep_line_count
from .envelope import SafetyEnvelope
from .errors import (
    ErrorCode, ExecutionError, PostconditionFailedError, PreconditionFailedError,
    UnsupportedOperationError)
from .geo import GeoPoint, LocalPoint
from .params import ParamSpec, validate_params
from .state import LandedState, Platform, RobotSnapshot

__all__ = [
    'AIRBORNE',
    'AT_ALTITUDE',
    'AT_LAST_WAYPOINT',
    'AT_TARGET',
    'BATTERY_DEPARTURE',
    'BATTERY_TAKEOFF',
    'CARRIES_PAYLOAD',
    'CATALOG',
    'DOCKED',
    'DROPPED',
    'IS_DOCKED',
    'IS_UNDOCKED',
    'LANDED_DISARMED',
    'LINK_UP',
    'NOT_DOCKED',
    'NO_PAYLOAD',
    'ON_GROUND',
    'PAYLOAD_WITHIN_LIMIT',
    'PICKED_UP',
    'CheckContext',
    'Condition',
    'OperationClass',
    'OperationSpec',
    'PreparedOperation',
    'adaptive_timeout_s',
    'check_postconditions',
    'get_operation',
    'operations_for',
    'prepare',
]

_DRONE = frozenset({Platform.DRONE})
_GROUND_SURFACE = frozenset({Platform.GROUND, Platform.SURFACE})
_ALL = frozenset(Platform)


class OperationClass(str, enum.Enum):
    """
    How an operation shares a robot with others.

    MOTION is exclusive: one motion at a time per robot, a newer one preempts by priority.
    SENSING and COMMUNICATION run alongside motion (a camera does not steer). EMERGENCY
    preempts everything on the robot and is never queued.
    """

    MOTION = 'motion'
    SENSING = 'sensing'
    COMMUNICATION = 'communication'
    EMERGENCY = 'emergency'


@dataclasses.dataclass(frozen=True)
class CheckContext:
    """What a pre- or postcondition looks at: the operation, its fields and the robot."""

    operation: str
    params: typing.Mapping[str, typing.Any]
    snapshot: RobotSnapshot
    envelope: SafetyEnvelope


@dataclasses.dataclass(frozen=True)
class Condition:
    """
    A named check of the robot's state; ``check`` returns None, or why it does not hold.

    :param name: Short identifier, e.g. ``'airborne'``.
    :param description: One line for documentation.
    :param check: Function of a :class:`CheckContext` returning None or a reason with the
        observed values.
    :param platforms: Platforms it applies to; on others it always holds.
    """

    name: str
    description: str
    check: typing.Callable[[CheckContext], typing.Optional[str]] = dataclasses.field(
        repr=False)
    platforms: typing.FrozenSet[Platform] = dataclasses.field(default=_ALL, repr=False)

    def applies_to(self, platform: Platform) -> bool:
        return platform in self.platforms

    def __call__(self, context: CheckContext) -> typing.Optional[str]:
        if not self.applies_to(context.snapshot.platform):
            return None
        return self.check(context)


def _num(value: float) -> str:
    return repr(round(float(value), 2))


def _pct(value: float) -> str:
    return f'{round(float(value), 1):g}%'


_LANDED_TEXT = {
    LandedState.UNKNOWN: 'in an unknown landed state',
    LandedState.ON_GROUND: 'on the ground',
    LandedState.IN_AIR: 'in the air',
    LandedState.TAKING_OFF: 'taking off',
    LandedState.LANDING: 'landing',
}


def _position(snapshot: RobotSnapshot) -> typing.Tuple[float, float, float]:
    """Return the robot's position, home for unknown coordinates (estimates only)."""
    # Robots work near home; guessing home keeps the estimate finite and the adaptive timeout
    # margin absorbs the error.
    return tuple(v if math.isfinite(v) else 0.0 for v in (snapshot.x_m, snapshot.y_m,
                                                          snapshot.z_m))


def _distance(snapshot: RobotSnapshot, point: LocalPoint) -> float:
    """Return the distance to a point: 3-D for drones, horizontal for the others."""
    x, y, z = _position(snapshot)
    dz = point.z_m - z if snapshot.platform is Platform.DRONE else 0.0
    return math.hypot(point.x_m - x, point.y_m - y, dz)


# --- Preconditions ---------------------------------------------------------------------------

def _link_up(ctx: CheckContext) -> typing.Optional[str]:
    if not ctx.snapshot.link_up:
        return 'link to the platform is down'
    return None


def _on_ground(ctx: CheckContext) -> typing.Optional[str]:
    state = ctx.snapshot.landed_state
    if state is not LandedState.ON_GROUND:
        return f'drone is {_LANDED_TEXT[state]}; {ctx.operation} needs it on the ground'
    return None


def _airborne(ctx: CheckContext) -> typing.Optional[str]:
    if not ctx.snapshot.airborne:
        return (f'drone is {_LANDED_TEXT[ctx.snapshot.landed_state]}; {ctx.operation} needs '
                f'it airborne')
    return None


def _battery_takeoff(ctx: CheckContext) -> typing.Optional[str]:
    battery = ctx.snapshot.battery_percent
    needed = ctx.envelope.min_battery_takeoff_percent
    # Unknown is refused here: a drone that cannot tell its battery must not leave the ground.
    if not math.isfinite(battery):
        return f'battery level unknown; {ctx.operation} needs at least {_pct(needed)}'
    if battery < needed:
        return f'battery {_pct(battery)} < {_pct(needed)} required for {ctx.operation}'
    return None


def _battery_departure(ctx: CheckContext) -> typing.Optional[str]:
    battery = ctx.snapshot.battery_percent
    needed = ctx.envelope.min_battery_departure_percent
    # Unknown passes: many ground bases publish no battery state at all, and a robot on the
    # ground that runs flat stops where it is instead of falling.
    if math.isfinite(battery) and battery < needed:
        return f'battery {_pct(battery)} < {_pct(needed)} required for {ctx.operation}'
    return None


def _not_docked(ctx: CheckContext) -> typing.Optional[str]:
    if ctx.snapshot.docked:
        hint = '' if ctx.operation == 'dock' else ' (send undock first)'
        return f'robot is docked; {ctx.operation} needs it undocked{hint}'
    return None


def _docked(ctx: CheckContext) -> typing.Optional[str]:
    if not ctx.snapshot.docked:
        return f'robot is not docked; {ctx.operation} needs it docked'
    return None


def _no_payload(ctx: CheckContext) -> typing.Optional[str]:
    carried = ctx.snapshot.payload_id
    if carried:
        return (f'robot already carries payload {carried!r} '
                f'({_num(ctx.snapshot.payload_mass_kg)} kg); {ctx.operation} needs it empty')
    return None


def _payload_within_limit(ctx: CheckContext) -> typing.Optional[str]:
    mass = ctx.params.get('expected_mass_kg', 0.0)
    limit = ctx.envelope.max_payload_kg
    if mass > limit:
        return f'expected_mass_kg={_num(mass)} above the payload limit {_num(limit)} kg'
    return None


def _carries_payload(ctx: CheckContext) -> typing.Optional[str]:
    carried = ctx.snapshot.payload_id
    wanted = ctx.params.get('payload_id', '')
    if not carried:
        return f'robot carries no payload; {ctx.operation} needs one'
    if wanted and carried != wanted:
        return f'robot carries payload {carried!r}, not {wanted!r}'
    return None


LINK_UP = Condition('link_up', 'The link to the platform is up.', _link_up)
ON_GROUND = Condition('on_ground', 'The drone is on the ground.', _on_ground, _DRONE)
AIRBORNE = Condition('airborne', 'The drone is off the ground.', _airborne, _DRONE)
BATTERY_TAKEOFF = Condition(
    'battery_takeoff', 'Battery at least min_battery_takeoff_percent (known).',
    _battery_takeoff, _DRONE)
BATTERY_DEPARTURE = Condition(
    'battery_departure', 'Battery at least min_battery_departure_percent (or unknown).',
    _battery_departure, _GROUND_SURFACE)
NOT_DOCKED = Condition('not_docked', 'The robot is not docked.', _not_docked, _GROUND_SURFACE)
DOCKED = Condition('docked', 'The robot is docked.', _docked, _GROUND_SURFACE)
NO_PAYLOAD = Condition('no_payload', 'The robot carries no payload.', _no_payload)
PAYLOAD_WITHIN_LIMIT = Condition(
    'payload_within_limit', 'expected_mass_kg is at most max_payload_kg.', _payload_within_limit)
CARRIES_PAYLOAD = Condition(
    'carries_payload', 'The robot carries a payload (the one named, if any).', _carries_payload)

# A move that sets off: a drone must already fly; a ground or surface robot must be off its
# dock with enough battery for the way back.
_DEPART = (LINK_UP, AIRBORNE, NOT_DOCKED, BATTERY_DEPARTURE)

# --- Postconditions --------------------------------------------------------------------------


def _at_altitude(ctx: CheckContext) -> typing.Optional[str]:
    target = ctx.params['altitude_m']
    # 5 % scales with the barometer's error at height; 0.5 m covers its noise near the ground.
    tolerance = max(0.5, 0.05 * target)
    z = ctx.snapshot.z_m
    if not ctx.snapshot.airborne:
        return f'drone is {_LANDED_TEXT[ctx.snapshot.landed_state]} after {ctx.operation}'
    if not math.isfinite(z) or abs(z - target) > tolerance:
        return (f'altitude {_num(z)} m is not within {_num(tolerance)} m of the requested '
                f'{_num(target)} m')
    return None


def _landed_disarmed(ctx: CheckContext) -> typing.Optional[str]:
    snapshot = ctx.snapshot
    if snapshot.landed_state is not LandedState.ON_GROUND:
        return f'drone is {_LANDED_TEXT[snapshot.landed_state]} after {ctx.operation}'
    if snapshot.armed:
        return f'drone is on the ground but still armed after {ctx.operation}'
    return None


def _within(ctx: CheckContext, point: LocalPoint, label: str) -> typing.Optional[str]:
    radius = ctx.params['acceptance_radius_m']
    snapshot = ctx.snapshot
    dz = point.z_m - snapshot.z_m if snapshot.platform is Platform.DRONE else 0.0
    # hypot, not a sum of squares: a far-off target must give inf, not an OverflowError.
    distance = math.hypot(point.x_m - snapshot.x_m, point.y_m - snapshot.y_m, dz)
    if not distance <= radius:
        return (f'robot is {_num(distance)} m from the {label} ({_num(point.x_m)}, '
                f'{_num(point.y_m)}, {_num(point.z_m)}); acceptance_radius_m '
                f'{_num(radius)} m')
    return None


def _at_target(ctx: CheckContext) -> typing.Optional[str]:
    return _within(ctx, ctx.params['target'], 'target')


def _at_last_waypoint(ctx: CheckContext) -> typing.Optional[str]:
    waypoints = ctx.params['waypoints']
    return _within(ctx, waypoints[-1], f'last waypoint [{len(waypoints) - 1}]')


def _has_picked_up(ctx: CheckContext) -> typing.Optional[str]:
    wanted = ctx.params['payload_id']
    if ctx.snapshot.payload_id != wanted:
        return (f'robot carries payload {ctx.snapshot.payload_id!r} after {ctx.operation} of '
                f'{wanted!r}')
    return None


def _has_dropped(ctx: CheckContext) -> typing.Optional[str]:
    if ctx.snapshot.payload_id:
        return (f'robot still carries payload {ctx.snapshot.payload_id!r} after '
                f'{ctx.operation}')
    return None


def _ended_docked(ctx: CheckContext) -> typing.Optional[str]:
    if not ctx.snapshot.docked:
        return f'robot is not docked after {ctx.operation}'
    return None


def _ended_undocked(ctx: CheckContext) -> typing.Optional[str]:
    if ctx.snapshot.docked:
        return f'robot is still docked after {ctx.operation}'
    return None


AT_ALTITUDE = Condition(
    'at_altitude', 'Airborne within max(0.5 m, 5 %) of altitude_m.', _at_altitude, _DRONE)
LANDED_DISARMED = Condition(
    'landed_disarmed', 'On the ground and disarmed.', _landed_disarmed, _DRONE)
AT_TARGET = Condition('at_target', 'Within acceptance_radius_m of the target.', _at_target)
AT_LAST_WAYPOINT = Condition(
    'at_last_waypoint', 'Within acceptance_radius_m of the last waypoint.', _at_last_waypoint)
IS_DOCKED = Condition('docked', 'The robot is docked.', _ended_docked)
IS_UNDOCKED = Condition('not_docked', 'The robot is not docked.', _ended_undocked)
PICKED_UP = Condition('carries_payload', 'The robot carries payload_id.', _has_picked_up)
DROPPED = Condition('no_payload', 'The robot carries no payload.', _has_dropped)

# --- Duration estimates ----------------------------------------------------------------------

# Seconds for arming and the flight-mode switch: MAVROS waits up to 5 s for each COMMAND_ACK,
# a healthy autopilot answers well under a second.
_ARMING_MARGIN_S = 5.0
# Metres per second squared a robot is assumed to accelerate and brake at; conservative for
# multirotors (3+), about right for a loaded ground robot or a small vessel.
_ACCEL_MPS2 = 1.0
_VERTICAL_SPEED_MPS = 1.0
_DISARM_MARGIN_S = 3.0
_CAPTURE_S = 1.0
_GRIPPER_S = 10.0
_DOCKING_S = 60.0
_UNDOCK_SPEED_MPS = 0.3
_LINK_BYTES_PER_S = 10000.0
_COMMAND_S = 2.0

_Estimate = typing.Callable[[typing.Mapping[str, typing.Any], RobotSnapshot, SafetyEnvelope],
                            float]


def _ramp_s(speed_mps: float) -> float:
    """Return the seconds a stop-to-stop move at speed takes beyond distance / speed."""
    return speed_mps / _ACCEL_MPS2


def _path_length(snapshot: RobotSnapshot, points: typing.Sequence[LocalPoint]) -> float:
    length = _distance(snapshot, points[0]) if points else 0.0
    drone = snapshot.platform is Platform.DRONE
    for a, b in zip(points, points[1:]):
        dz = b.z_m - a.z_m if drone else 0.0
        length += math.hypot(b.x_m - a.x_m, b.y_m - a.y_m, dz)
    return length


def _est_takeoff(p, snapshot, envelope) -> float:
    climb = max(0.0, p['altitude_m'] - _position(snapshot)[2])
    return climb / p['climb_speed_mps'] + _ARMING_MARGIN_S


def _est_land(p, snapshot, envelope) -> float:
    return max(0.0, _position(snapshot)[2]) / p['descent_speed_mps'] + _DISARM_MARGIN_S


def _est_go_to(p, snapshot, envelope) -> float:
    speed = p['speed_mps']
    return _distance(snapshot, p['target']) / speed + _ramp_s(speed)


def _est_duration(p, snapshot, envelope) -> float:
    return p['duration_s'] + _COMMAND_S


def _est_orbit(p, snapshot, envelope) -> float:
    speed = p['speed_mps']
    to_circle = abs(_distance(snapshot, p['center']) - p['radius_m'])
    circle = 2.0 * math.pi * p['radius_m'] * p['turns']
    return (to_circle + circle) / speed + 2.0 * _ramp_s(speed)


def _est_follow_waypoints(p, snapshot, envelope) -> float:
    speed = p['speed_mps']
    points = p['waypoints']
    # Each waypoint may mean a stop and a new start on platforms that do not blend corners.
    return _path_length(snapshot, points) / speed + len(points) * _ramp_s(speed)


def _est_scan_area(p, snapshot, envelope) -> float:
    speed = p['speed_mps']
    boundary = p['boundary']
    xs = [point.x_m for point in boundary]
    ys = [point.y_m for point in boundary]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    if not math.isfinite(width * height):
        return math.inf
    # Sweep lines along the bounding box: an upper bound for any polygon inside it.
    lines = math.ceil(height / p['line_spacing_m']) + 1
    sweep = lines * width + height
    start = LocalPoint(boundary[0].x_m, boundary[0].y_m, p['altitude_m'])
    transit = _distance(snapshot, start)
    return (transit + sweep) / speed + (lines + 1) * 2.0 * _ramp_s(speed)


def _est_capture_image(p, snapshot, envelope) -> float:
    return (p['count'] - 1) * p['interval_s'] + p['count'] * _CAPTURE_S


def _est_record_video(p, snapshot, envelope) -> float:
    return p['duration_s'] + 2.0 * _COMMAND_S


def _est_gripper(p, snapshot, envelope) -> float:
    return _GRIPPER_S


def _est_return_home(p, snapshot, envelope) -> float:
    speed = p['speed_mps']
    x, y, z = _position(snapshot)
    estimate = math.hypot(x, y) / speed + _ramp_s(speed)
    if snapshot.platform is Platform.DRONE and p['land']:
        estimate += max(0.0, z) / _VERTICAL_SPEED_MPS + _DISARM_MARGIN_S
    return estimate


def _est_dock(p, snapshot, envelope) -> float:
    # The dock's position is the platform's business; one minute covers a slow final approach.
    return _DOCKING_S


def _est_undock(p, snapshot, envelope) -> float:
    return p['distance_m'] / _UNDOCK_SPEED_MPS + _COMMAND_S


def _est_emergency_stop(p, snapshot, envelope) -> float:
    return _COMMAND_S


def _est_emergency_land(p, snapshot, envelope) -> float:
    return max(0.0, _position(snapshot)[2]) / _VERTICAL_SPEED_MPS + _DISARM_MARGIN_S


def _est_send_data(p, snapshot, envelope) -> float:
    return len(p['data']) / _LINK_BYTES_PER_S + _COMMAND_S


def _est_broadcast_status(p, snapshot, envelope) -> float:
    return (p['repeat'] - 1) * p['interval_s'] + _COMMAND_S


def adaptive_timeout_s(estimate_s: float) -> float:
    """
    Return the deadline used when a goal asks for timeout_s 0, from its estimate.

    1.5 x the estimate, plus 10 s, at most 86400 s. The estimate assumes nominal speed; wind,
    current, Nav2 replanning around obstacles and a busy autopilot stretch real runs, and 50 %
    covers those without letting a stuck robot hold its goal for long. The 10 s floor covers
    fixed latencies that dominate short operations (MAVROS waits up to 5 s per command
    acknowledgement; a link hiccup costs a few seconds).

    :param estimate_s: Estimated duration in seconds; NaN or negative counts as 0.
    :return: Seconds.
    """
    if math.isnan(estimate_s) or estimate_s < 0.0:
        estimate_s = 0.0
    return min(86400.0, 1.5 * estimate_s + 10.0)


# --- Specs -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OperationSpec:
    """
    Everything the executor knows about one operation.

    :param name: Action server name, e.g. ``'go_to'`` for ``/<robot_id>/go_to``.
    :param action_type: Action type name, e.g. ``'GoTo'`` (the ``.action`` file).
    :param op_class: How it shares the robot with other operations.
    :param platforms: Platforms that offer it.
    :param params: Its own goal fields, in ``.action`` order (common options excluded).
    :param preconditions: Checked before it starts (each applies to some platforms).
    :param postconditions: Checked when it ends with success.
    :param safe_to_repeat: Whether sending it again after a crash, not knowing whether it ran,
        has the same effect as sending it once.
    :param description: One line.
    :param estimate: Seconds it should take, from normalized fields, a snapshot and the
        envelope.
    """

    name: str
    action_type: str
    op_class: OperationClass
    platforms: typing.FrozenSet[Platform]
    params: typing.Tuple[ParamSpec, ...] = dataclasses.field(repr=False)
    preconditions: typing.Tuple[Condition, ...] = dataclasses.field(repr=False)
    postconditions: typing.Tuple[Condition, ...] = dataclasses.field(repr=False)
    safe_to_repeat: bool
    description: str = dataclasses.field(repr=False)
    estimate: _Estimate = dataclasses.field(repr=False, compare=False)

    def supports(self, platform: Platform) -> bool:
        return Platform(platform) in self.platforms

    def param(self, name: str) -> ParamSpec:
        """
        Return the schema of one of its own fields.

        :raises KeyError: When it has no such field.
        """
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def estimate_duration_s(self, params: typing.Mapping[str, typing.Any],
                            snapshot: RobotSnapshot, envelope: SafetyEnvelope) -> float:
        """Return the expected duration in seconds from normalized fields (speeds resolved)."""
        return float(self.estimate(params, snapshot, envelope))


def _f(name, unit, minimum, maximum, default, description, **kwargs) -> ParamSpec:
    return ParamSpec(name, 'float', unit=unit, minimum=minimum, maximum=maximum,
                     default=default, description=description, **kwargs)


def _speed(default=0.0) -> ParamSpec:
    if default:
        return _f('speed_mps', 'm/s', 0.1, 30.0, default,
                  'Speed, at most the robot speed limit.')
    return _f('speed_mps', 'm/s', 0.1, 30.0, 0.0, 'Speed, at most the robot speed limit.',
              zero_means_default=True, default_meaning='cruise speed')


_ACCEPTANCE = _f('acceptance_radius_m', 'm', 0.1, 50.0, 1.0,
                 'Distance to the target that counts as arrived.')


def _spec(name, action_type, op_class, platforms, params, pre, post, repeat, description,
          estimate) -> OperationSpec:
    return OperationSpec(name, action_type, op_class, frozenset(platforms), tuple(params),
                         tuple(pre), tuple(post), repeat, description, estimate)


_M, _S, _C, _E = (OperationClass.MOTION, OperationClass.SENSING, OperationClass.COMMUNICATION,
                  OperationClass.EMERGENCY)
_D, _G, _W = Platform.DRONE, Platform.GROUND, Platform.SURFACE

_SPECS = (
    _spec('takeoff', 'Takeoff', _M, {_D}, [
        _f('altitude_m', 'm', 1.0, 120.0, 10.0, 'Metres above home.'),
        _f('climb_speed_mps', 'm/s', 0.5, 5.0, 1.5, 'Climb speed.'),
    ], [LINK_UP, ON_GROUND, BATTERY_TAKEOFF], [AT_ALTITUDE], False,
        'Arm and climb vertically to altitude_m above home.', _est_takeoff),
    _spec('land', 'Land', _M, {_D}, [
        _f('descent_speed_mps', 'm/s', 0.2, 3.0, 0.7, 'Descent speed.'),
    ], [LINK_UP, AIRBORNE], [LANDED_DISARMED], False,
        'Descend at the current position, touch down and disarm.', _est_land),
    _spec('go_to', 'GoTo', _M, {_D, _G, _W}, [
        ParamSpec('target', 'waypoint', description='Position to reach.'),
        _speed(), _ACCEPTANCE,
    ], _DEPART, [AT_TARGET], True, 'Move to a target position.', _est_go_to),
    _spec('hover', 'Hover', _M, {_D}, [
        _f('duration_s', 's', 0.0, 3600.0, 5.0, 'How long to hover.'),
    ], [LINK_UP, AIRBORNE], [], True, 'Hold position in the air for duration_s.',
        _est_duration),
    _spec('hold', 'Hold', _M, {_G}, [
        _f('duration_s', 's', 0.0, 3600.0, 5.0, 'How long to hold.'),
    ], [LINK_UP], [], True, 'Stop and hold position for duration_s.', _est_duration),
    _spec('station_keep', 'StationKeep', _M, {_W}, [
        _f('duration_s', 's', 0.0, 86400.0, 30.0, 'How long to keep station.'),
        _f('radius_m', 'm', 1.0, 500.0, 5.0, 'Watch circle the vessel stays inside.'),
    ], [LINK_UP, NOT_DOCKED], [], True,
        'Keep station within radius_m of the current position for duration_s.',
        _est_duration),
    _spec('orbit', 'Orbit', _M, {_D, _W}, [
        ParamSpec('center', 'waypoint', description='Centre of the circle.'),
        _f('radius_m', 'm', 1.0, 500.0, 10.0, 'Radius of the circle.'),
        _speed(2.0),
        _f('turns', '', 0.1, 100.0, 1.0, 'Full turns.'),
        ParamSpec('clockwise', 'bool', default=False, description='Direction of travel.'),
    ], _DEPART, [], False, 'Circle a centre point.', _est_orbit),
    _spec('follow_waypoints', 'FollowWaypoints', _M, {_D, _G, _W}, [
        ParamSpec('waypoints', 'waypoints', min_items=1, max_length=500,
                  description='Waypoints to visit in order.'),
        _speed(), _ACCEPTANCE,
    ], _DEPART, [AT_LAST_WAYPOINT], False, 'Visit waypoints in order.',
        _est_follow_waypoints),
    _spec('scan_area', 'ScanArea', _M, {_D, _G, _W}, [
        ParamSpec('boundary', 'waypoints', min_items=3, max_length=100,
                  description='Polygon corners, all in one frame.'),
        _f('altitude_m', 'm', 1.0, 120.0, 20.0, 'Metres above home (drones).'),
        _f('line_spacing_m', 'm', 0.5, 500.0, 10.0, 'Distance between sweep lines.'),
        _speed(),
        _f('capture_interval_s', 's', 0.1, 60.0, 2.0, 'Seconds between images.'),
    ], _DEPART, [], False, 'Cover a polygon with a lawnmower pattern, capturing images.',
        _est_scan_area),
    # Sensing is not safe_to_repeat: a second run is a second set of images or a second
    # recording (storage, image counts, a mission's photo log), not the same effect.
    _spec('capture_image', 'CaptureImage', _S, {_D, _G, _W}, [
        ParamSpec('camera_id', 'str', default='', description='Camera; empty = default.'),
        ParamSpec('count', 'int', minimum=1, maximum=1000, default=1,
                  description='Images to take.'),
        _f('interval_s', 's', 0.0, 60.0, 0.0, 'Seconds between images.'),
    ], [LINK_UP], [], False, 'Capture images with a camera.', _est_capture_image),
    _spec('record_video', 'RecordVideo', _S, {_D, _G, _W}, [
        ParamSpec('camera_id', 'str', default='', description='Camera; empty = default.'),
        _f('duration_s', 's', 1.0, 7200.0, 10.0, 'Length of the recording.'),
    ], [LINK_UP], [], False, 'Record video for duration_s.', _est_record_video),
    _spec('pickup', 'Pickup', _M, {_D, _G, _W}, [
        ParamSpec('payload_id', 'str', default='', required=True, description='Payload name.'),
        _f('expected_mass_kg', 'kg', 0.0, 500.0, 0.0, 'Payload mass; 0 = unknown.'),
    ], [LINK_UP, NO_PAYLOAD, PAYLOAD_WITHIN_LIMIT], [PICKED_UP], False,
        'Attach a payload at the current position.', _est_gripper),
    _spec('dropoff', 'Dropoff', _M, {_D, _G, _W}, [
        ParamSpec('payload_id', 'str', default='',
                  description='Payload name; empty = whatever the robot carries.'),
    ], [LINK_UP, CARRIES_PAYLOAD], [DROPPED], False,
        'Release the payload at the current position.', _est_gripper),
    _spec('return_home', 'ReturnHome', _M, {_D, _G, _W}, [
        _speed(),
        ParamSpec('land', 'bool', default=True, description='Drones land at home.'),
    ], [LINK_UP, AIRBORNE, NOT_DOCKED], [], False,
        'Go back to the home position; drones land there if land is true.', _est_return_home),
    _spec('dock', 'Dock', _M, {_G, _W}, [
        ParamSpec('dock_id', 'str', default='', required=True, description='Dock name.'),
    ], [LINK_UP, NOT_DOCKED], [IS_DOCKED], False, 'Drive onto a dock or berth.', _est_dock),
    _spec('undock', 'Undock', _M, {_G, _W}, [
        _f('distance_m', 'm', 0.1, 20.0, 1.0, 'Distance to move away from the dock.'),
    ], [LINK_UP, DOCKED, BATTERY_DEPARTURE], [IS_UNDOCKED], False, 'Leave the dock.',
        _est_undock),
    _spec('emergency_stop', 'EmergencyStop', _E, {_D, _G, _W}, [
        ParamSpec('reason', 'str', default='', description='Why, for the log.'),
        ParamSpec('release', 'bool', default=False,
                  description='Clear the latch so that motion goals are accepted again.'),
    ], [], [], True, 'Stop all motion now and hold; latches until released.',
        _est_emergency_stop),
    _spec('emergency_land', 'EmergencyLand', _E, {_D}, [
        ParamSpec('reason', 'str', default='', description='Why, for the log.'),
    ], [], [], True, 'Land now where the drone is.', _est_emergency_land),
    _spec('send_data', 'SendData', _C, {_D, _G, _W}, [
        ParamSpec('destination', 'str', default='', required=True,
                  description='Destination name, e.g. ground_station.'),
        ParamSpec('content_type', 'str', default='', description='MIME type of data.'),
        ParamSpec('data', 'bytes', default=b'', max_length=65536, description='Bytes to send.'),
    ], [LINK_UP], [], False, "Send a payload over the robot's data link.", _est_send_data),
    _spec('broadcast_status', 'BroadcastStatus', _C, {_D, _G, _W}, [
        ParamSpec('message', 'str', default='', max_length=1024, description='Free text.'),
        ParamSpec('repeat', 'int', minimum=1, maximum=100, default=1,
                  description='Times to publish.'),
        _f('interval_s', 's', 0.0, 60.0, 0.0, 'Seconds between publications.'),
    ], [LINK_UP], [], True, "Publish the robot's status to the fleet.",
        _est_broadcast_status),
)

#: Every operation by name, in a stable order.
CATALOG: typing.Mapping[str, OperationSpec] = types.MappingProxyType(
    {spec.name: spec for spec in _SPECS})


def operations_for(platform: Platform) -> typing.Tuple[OperationSpec, ...]:
    """Return the operations a platform offers, in catalog order."""
    platform = Platform(platform)
    return tuple(spec for spec in CATALOG.values() if platform in spec.platforms)


def get_operation(name: str, platform: Platform) -> OperationSpec:
    """
    Return the spec of an operation the platform offers.

    :raises UnsupportedOperationError: With code UNKNOWN_OPERATION when no operation has that
        name, UNSUPPORTED when the platform does not offer it.
    """
    platform = Platform(platform)
    spec = CATALOG.get(name)
    if spec is None:
        raise UnsupportedOperationError(
            f'unknown operation {name!r}; known: {", ".join(CATALOG)}',
            code=ErrorCode.UNKNOWN_OPERATION)
    if platform not in spec.platforms:
        offered = ', '.join(s.name for s in operations_for(platform))
        raise UnsupportedOperationError(
            f'{platform.value} robots cannot {name}; they offer {offered}')
    return spec


# --- Preparation -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PreparedOperation:
    """
    An operation whose goal passed every check, ready for the platform.

    :param spec: The operation.
    :param params: Normalized goal fields (waypoints as local points, speed 0 resolved to the
        cruise speed), common options included.
    :param estimate_s: Expected duration in seconds.
    :param timeout_s: Deadline in seconds: the goal's own, or the adaptive one.
    :param envelope: The envelope it was checked against.
    """

    spec: OperationSpec
    params: typing.Mapping[str, typing.Any]
    estimate_s: float
    timeout_s: float
    envelope: SafetyEnvelope = dataclasses.field(repr=False)

    @property
    def operation_id(self) -> str:
        return self.params['operation_id']

    @property
    def priority(self) -> int:
        return self.params['priority']


def _start(snapshot: RobotSnapshot) -> typing.Optional[typing.Tuple[float, float]]:
    if math.isfinite(snapshot.x_m) and math.isfinite(snapshot.y_m):
        return snapshot.x_m, snapshot.y_m
    return None


def _circle(center: LocalPoint, radius_m: float, sides: int = 32):
    # Vertices of the polygon circumscribed around the circle: if it is inside the fence, the
    # circle is too.
    reach = radius_m / math.cos(math.pi / sides)
    return [(center.x_m + reach * math.cos(2.0 * math.pi * k / sides),
             center.y_m + reach * math.sin(2.0 * math.pi * k / sides)) for k in range(sides)]


def _check_envelope(spec: OperationSpec, params: typing.Dict[str, typing.Any],
                    snapshot: RobotSnapshot, envelope: SafetyEnvelope) -> None:
    drone = snapshot.platform is Platform.DRONE
    for param in spec.params:
        value = params[param.name]
        if param.unit == 'm/s':
            if param.zero_means_default:
                params[param.name] = envelope.resolve_speed(value, label=param.name)
            else:
                envelope.check_speed(value, label=param.name)
        elif param.name == 'altitude_m' and drone:
            envelope.check_altitude(value)
    if spec.name == 'return_home':
        # Home is the way out of trouble: a fence edited while the robot is out, or one that
        # leaves home outside, must not be able to refuse it.
        return
    start = _start(snapshot)
    for param in spec.params:
        if param.kind == 'waypoint':
            point = params[param.name]
            if drone:
                envelope.check_altitude(point.z_m, label=f'{param.name}.altitude_m')
            if spec.name == 'orbit':
                envelope.check_path(_circle(point, params['radius_m']), start=start,
                                    closed=True, label='orbit circle')
            else:
                envelope.check_point(point.x_m, point.y_m, label=param.name)
                if start is not None and envelope.contains(*start):
                    envelope.check_segment(start, point, label=f'path to {param.name}')
        elif param.kind == 'waypoints':
            points = params[param.name]
            if drone:
                for index, point in enumerate(points):
                    envelope.check_altitude(
                        point.z_m, label=f'{param.name}[{index}].altitude_m')
            envelope.check_path(points, start=start, closed=spec.name == 'scan_area',
                                label=param.name)
    if spec.name == 'scan_area':
        lines = sweep_line_count(params['boundary'], params['line_spacing_m'])
        if lines > MAX_SWEEP_LINES:
            raise ExecutionError(
                f'scan_area needs {lines:.3g} sweep lines at line_spacing_m='
                f'{params["line_spacing_m"]} m, more than {MAX_SWEEP_LINES}: widen the spacing '
                f'or split the area', code=901)
        # The sweep legs cross the polygon's inside; over a notch of a concave area they may
        # leave the fence even though every corner is inside it.
        envelope.check_path(
            lawnmower_path(params['boundary'], params['line_spacing_m'], params['altitude_m']),
            start=None, label='scan sweep')


def prepare(spec: OperationSpec, raw_params: typing.Optional[typing.Mapping[str, typing.Any]],
            *, snapshot: RobotSnapshot, envelope: SafetyEnvelope,
            home: typing.Optional[GeoPoint]) -> PreparedOperation:
    """
    Check a goal against its schema, the envelope and the robot, and resolve it.

    :param spec: The operation, e.g. from :func:`get_operation`.
    :param raw_params: Goal fields by name (common options included).
    :param snapshot: The robot's state now.
    :param envelope: The robot's safety envelope.
    :param home: Geographic position of the local frame's origin; None when unknown.
    :return: The operation with normalized fields, its estimate and its deadline.
    :raises UnsupportedOperationError: When the robot's platform does not offer it.
    :raises InvalidParametersError: When a field fails its schema.
    :raises GeofenceViolationError: When a target or a leg of the path leaves the fence.
    :raises AltitudeLimitError: When a drone target is above the ceiling.
    :raises SpeedLimitError: When a speed exceeds the robot's limit.
    :raises PreconditionFailedError: When the robot is not in a state to start (every failed
        condition is named), or a geographic waypoint arrives while home is unknown.
    """
    if not spec.supports(snapshot.platform):
        raise UnsupportedOperationError(
            f'{Platform(snapshot.platform).value} robots cannot {spec.name}')
    params = validate_params(spec.params, raw_params, home=home, operation=spec.name)
    _check_envelope(spec, params, snapshot, envelope)
    context = CheckContext(spec.name, params, snapshot, envelope)
    failures = [reason for reason in (check(context) for check in spec.preconditions)
                if reason]
    if failures:
        raise PreconditionFailedError('; '.join(failures))
    estimate_s = spec.estimate_duration_s(params, snapshot, envelope)
    timeout_s = params['timeout_s'] or adaptive_timeout_s(estimate_s)
    return PreparedOperation(spec, types.MappingProxyType(params), estimate_s, timeout_s,
                             envelope)


def check_postconditions(prepared: PreparedOperation, snapshot: RobotSnapshot) -> None:
    """
    Check that the robot is where a successful operation should have left it.

    :raises PostconditionFailedError: Naming every condition that does not hold, with the
        observed values.
    """
    context = CheckContext(prepared.spec.name, prepared.params, snapshot, prepared.envelope)
    failures = [reason for reason in (check(context) for check in prepared.spec.postconditions)
                if reason]
    if failures:
        raise PostconditionFailedError('; '.join(failures))
