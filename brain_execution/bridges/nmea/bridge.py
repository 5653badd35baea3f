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
A marine autopilot steered with NMEA 0183, behind the PlatformBridge seam.

The bridge plays the chartplotter: it sends the autopilot the active leg of a route (APB,
RMB, XTE at ``nmea.*_rate_hz``) and reads back position, course, speed (RMC, GGA, VTG) and
heading (HDT, HDG). An NMEA autopilot only steers; it has no throttle, so on it:

* ``go_to`` is a one-leg route from where the boat is; ``follow_waypoints`` and
  ``return_home`` are routes the bridge sequences itself, switching legs at the arrival
  circle (``nmea.arrival_radius_m``) or the perpendicular, like a chartplotter. ``speed_mps``
  is not sent: the boat keeps the speed its throttle gives.
* ``hold`` (after a cancel, a timeout or a failure) and ``emergency_stop`` drop the route:
  route sentences with status V, then silence. The autopilot falls back to heading hold (or
  standby), and the boat keeps its heading at its throttle's speed: NMEA 0183 cannot stop it.
* station keeping, docking, cameras, payloads and data links are not there, and
  :mod:`.unsupported` says so, with the reasons.

Threading: one I/O thread (:class:`~.channel.Channel`) reads and writes the transport;
parsing happens there, and each reading replaces the immutable snapshot under the bridge's
lock, so :meth:`snapshot` returns at once from any thread. Commands and :meth:`update` (the
executor's tick) only change the route and queue sentences, never waiting on the link.
Times are the node clock's (sim time included), read through the clock given to
:meth:`start`.
"""

import math
import threading
import time
import typing

from brain_execution.core.bridge import CommandHandle, PlatformBridge
from brain_execution.core.errors import ExecutionError
from brain_execution.core.geo import (
    geographic_to_local, GeoPoint, local_to_geographic, LocalPoint)
from brain_execution.core.state import Platform, RobotSnapshot

from . import writing
from .channel import Channel
from .diagnostics import LinkDiagnostics
from .guidance import guide, Leg
from .link import LinkMonitor
from .reading import CourseSpeed, Fix, Heading, MagneticHeading, SentenceReader, Variation
from .route import make_legs, Route
from .settings import NmeaSettings
from .transports import make_transport
from .unsupported import SteeringOnly

__all__ = ['NmeaBridge']

# Route sentences with status V sent when a route is dropped, one set per sentence period:
# a single set may be lost on UDP or arrive while the autopilot's input is busy.
_DROP_REPEATS = 3
_MODE_ROUTE = 'NAV'
_MODE_NO_ROUTE = 'STANDBY'


class _Nav:
    """The latest navigation data received; written on the I/O thread under the lock."""

    __slots__ = ('latitude_deg', 'longitude_deg', 'x_m', 'y_m', 'fix_s', 'course_deg',
                 'speed_mps', 'heading_deg', 'variation_deg')

    def __init__(self):
        self.latitude_deg = self.longitude_deg = math.nan
        self.x_m = self.y_m = 0.0
        self.fix_s = 0.0
        self.course_deg: typing.Optional[float] = None
        self.speed_mps = 0.0
        self.heading_deg: typing.Optional[float] = None
        self.variation_deg = 0.0

    def velocity(self) -> typing.Tuple[float, float]:
        """Return the ENU velocity over ground, m/s."""
        if self.course_deg is None:
            return 0.0, 0.0
        course = math.radians(self.course_deg)
        return self.speed_mps * math.sin(course), self.speed_mps * math.cos(course)


class NmeaBridge(SteeringOnly, PlatformBridge):
    """
    Steer a boat's autopilot along routes over NMEA 0183.

    :param settings: the ``nmea.*`` parameters.
    :param robot_id: the robot's name, for logs and diagnostics.
    :param home: geographic origin of the local frame.
    """

    name = 'nmea'

    def __init__(self, *, settings: NmeaSettings, robot_id: str, home: GeoPoint):
        super().__init__(Platform.SURFACE)
        self.settings = settings
        self.robot_id = robot_id
        self.home = home
        self._clock: typing.Callable[[], float] = time.monotonic
        self._logger = None
        self._diagnostics = None
        self._lock = threading.Lock()
        self._reader = SentenceReader(require_checksum=settings.require_checksum,
                                      accept_talkers=settings.accept_talkers)
        transport = make_transport(settings)
        self._monitor = LinkMonitor(timeout_s=settings.link_timeout_s,
                                    transport=transport.description)
        self._channel = Channel(transport, on_data=self._on_data,
                                on_connection=self._on_connection,
                                name=f'nmea-{robot_id}')
        self._nav = _Nav()
        self._route: typing.Optional[Route] = None
        self._problem: typing.Optional[ExecutionError] = self._monitor.problem(0.0)
        self._periods = {kind: 1.0 / rate for kind, rate in (
            ('APB', settings.apb_rate_hz), ('RMB', settings.rmb_rate_hz),
            ('XTE', settings.xte_rate_hz)) if rate > 0.0}
        self._due = dict.fromkeys(self._periods, -math.inf)
        self._drops_left = 0
        self._drop_due_s = -math.inf
        self._routes_sent = 0
        self._snapshot = self._build_snapshot()

    # --- lifecycle -----------------------------------------------------------------------

    def setup(self, *, node: typing.Any, callback_group: typing.Any) -> None:
        """Follow the node's clock, log on its logger, publish diagnostics; start the I/O."""
        clock = node.get_clock()
        self._logger = node.get_logger()
        self._diagnostics = LinkDiagnostics(
            node, callback_group, name=f'{self.robot_id}: nmea link', read_stats=self.stats)
        self.start(lambda: clock.now().nanoseconds * 1e-9)

    def start(self, clock: typing.Callable[[], float] = time.monotonic) -> None:
        """Start the I/O thread; times are read from ``clock`` (seconds) from now on."""
        self._clock = clock
        self._channel.start()

    def close(self) -> None:
        """Drop any route, send what is queued (bounded wait) and stop the I/O thread."""
        with self._lock:
            self._drop_locked(self._clock())
        if self._diagnostics is not None:
            self._diagnostics.destroy()
        self._channel.stop()

    # --- received data (I/O thread) -------------------------------------------------------

    def _on_connection(self, connected: bool, reason: str) -> None:
        with self._lock:
            self._monitor.on_connection(connected, reason)
            self._refresh_locked(self._clock())

    def _on_data(self, data: bytes) -> None:
        now = self._clock()
        results = self._reader.feed(data)
        with self._lock:
            self._monitor.on_data(now)
            for result in results:
                self._monitor.on_line(result.category)
                for reading in result.readings:
                    self._apply_locked(reading, now)
            self._refresh_locked(now)

    def _apply_locked(self, reading, now: float) -> None:
        nav = self._nav
        if isinstance(reading, Fix):
            nav.latitude_deg, nav.longitude_deg = reading.latitude_deg, reading.longitude_deg
            local = geographic_to_local(self.home, GeoPoint(reading.latitude_deg,
                                                            reading.longitude_deg))
            nav.x_m, nav.y_m, nav.fix_s = local.x_m, local.y_m, now
            self._monitor.on_fix(now)
        elif isinstance(reading, CourseSpeed):
            nav.course_deg, nav.speed_mps = reading.course_deg, reading.speed_mps
            if self.settings.heading_from_course and reading.course_deg is not None:
                nav.heading_deg = reading.course_deg
                self._monitor.on_heading(now)
        elif isinstance(reading, Heading):
            nav.heading_deg = reading.heading_deg
            self._monitor.on_heading(now)
        elif isinstance(reading, MagneticHeading):
            nav.heading_deg = (reading.heading_deg + nav.variation_deg) % 360.0
            self._monitor.on_heading(now)
        elif isinstance(reading, Variation):
            nav.variation_deg = reading.variation_deg

    def _refresh_locked(self, now: float) -> None:
        problem = self._monitor.problem(now)
        if (problem is None) != (self._problem is None):
            if problem is None:
                self._info(f'{self.robot_id}: NMEA link up ({self._monitor.transport})')
            else:
                self._warn(f'{self.robot_id}: {problem}')
        self._problem = problem
        self._snapshot = self._build_snapshot()

    def _build_snapshot(self) -> RobotSnapshot:
        nav = self._nav
        vx, vy = nav.velocity()
        heading = nav.heading_deg if nav.heading_deg is not None else 90.0
        return RobotSnapshot(
            platform=Platform.SURFACE, stamp_s=nav.fix_s, x_m=nav.x_m, y_m=nav.y_m,
            yaw_rad=math.atan2(math.cos(math.radians(heading)),
                               math.sin(math.radians(heading))),
            vx_mps=vx, vy_mps=vy, latitude_deg=nav.latitude_deg,
            longitude_deg=nav.longitude_deg, battery_percent=math.nan,
            mode=_MODE_ROUTE if self._route is not None else _MODE_NO_ROUTE,
            link_up=self._problem is None)

    # --- state ---------------------------------------------------------------------------

    def snapshot(self) -> RobotSnapshot:
        """Return the latest state; never blocks (replaced whole by the I/O thread)."""
        return self._snapshot

    def stats(self) -> typing.Tuple[bool, str, typing.Dict[str, typing.Any]]:
        """Return (link up, its state in words, counters) for diagnostics and tests."""
        with self._lock:
            counts = dict(self._reader.counts)
            counts['bad'] = self._reader.counts.bad
            problem = self._problem
            route = self._route
        counts.update(transport=self._monitor.transport, bytes_sent=self._channel.bytes_sent,
                      bytes_dropped=self._channel.bytes_dropped, routes_sent=self._routes_sent,
                      route=route.kind if route is not None else 'none')
        return problem is None, 'link up' if problem is None else str(problem), counts

    def _warn(self, message: str) -> None:
        if self._logger is not None:
            self._logger.warning(message)

    def _info(self, message: str) -> None:
        if self._logger is not None:
            self._logger.info(message)

    # --- the tick -------------------------------------------------------------------------

    def update(self, now_s: float) -> None:
        """Supervise the link, advance the route and send the sentences that are due."""
        with self._lock:
            self._refresh_locked(now_s)
            route = self._route
            if route is not None and self._problem is not None:
                self._warn(f'{self.robot_id}: {route.kind} route dropped: {self._problem}')
                route.handle.interrupt(self._problem)
                self._drop_locked(now_s)
            elif route is not None:
                guidance = self._guidance_locked(route.leg)
                if route.advance(guidance):
                    # Leave the autopilot one sentence period to receive the next route (the
                    # next point of an orbit) before telling it the route is gone.
                    self._route = None
                    self._schedule_drop_locked(now_s + min(self._periods.values()))
                else:
                    self._send_route_locked(now_s)
            if self._route is None and self._drops_left and now_s >= self._drop_due_s:
                self._send_drop_locked(now_s, urgent=False)

    def _guidance_locked(self, leg: Leg):
        vx, vy = self._nav.velocity()
        return guide(leg, x_m=self._nav.x_m, y_m=self._nav.y_m, vx_mps=vx, vy_mps=vy,
                     arrival_radius_m=self.settings.arrival_radius_m,
                     lookahead_m=self.settings.lookahead_m)

    def _send_route_locked(self, now_s: float) -> None:
        leg = self._route.leg
        due = [kind for kind, at in self._due.items() if now_s >= at]
        if not due:
            return
        guidance = self._guidance_locked(leg)
        talker = self.settings.talker_id
        text = []
        for kind in due:
            # A late tick does not bunch sentences: autopilots rate-limit (pypilot drops
            # APBs less than 0.5 s apart).
            self._due[kind] = max(self._due[kind] + self._periods[kind],
                                  now_s + 0.5 * self._periods[kind])
            if kind == 'APB':
                text.append(writing.apb(talker, leg, guidance))
            elif kind == 'RMB':
                geo = local_to_geographic(self.home, leg.destination_x_m, leg.destination_y_m)
                text.append(writing.rmb(talker, leg, guidance, geo.latitude_deg,
                                        geo.longitude_deg))
            else:
                text.append(writing.xte(talker, guidance))
        self._channel.send(''.join(text).encode('ascii'))

    # --- dropping the route ---------------------------------------------------------------

    def _drop_locked(self, now_s: float) -> None:
        """Forget the route and tell the autopilot at once, then twice more."""
        self._route = None
        self._schedule_drop_locked(now_s)
        self._send_drop_locked(now_s, urgent=True)
        self._snapshot = self._build_snapshot()

    def _schedule_drop_locked(self, first_s: float) -> None:
        self._drops_left = _DROP_REPEATS
        self._drop_due_s = first_s

    def _send_drop_locked(self, now_s: float, *, urgent: bool) -> None:
        self._drops_left -= 1
        self._drop_due_s = now_s + min(self._periods.values())
        for kind in self._due:
            self._due[kind] = now_s + 0.5 * self._periods[kind]
        self._channel.send(writing.drop_sentences(
            self.settings.talker_id, apb_on='APB' in self._periods,
            rmb_on='RMB' in self._periods, xte_on='XTE' in self._periods).encode('ascii'),
            urgent=urgent)

    # --- routes ---------------------------------------------------------------------------

    def _start_route(self, kind: str, points: typing.Sequence[LocalPoint], *,
                     final_radius_m: float, names: typing.Sequence[str] = ()) -> CommandHandle:
        handle = CommandHandle(kind)
        with self._lock:
            problem = self._problem
            if problem is not None:
                handle.set_error(type(problem)(f'{kind} not sent: {problem}'))
                return handle
            legs = make_legs(self._nav.x_m, self._nav.y_m, points)
            if names:
                legs = [Leg(leg.origin_x_m, leg.origin_y_m, leg.destination_x_m,
                            leg.destination_y_m, leg.origin_id, name)
                        for leg, name in zip(legs, names)]
            self._route = Route(kind=kind, legs=legs, handle=handle,
                                final_radius_m=final_radius_m,
                                arrival_radius_m=self.settings.arrival_radius_m)
            self._routes_sent += 1
            self._drops_left = 0
            self._snapshot = self._build_snapshot()
            self._send_route_locked(self._clock())
        handle.set_result()
        return handle

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> CommandHandle:
        """
        Steer a one-leg route from here to (x_m, y_m); z_m, speed and yaw are not sent.

        Finished when the boat passes the target's perpendicular (it would come no closer);
        the program itself ends on the goal's acceptance radius.
        """
        return self._start_route('go_to', [LocalPoint(x_m, y_m)], final_radius_m=0.0,
                                 names=['DEST'])

    def follow_waypoints(self, *, points: typing.Sequence[LocalPoint], speed_mps: float,
                         acceptance_radius_m: float) -> CommandHandle:
        """Steer a route through points; finished at the last (acceptance radius or beam)."""
        return self._start_route('follow_waypoints', points,
                                 final_radius_m=acceptance_radius_m)

    def return_home(self, *, speed_mps: float, land: bool) -> CommandHandle:
        """Steer a one-leg route home; finished in the arrival circle or at its beam."""
        return self._start_route('return_home', [LocalPoint(0.0, 0.0)],
                                 final_radius_m=self.settings.arrival_radius_m,
                                 names=['HOME'])

    def hold(self) -> CommandHandle:
        """Drop the route: the autopilot holds its heading (or stands by); it cannot stop."""
        with self._lock:
            self._drop_locked(self._clock())
        return CommandHandle.succeeded(description='hold: route dropped')

    def emergency_stop(self) -> CommandHandle:
        """Drop the route at once, ahead of anything queued; propulsion is not on NMEA."""
        with self._lock:
            self._drop_locked(self._clock())
        self._warn(f'{self.robot_id}: emergency stop: route dropped; NMEA 0183 cannot stop '
                   'the propulsion, the autopilot now holds its heading')
        return CommandHandle.succeeded(description='emergency_stop: route dropped')
