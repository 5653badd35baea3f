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
Coverage paths for area scans.

The catalog checks a scan's sweep legs against the geofence with the same path the program
then drives, so they are built in one place.
"""

import math
import typing

from .geo import LocalPoint

__all__ = ['MAX_SWEEP_LINES', 'lawnmower_path', 'polygon_area_m2', 'sweep_line_count']

# A scan needing more lines than this is a mistake (a spacing in the wrong unit, a polygon in
# the wrong frame) rather than a mission; it would also take unbounded time to plan.
MAX_SWEEP_LINES = 5000


def polygon_area_m2(points: typing.Sequence[LocalPoint]) -> float:
    """Return the area of a simple polygon (shoelace formula)."""
    n = len(points)
    twice = sum(points[i].x_m * points[(i + 1) % n].y_m - points[(i + 1) % n].x_m * points[i].y_m
                for i in range(n))
    return abs(twice) / 2.0


def sweep_line_count(boundary: typing.Sequence[LocalPoint], spacing_m: float) -> float:
    """Return how many sweep lines cover the polygon (inf for a non-finite extent)."""
    ys = [q.y_m for q in boundary]
    extent = max(ys) - min(ys)
    if not math.isfinite(extent) or spacing_m <= 0.0:
        return math.inf
    return math.floor(max(0.0, extent - spacing_m / 2.0) / spacing_m) + 1


def lawnmower_path(boundary: typing.Sequence[LocalPoint], spacing_m: float,
                   altitude_m: float) -> typing.List[LocalPoint]:
    """
    Return sweep lines (west-east, stepping north) clipped to the polygon, boustrophedon.

    Each sweep line at height y meets the polygon's edges at crossing points; pairs of
    crossings bound the parts inside, so concave polygons are handled too (the robot flies
    straight over a notch, which the envelope's path check then judges).

    :raises ValueError: the polygon needs more than MAX_SWEEP_LINES lines.
    """
    lines = sweep_line_count(boundary, spacing_m)
    if lines > MAX_SWEEP_LINES:
        raise ValueError(f'{lines} sweep lines > {MAX_SWEEP_LINES}')
    y_min = min(q.y_m for q in boundary) + spacing_m / 2.0
    path, flip = [], False
    n = len(boundary)
    # Lines are indexed rather than accumulated: y += spacing stalls on huge coordinates.
    for k in range(int(lines)):
        y = y_min + k * spacing_m
        xs = []
        for i in range(n):
            a, b = boundary[i], boundary[(i + 1) % n]
            if (a.y_m <= y < b.y_m) or (b.y_m <= y < a.y_m):
                xs.append(a.x_m + (y - a.y_m) * (b.x_m - a.x_m) / (b.y_m - a.y_m))
        if len(xs) >= 2:
            xs.sort()
            ends = [xs[0], xs[-1]]
            if flip:
                ends.reverse()
            path.extend(LocalPoint(x_m=x, y_m=y, z_m=altitude_m) for x in ends)
            flip = not flip
    return path
