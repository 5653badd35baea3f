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
The safety envelope of one robot: geofence, altitude ceiling, speed, battery and payload.

All positions are in the robot's local ENU frame (metres from home). The geofence is any
simple polygon, convex or not; points on its boundary count as inside. A straight path is
inside only if every point of it is, which for a non-convex fence is more than both ends
being inside: :meth:`SafetyEnvelope.check_segment` splits the segment where it meets the
fence's edges and tests each piece.
"""

import collections.abc
import dataclasses
import math
import typing

from .errors import AltitudeLimitError, GeofenceViolationError, SpeedLimitError

__all__ = ['SafetyEnvelope']

XY = typing.Tuple[float, float]

# Metres: positions closer than this to the fence boundary count as on it. Far below any
# position accuracy (RTK is centimetres) and far above float rounding at mission scale.
_EPS_M = 1e-6


def _num(value: float) -> str:
    return repr(round(float(value), 3))


def _xy(point: typing.Any) -> XY:
    """Return (x, y) of a LocalPoint-like object, a mapping with x_m/y_m, or a pair."""
    if hasattr(point, 'x_m'):
        return float(point.x_m), float(point.y_m)
    if isinstance(point, collections.abc.Mapping):
        return float(point['x_m']), float(point['y_m'])
    x, y = point[0], point[1]
    return float(x), float(y)


def _cross(ox, oy, ax, ay, bx, by) -> float:
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


def _distance_to_segment(px, py, ax, ay, bx, by) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0.0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _edges(polygon: typing.Sequence[XY]):
    for index, start in enumerate(polygon):
        yield start, polygon[(index + 1) % len(polygon)]


def _inside(polygon: typing.Sequence[XY], x: float, y: float) -> bool:
    """Return whether a point lies inside a simple polygon or on its boundary."""
    inside = False
    for (ax, ay), (bx, by) in _edges(polygon):
        if _distance_to_segment(x, y, ax, ay, bx, by) <= _EPS_M:
            return True
        if (ay > y) != (by > y):
            crossing_x = ax + (y - ay) * (bx - ax) / (by - ay)
            if x < crossing_x:
                inside = not inside
    return inside


def _meeting_params(p: XY, q: XY, a: XY, b: XY) -> typing.List[float]:
    """Return where (as fractions 0..1 of p->q) segment p->q touches or overlaps a->b."""
    rx, ry = q[0] - p[0], q[1] - p[1]
    sx, sy = b[0] - a[0], b[1] - a[1]
    r2 = rx * rx + ry * ry
    if r2 == 0.0:
        return []
    denom = rx * sy - ry * sx
    apx, apy = a[0] - p[0], a[1] - p[1]
    if abs(denom) > 1e-12 * math.sqrt(r2 * (sx * sx + sy * sy)):
        t = (apx * sy - apy * sx) / denom
        u = (apx * ry - apy * rx) / denom
        slack = 1e-9
        if -slack <= t <= 1.0 + slack and -slack <= u <= 1.0 + slack:
            return [min(1.0, max(0.0, t))]
        return []
    # Parallel: only a collinear overlap matters; its ends are where p->q may change side.
    if abs(apx * ry - apy * rx) / math.sqrt(r2) > _EPS_M:
        return []
    params = []
    for ex, ey in (a, b):
        t = ((ex - p[0]) * rx + (ey - p[1]) * ry) / r2
        if 0.0 <= t <= 1.0:
            params.append(t)
    return params


def _segments_intersect(a: XY, b: XY, c: XY, d: XY) -> bool:
    return bool(_meeting_params(a, b, c, d)) or bool(_meeting_params(c, d, a, b))


@dataclasses.dataclass(frozen=True)
class SafetyEnvelope:
    """
    Limits every operation of one robot is checked against before it starts.

    :param geofence: Vertices ``(x_m, y_m)`` of a simple polygon in the local ENU frame, in
        either winding; empty = no fence.
    :param altitude_ceiling_m: Highest target altitude above home, metres (drones).
    :param max_speed_mps: Highest speed a goal may request, metres per second.
    :param cruise_speed_mps: Speed used when a goal asks for 0 (= cruise), metres per second.
    :param min_battery_takeoff_percent: Battery a drone needs to take off, percent.
    :param min_battery_departure_percent: Battery a ground or surface robot needs to set off
        (leave the dock or start a move), percent.
    :param return_home_battery_percent: Below this the robot should go home, percent.
    :param max_payload_kg: Heaviest payload the robot may pick up, kilograms.
    :raises ValueError: When a limit is not finite, negative, inconsistent, or the fence is not
        a simple polygon of at least three vertices.
    """

    geofence: typing.Tuple[XY, ...] = ()
    altitude_ceiling_m: float = 120.0
    max_speed_mps: float = 15.0
    cruise_speed_mps: float = 5.0
    min_battery_takeoff_percent: float = 30.0
    min_battery_departure_percent: float = 20.0
    return_home_battery_percent: float = 25.0
    max_payload_kg: float = 2.0

    def __post_init__(self):
        for name in ('altitude_ceiling_m', 'max_speed_mps', 'cruise_speed_mps',
                     'min_battery_takeoff_percent', 'min_battery_departure_percent',
                     'return_home_battery_percent', 'max_payload_kg'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value):
                raise ValueError(f'SafetyEnvelope.{name}={value!r} is not a finite number')
            object.__setattr__(self, name, float(value))
        if self.altitude_ceiling_m <= 0.0:
            raise ValueError(
                f'SafetyEnvelope.altitude_ceiling_m={self.altitude_ceiling_m} must be > 0')
        if self.max_speed_mps <= 0.0:
            raise ValueError(f'SafetyEnvelope.max_speed_mps={self.max_speed_mps} must be > 0')
        if not 0.0 < self.cruise_speed_mps <= self.max_speed_mps:
            raise ValueError(
                f'SafetyEnvelope.cruise_speed_mps={self.cruise_speed_mps} must be in '
                f'(0, max_speed_mps={self.max_speed_mps}]')
        for name in ('min_battery_takeoff_percent', 'min_battery_departure_percent',
                     'return_home_battery_percent'):
            if not 0.0 <= getattr(self, name) <= 100.0:
                raise ValueError(f'SafetyEnvelope.{name}={getattr(self, name)} must be in '
                                 f'[0, 100] percent')
        if self.max_payload_kg < 0.0:
            raise ValueError(f'SafetyEnvelope.max_payload_kg={self.max_payload_kg} must be >= 0')
        object.__setattr__(self, 'geofence', self._checked_fence(self.geofence))

    @staticmethod
    def _checked_fence(vertices) -> typing.Tuple[XY, ...]:
        try:
            fence = tuple((float(x), float(y)) for x, y in vertices)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f'SafetyEnvelope.geofence must be a sequence of (x_m, y_m) pairs: {e}') from e
        if not fence:
            return fence
        if len(fence) < 3:
            raise ValueError(
                f'SafetyEnvelope.geofence has {len(fence)} vertices; a polygon needs at least 3')
        if not all(math.isfinite(c) for vertex in fence for c in vertex):
            raise ValueError('SafetyEnvelope.geofence has a vertex that is not finite')
        edges = list(_edges(fence))
        for index, (a, b) in enumerate(edges):
            if math.hypot(b[0] - a[0], b[1] - a[1]) <= _EPS_M:
                raise ValueError(f'SafetyEnvelope.geofence repeats vertex {index} {a}')
        count = len(edges)
        for i in range(count):
            for j in range(i + 1, count):
                adjacent = j == i + 1 or (i == 0 and j == count - 1)
                a, b = edges[i]
                c, d = edges[j]
                if adjacent:
                    # Neighbours share a vertex; they are wrong only if they fold back on
                    # each other (collinear overlap longer than the shared point).
                    shared = b if j == i + 1 else a
                    other_i = a if shared == b else b
                    other_j = d if shared == c else c
                    if abs(_cross(*shared, *other_i, *other_j)) <= _EPS_M and \
                            ((other_i[0] - shared[0]) * (other_j[0] - shared[0]) +
                             (other_i[1] - shared[1]) * (other_j[1] - shared[1])) > 0.0:
                        raise ValueError(
                            f'SafetyEnvelope.geofence folds back on itself at {shared}')
                elif _segments_intersect(a, b, c, d):
                    raise ValueError(
                        f'SafetyEnvelope.geofence is self-intersecting: edge {a}-{b} meets '
                        f'edge {c}-{d}')
        area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in edges)
        if abs(area2) <= _EPS_M:
            raise ValueError('SafetyEnvelope.geofence has zero area')
        return fence

    # --- Geofence ---------------------------------------------------------------------------

    def describe_fence(self) -> str:
        """Return a short text naming the fence, for error messages."""
        if not self.geofence:
            return 'no geofence'
        xs = [x for x, _ in self.geofence]
        ys = [y for _, y in self.geofence]
        return (f'geofence of {len(self.geofence)} vertices spanning x {_num(min(xs))}..'
                f'{_num(max(xs))} m, y {_num(min(ys))}..{_num(max(ys))} m')

    def contains(self, x_m: float, y_m: float) -> bool:
        """Return whether a point is inside the fence (or on it); True without a fence."""
        return not self.geofence or _inside(self.geofence, float(x_m), float(y_m))

    def check_point(self, x_m: float, y_m: float, *, label: str = 'target') -> None:
        """
        Refuse a point outside the fence.

        :param label: Name of the point in the message, e.g. ``'waypoints[2]'``.
        :raises GeofenceViolationError: When the point lies outside the fence.
        """
        if not self.contains(x_m, y_m):
            raise GeofenceViolationError(
                f'{label} (x_m={_num(x_m)}, y_m={_num(y_m)}) is outside the '
                f'{self.describe_fence()}')

    def check_segment(self, start: typing.Any, end: typing.Any, *,
                      label: str = 'path') -> None:
        """
        Refuse a straight move that leaves the fence anywhere along the way.

        :param start: Start point: ``(x_m, y_m)``, a LocalPoint or a mapping with x_m/y_m.
        :param end: End point, same forms.
        :param label: Name of the segment in the message.
        :raises GeofenceViolationError: When an end, or any point between, is outside.
        """
        if not self.geofence:
            return
        p, q = _xy(start), _xy(end)
        self.check_point(*p, label=f'{label} start')
        self.check_point(*q, label=f'{label} end')
        cuts = {0.0, 1.0}
        for a, b in _edges(self.geofence):
            cuts.update(_meeting_params(p, q, a, b))
        ordered = sorted(cuts)
        for t0, t1 in zip(ordered, ordered[1:]):
            if t1 - t0 <= 1e-12:
                continue
            tm = 0.5 * (t0 + t1)
            mx, my = p[0] + tm * (q[0] - p[0]), p[1] + tm * (q[1] - p[1])
            if not _inside(self.geofence, mx, my):
                ex, ey = p[0] + t0 * (q[0] - p[0]), p[1] + t0 * (q[1] - p[1])
                raise GeofenceViolationError(
                    f'{label} from ({_num(p[0])}, {_num(p[1])}) to ({_num(q[0])}, '
                    f'{_num(q[1])}) leaves the {self.describe_fence()} at ({_num(ex)}, '
                    f'{_num(ey)})')

    def check_path(self, points: typing.Sequence[typing.Any], *,
                   start: typing.Any = None, closed: bool = False,
                   label: str = 'waypoints') -> None:
        """
        Refuse a polyline with a point or a leg outside the fence.

        :param points: Vertices in order, each ``(x_m, y_m)``, a LocalPoint or a mapping.
        :param start: Where the robot is now; the leg to the first point is checked only when
            the start is inside the fence, so that a robot outside it may still come back.
        :param closed: Also check the leg from the last point back to the first (a polygon).
        :param label: Name of the path in messages; points are named ``label[i]``.
        :raises GeofenceViolationError: When any point or leg is outside.
        """
        if not self.geofence:
            return
        xys = [_xy(point) for point in points]
        for index, (x, y) in enumerate(xys):
            self.check_point(x, y, label=f'{label}[{index}]')
        if start is not None and xys:
            sx, sy = _xy(start)
            if math.isfinite(sx) and math.isfinite(sy) and self.contains(sx, sy):
                self.check_segment((sx, sy), xys[0], label=f'leg to {label}[0]')
        legs = list(zip(range(len(xys)), xys, xys[1:]))
        if closed and len(xys) > 2:
            legs.append((len(xys) - 1, xys[-1], xys[0]))
        for index, a, b in legs:
            following = (index + 1) % len(xys)
            self.check_segment(a, b, label=f'leg {label}[{index}]->{label}[{following}]')

    # --- Altitude, speed, battery -----------------------------------------------------------

    def check_altitude(self, altitude_m: float, *, label: str = 'altitude_m') -> None:
        """
        Refuse a target above the ceiling.

        :raises AltitudeLimitError: When ``altitude_m`` exceeds :attr:`altitude_ceiling_m`.
        """
        if altitude_m > self.altitude_ceiling_m:
            raise AltitudeLimitError(
                f'{label}={_num(altitude_m)} above ceiling {_num(self.altitude_ceiling_m)} m')

    def check_speed(self, speed_mps: float, *, label: str = 'speed_mps') -> None:
        """
        Refuse a speed above the limit.

        :raises SpeedLimitError: When ``speed_mps`` exceeds :attr:`max_speed_mps`.
        """
        if speed_mps > self.max_speed_mps:
            raise SpeedLimitError(
                f'{label}={_num(speed_mps)} above limit {_num(self.max_speed_mps)} m/s')

    def resolve_speed(self, requested_mps: float, *, label: str = 'speed_mps') -> float:
        """
        Return the speed to use: the cruise speed for 0, else the request once checked.

        :raises SpeedLimitError: When the request exceeds :attr:`max_speed_mps`.
        """
        if requested_mps == 0.0:
            return self.cruise_speed_mps
        self.check_speed(requested_mps, label=label)
        return float(requested_mps)

    def needs_return_home(self, battery_percent: float) -> bool:
        """
        Return whether the battery is low enough that the robot should go home.

        An unknown (NaN) level returns False: a platform that reports no battery would
        otherwise be sent home forever; the departure and takeoff checks treat it apart.
        """
        return math.isfinite(battery_percent) and \
            battery_percent < self.return_home_battery_percent
