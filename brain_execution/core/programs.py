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
The programs that carry out each operation on any platform bridge.

Parameters arrive validated and normalised by :func:`brain_execution.core.catalog.prepare`:
positions are :class:`~brain_execution.core.geo.LocalPoint` in the local ENU frame and a speed
of 0 has been replaced by the robot's cruise speed. Composite motions (orbit, waypoints, area
scans, return home) are built from the bridge's ``go_to`` so that every platform that can go
to a point can do them.
"""

import math
import typing

from .coverage import lawnmower_path, polygon_area_m2
from .errors import ExecutionError
from .geo import LocalPoint
from .program import Program, ProgramContext
from .state import LandedState, Platform, RobotSnapshot

__all__ = ['PROGRAMS', 'orbit_points']

# Takeoff counts as reached within this fraction of the target (and at least 0.3 m); the
# catalog's postcondition is looser, so a program that returns has met it.
_ALTITUDE_TOLERANCE = 0.03
# Composite motions switch to the next point this far before reaching it, so a vehicle does
# not brake to a stop at every intermediate point of an orbit or a sweep.
_PASS_RADIUS_M = 1.5
_ORBIT_STEP_RAD = math.radians(15.0)
# ReturnHome has no descent field; PX4's default RTL descent (MPC_LAND_SPEED) is 0.7 m/s near
# the ground, faster higher up: 1.5 m/s is a conservative middle for the whole descent.
_RETURN_DESCENT_MPS = 1.5


def _position(s: RobotSnapshot) -> typing.Dict[str, float]:
    return {'x': s.x_m, 'y': s.y_m, 'z': s.z_m}


def _travel_altitude(ctx: ProgramContext, point: LocalPoint) -> float:
    # Ground and surface robots have no altitude; drones fly at the requested one.
    return point.z_m if ctx.bridge.platform is Platform.DRONE else 0.0


def _go_to(ctx: ProgramContext, point: LocalPoint, speed_mps: float, radius_m: float,
           phase: str = 'cruising', progress_span: typing.Tuple[float, float] = (0.0, 1.0)):
    """Drive to one point, reporting distance and progress; return the final snapshot."""
    z = _travel_altitude(ctx, point)
    handle = ctx.bridge.go_to(x_m=point.x_m, y_m=point.y_m, z_m=z, speed_mps=speed_mps,
                              yaw_rad=point.yaw_rad)
    yield from ctx.command(handle, phase=phase)
    use_z = ctx.bridge.platform is Platform.DRONE
    start = ctx.snapshot.distance_to(point.x_m, point.y_m, z if use_z else None)
    lo, hi = progress_span

    def distance(s: RobotSnapshot) -> float:
        return s.distance_to(point.x_m, point.y_m, z if use_z else None)

    def on_tick(s: RobotSnapshot) -> None:
        d = distance(s)
        done = 1.0 if start <= radius_m else min(1.0, max(0.0, (start - d) / (start - radius_m)))
        ctx.report(progress=lo + (hi - lo) * done, distance_remaining_m=max(0.0, d - radius_m),
                   eta_s=max(0.0, d - radius_m) / max(speed_mps, 0.1), position=_position(s))

    return (yield from ctx.wait_until(lambda s: distance(s) <= radius_m, on_tick,
                                      until=handle))


def _follow(ctx: ProgramContext, points: typing.Sequence[LocalPoint], speed_mps: float,
            radius_m: float, on_point: typing.Callable[[int], None] = None,
            on_tick: typing.Callable[[RobotSnapshot], None] = None):
    """Visit points in order; intermediate ones are passed, the last one is reached."""
    n = len(points)
    for i, point in enumerate(points):
        last = i == n - 1
        z = _travel_altitude(ctx, point)
        handle = ctx.bridge.go_to(x_m=point.x_m, y_m=point.y_m, z_m=z, speed_mps=speed_mps,
                                  yaw_rad=point.yaw_rad)
        yield from ctx.command(handle)
        reach = radius_m if last else max(radius_m, _PASS_RADIUS_M)
        use_z = ctx.bridge.platform is Platform.DRONE

        def tick(s: RobotSnapshot, point=point, z=z) -> None:
            d = s.distance_to(point.x_m, point.y_m, z if use_z else None)
            remaining = d + sum(_distance(a, b) for a, b in zip(points[i:], points[i + 1:]))
            ctx.report(progress=(i + max(0.0, 1.0 - d / max(d, reach, 1e-6))) / n,
                       distance_remaining_m=remaining, eta_s=remaining / max(speed_mps, 0.1),
                       position=_position(s), current_waypoint=i)
            if on_tick is not None:
                on_tick(s)

        # A platform that reports the point reached (a navigation stack's goal tolerance, a
        # chartplotter's perpendicular passage) moves on to the next one too: a vessel that
        # passed a point just outside ``reach`` would otherwise turn back for it.
        yield from ctx.wait_until(
            lambda s, point=point, z=z: s.distance_to(
                point.x_m, point.y_m, z if use_z else None) <= reach, tick, until=handle)
        if on_point is not None:
            on_point(i)


def _distance(a: LocalPoint, b: LocalPoint) -> float:
    return math.dist((a.x_m, a.y_m, a.z_m), (b.x_m, b.y_m, b.z_m))


def takeoff(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    target = p['altitude_m']
    if not ctx.snapshot.armed:
        yield from ctx.command(ctx.bridge.arm(), phase='arming')
    yield from ctx.command(
        ctx.bridge.takeoff(altitude_m=target, climb_speed_mps=p['climb_speed_mps']),
        phase='taking off')
    tolerance = max(0.3, _ALTITUDE_TOLERANCE * target)

    def on_tick(s: RobotSnapshot) -> None:
        ctx.report(progress=s.z_m / target, phase='climbing',
                   distance_remaining_m=max(0.0, target - s.z_m),
                   eta_s=max(0.0, target - s.z_m) / p['climb_speed_mps'], altitude_m=s.z_m)

    s = yield from ctx.wait_until(lambda s: s.z_m >= target - tolerance, on_tick)
    return {'altitude_m': s.z_m}


def land(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    yield from ctx.command(ctx.bridge.land(descent_speed_mps=p['descent_speed_mps']),
                           phase='landing')
    return (yield from _touch_down_and_disarm(ctx, p['descent_speed_mps']))


def _touch_down_and_disarm(ctx: ProgramContext, descent_speed_mps: float,
                           progress_from: float = 0.0):
    start_z = max(ctx.snapshot.z_m, 0.1)

    def on_tick(s: RobotSnapshot) -> None:
        done = 1.0 - max(0.0, s.z_m) / start_z
        ctx.report(progress=progress_from + (1.0 - progress_from) * done, phase='descending',
                   distance_remaining_m=max(0.0, s.z_m),
                   eta_s=max(0.0, s.z_m) / descent_speed_mps, altitude_m=s.z_m)

    yield from ctx.wait_until(lambda s: s.landed_state == LandedState.ON_GROUND, on_tick)
    if ctx.snapshot.armed:
        yield from ctx.command(ctx.bridge.disarm(), phase='disarming')
        yield from ctx.wait_until(lambda s: not s.armed)
    return {'disarmed': True}


def go_to(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    s = yield from _go_to(ctx, p['target'], p['speed_mps'], p['acceptance_radius_m'])
    t = p['target']
    use_z = ctx.bridge.platform is Platform.DRONE
    return {'position': _position(s),
            'distance_to_target_m': s.distance_to(t.x_m, t.y_m, t.z_m if use_z else None)}


def hold_position(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    """Hover, hold and station-keep: hold here for duration_s, measuring the drift."""
    yield from ctx.command(ctx.bridge.hold(), phase='holding')
    origin = ctx.snapshot
    drift = [0.0]

    def on_tick(s: RobotSnapshot) -> None:
        drift[0] = max(drift[0], s.distance_to(origin.x_m, origin.y_m, origin.z_m))

    yield from ctx.wait_for(p['duration_s'], on_tick)
    return {'max_drift_m': drift[0]}


def orbit_points(center: LocalPoint, radius_m: float, turns: float, clockwise: bool,
                 start_angle_rad: float) -> typing.List[LocalPoint]:
    """Return points on a circle from start_angle_rad, ``turns`` times round."""
    total = 2.0 * math.pi * turns
    steps = max(1, int(math.ceil(total / _ORBIT_STEP_RAD)))
    sign = -1.0 if clockwise else 1.0
    angles = [start_angle_rad + sign * total * k / steps for k in range(steps + 1)]
    return [LocalPoint(x_m=center.x_m + radius_m * math.cos(a),
                       y_m=center.y_m + radius_m * math.sin(a), z_m=center.z_m)
            for a in angles]


def orbit(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    center, radius, turns = p['center'], p['radius_m'], p['turns']
    s = ctx.snapshot
    start = math.atan2(s.y_m - center.y_m, s.x_m - center.x_m)
    points = orbit_points(center, radius, turns, p['clockwise'], start)
    done = [0]

    def on_point(i: int) -> None:
        done[0] = i
        ctx.report(turns_completed=turns * i / (len(points) - 1))

    yield from _follow(ctx, points, p['speed_mps'], _PASS_RADIUS_M, on_point)
    return {'turns_completed': turns * done[0] / (len(points) - 1)}


def follow_waypoints(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    native = ctx.bridge.follow_waypoints(points=p['waypoints'], speed_mps=p['speed_mps'],
                                         acceptance_radius_m=p['acceptance_radius_m'])
    if native is not None:
        return (yield from _follow_natively(ctx, native, len(p['waypoints'])))
    completed = [0]

    def on_point(i: int) -> None:
        completed[0] = i + 1

    yield from _follow(ctx, p['waypoints'], p['speed_mps'], p['acceptance_radius_m'], on_point)
    return {'waypoints_completed': completed[0]}


def _follow_natively(ctx: ProgramContext, handle, count: int):
    """Let the platform's own waypoint follower drive the route, reporting its feedback."""
    yield from ctx.command(handle, phase='following')

    def on_tick(s: RobotSnapshot) -> None:
        current = int(handle.feedback.get('current_waypoint', 0))
        ctx.report(progress=current / count, current_waypoint=current, position=_position(s))

    completed = yield from ctx.wait_finished(handle, on_tick)
    return {'waypoints_completed': count if completed is None else int(completed)}


def scan_area(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    path = lawnmower_path(p['boundary'], p['line_spacing_m'], p['altitude_m'])
    if not path:
        raise ExecutionError('boundary is narrower than one sweep line; nothing to scan',
                             code=901, retryable=False)
    images = []
    next_capture = [ctx.now]

    def on_tick(_: RobotSnapshot) -> None:
        if ctx.now >= next_capture[0]:
            next_capture[0] = ctx.now + p['capture_interval_s']
            images.append(ctx.bridge.capture_image(camera_id=''))
            ctx.report(images_captured=len(images))

    yield from _follow(ctx, path, p['speed_mps'], _PASS_RADIUS_M, on_tick=on_tick)
    for handle in images:
        yield from ctx.command(handle, phase='saving images')
    return {'area_covered_m2': polygon_area_m2(p['boundary']), 'images_captured': len(images)}


def capture_image(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    uris = []
    for i in range(p['count']):
        if i:
            yield from ctx.wait_for(p['interval_s'])
        uris.append((yield from ctx.command(ctx.bridge.capture_image(camera_id=p['camera_id']),
                                            phase='capturing')))
        ctx.report(progress=(i + 1) / p['count'], images_captured=i + 1)
    return {'image_uris': uris}


def record_video(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    camera = p['camera_id']
    yield from ctx.command(ctx.bridge.start_recording(camera_id=camera), phase='starting')
    started = ctx.now
    try:
        ctx.report(phase='recording')
        yield from ctx.wait_for(p['duration_s'])
    finally:
        # A canceled or timed-out recording is stopped too; its URI is then simply dropped.
        stop = ctx.bridge.stop_recording(camera_id=camera)
    uri = yield from ctx.command(stop, phase='stopping')
    return {'video_uri': uri, 'recorded_s': ctx.now - started}


def pickup(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    mass = yield from ctx.command(
        ctx.bridge.attach_payload(payload_id=p['payload_id'],
                                  expected_mass_kg=p['expected_mass_kg']), phase='attaching')
    return {'measured_mass_kg': math.nan if mass is None else float(mass)}


def dropoff(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    released = yield from ctx.command(ctx.bridge.release_payload(), phase='releasing')
    return {'payload_id': released or p['payload_id']}


def return_home(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    drone = ctx.bridge.platform is Platform.DRONE
    native = ctx.bridge.return_home(speed_mps=p['speed_mps'], land=drone and p['land'])
    if native is not None:
        yield from ctx.command(native, phase='returning')
        yield from ctx.wait_finished(native, lambda s: ctx.report(
            distance_remaining_m=s.distance_to(0.0, 0.0), position=_position(s)))
        return {'distance_to_home_m': ctx.snapshot.distance_to(0.0, 0.0)}
    home = LocalPoint(x_m=0.0, y_m=0.0, z_m=ctx.snapshot.z_m if drone else 0.0)
    s = yield from _go_to(ctx, home, p['speed_mps'], 1.0, phase='returning',
                          progress_span=(0.0, 0.8 if drone and p['land'] else 1.0))
    if drone and p['land']:
        yield from ctx.command(ctx.bridge.land(descent_speed_mps=_RETURN_DESCENT_MPS),
                               phase='landing')
        yield from _touch_down_and_disarm(ctx, _RETURN_DESCENT_MPS, progress_from=0.8)
        s = ctx.snapshot
    return {'distance_to_home_m': s.distance_to(0.0, 0.0)}


def dock(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    yield from ctx.command(ctx.bridge.dock(dock_id=p['dock_id']), phase='docking')
    yield from ctx.wait_until(lambda s: s.docked)
    return {'docked': True}


def undock(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    yield from ctx.command(ctx.bridge.undock(distance_m=p['distance_m']), phase='undocking')
    yield from ctx.wait_until(lambda s: not s.docked)
    return {'docked': False}


def emergency_stop(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    # The runtime has already commanded the stop synchronously when the goal arrived (see
    # RobotRuntime.submit); here only its acknowledgement is awaited and reported.
    if p['release']:
        return {'command_latency_s': 0.0, 'command_stamp': 0.0}
    yield from ctx.command(ctx.hooks['emergency_handle'](), phase='stopping')
    stamp, latency = ctx.hooks['emergency_timing']()
    return {'command_latency_s': latency, 'command_stamp': stamp}


def emergency_land(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    yield from ctx.command(ctx.hooks['emergency_handle'](), phase='landing')
    result = yield from _touch_down_and_disarm(ctx, 1.0)
    return dict(result, command_stamp=ctx.hooks['emergency_timing']()[0])


def send_data(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    sent = yield from ctx.command(
        ctx.bridge.send_data(destination=p['destination'], content_type=p['content_type'],
                             data=p['data']), phase='sending')
    return {'bytes_sent': int(sent if sent is not None else len(p['data']))}


def broadcast_status(ctx: ProgramContext, p: typing.Mapping[str, typing.Any]):
    sent = 0
    for i in range(p['repeat']):
        if i:
            yield from ctx.wait_for(p['interval_s'])
        ctx.call_hook('broadcast', p['message'])
        sent += 1
        ctx.report(progress=sent / p['repeat'], phase='broadcasting')
    return {'messages_sent': sent}


PROGRAMS: typing.Mapping[str, Program] = {
    'takeoff': takeoff,
    'land': land,
    'go_to': go_to,
    'hover': hold_position,
    'hold': hold_position,
    'station_keep': hold_position,
    'orbit': orbit,
    'follow_waypoints': follow_waypoints,
    'scan_area': scan_area,
    'capture_image': capture_image,
    'record_video': record_video,
    'pickup': pickup,
    'dropoff': dropoff,
    'return_home': return_home,
    'dock': dock,
    'undock': undock,
    'emergency_stop': emergency_stop,
    'emergency_land': emergency_land,
    'send_data': send_data,
    'broadcast_status': broadcast_status,
}
