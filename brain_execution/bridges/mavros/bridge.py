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
A :class:`~brain_execution.core.bridge.PlatformBridge` over MAVROS, for PX4 and ArduPilot.

Each command becomes a :class:`~.procedure.Procedure` running its sequence (see
:mod:`.sequences`); the bridge's timer (``mavros.setpoint_rate_hz``, in the bridge's own
callback group) advances them, sends the queued ``cmd/*`` calls, and lets the
:class:`~.supervision.Supervisor` judge the link and who controls the vehicle. The setpoint
stream goes out at that rate from a timer on a thread of its own (:mod:`.stream_lane`), so
that a burst of goals on the executor's threads never holds it back (PX4 fails safe 1 s
after it stops). Commands only queue a procedure and wake the timer's group through a
guard condition: none blocks. A newer motion command supersedes a running one; emergency
commands supersede everything and go first.

When the supervisor reports an event, the running procedures fail and every acknowledged
motion is interrupted with its error (so the operation ends with that code); then:

* link lost (COMMUNICATION_FAILURE): ``mavros.link_loss_action`` is commanded, unless the
  autopilot flies by itself (RTL, LAND, a failsafe) or a pilot has control;
* position lost (POSITION_LOST): a copter lands, a rover or boat holds;
* pilot takeover (MANUAL_OVERRIDE) or failsafe (PLATFORM_FAILSAFE): nothing is commanded,
  and ``hold`` is acknowledged without acting until control comes back.

The link-loss action rarely reaches the vehicle: the link is down. An ArduPilot vehicle
without a GCS failsafe flies on to its last GUIDED target meanwhile, so the hold latched at
the drop is stale once the link is back. When the link comes back with the vehicle still
armed in the guided mode (neither its failsafe nor a pilot took it), the bridge therefore
holds it where it is *then* (see :meth:`MavrosBridge._on_link_back`), and ArduPilot's
latched target is not re-sent while the link is down, so a stale one never goes out first.
A ``land`` or ``rtl`` link-loss action is then commanded late, once, if the supervisor
finds the vehicle still armed in a mode the bridge commanded (see
:meth:`.supervision.Supervisor.late_action`): never over the autopilot's own RTL, LAND or
failsafe, nor over a pilot; an operator's command in between drops it.

When the bridge's own process was not scheduled for a while (stopped, starved), that time
does not count towards the link's staleness, and the procedures wait one round, so that the
messages queued meanwhile are read before anything is decided on them.
"""

import threading
import typing

from brain_execution.core.bridge import CommandHandle, PlatformBridge
from brain_execution.core.errors import (
    CommunicationError, ExecutionError, ManualOverrideError, UnsupportedOperationError)
from brain_execution.core.geo import GeoPoint
from brain_execution.core.state import Platform, RobotSnapshot
from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node

from . import sequences
from .fcu_state import FcuState, Pose
from .link import MavrosLink
from .payload import Peripherals
from .procedure import Procedure
from .setpoints import SetpointStream
from .settings import MavrosSettings
from .snapshots import compose_snapshot
from .steps import ensure_mode, hold_here
from .stream_lane import StreamLane
from .supervision import Event, LateAction, Supervisor
from .telemetry import Telemetry

__all__ = ['MavrosBridge']


class MavrosBridge(PlatformBridge):
    """
    A PX4 or ArduPilot vehicle behind MAVROS.

    :param platform: drone (copter), ground (rover) or surface (boat).
    :param settings: the ``mavros.*`` parameters.
    :param request_tick: asks the executor to advance the operations now.
    """

    name = 'mavros'

    def __init__(self, *, platform: Platform, settings: MavrosSettings, home: GeoPoint,
                 request_tick: typing.Callable[[], None] = lambda: None):
        super().__init__(platform)
        self.settings = settings
        self.modes = settings.modes
        self._request_tick = request_tick
        self._lock = threading.RLock()
        self._procedures: typing.List[Procedure] = []
        self._behaviours: typing.List[CommandHandle] = []
        self._snapshot = RobotSnapshot(platform=platform, link_up=False, mode='NO_LINK')
        self._stream = SetpointStream(self.modes, 1.0 / settings.setpoint_rate_hz)
        self._supervisor = Supervisor(settings)
        self._node: typing.Optional[Node] = None
        self._last_mode = ''
        self._waited = False
        # The bridge lost the link while it had control and commanded its link-loss action.
        self._hold_on_link_back = False

    # --- life ----------------------------------------------------------------------------

    def setup(self, *, node: Node, callback_group: CallbackGroup) -> None:
        """Create the subscriptions, clients, setpoint publishers and the bridge's timer."""
        self._node = node
        # The guard first: telemetry callbacks wake the bridge through it.
        self._guard = node.create_guard_condition(self._advance, callback_group=callback_group)
        self._telemetry = Telemetry(node, callback_group, self.settings, self._wake)
        self._link = MavrosLink(node, callback_group, self.settings)
        self._peripherals = Peripherals(node, callback_group, self.settings)
        self._timer = node.create_timer(1.0 / self.settings.setpoint_rate_hz, self._advance,
                                        callback_group=callback_group)
        self._lane = StreamLane(parent=node, period_s=1.0 / self.settings.setpoint_rate_hz,
                                send=self._send_setpoint)
        node.get_logger().info(
            f'MAVROS bridge: {self.settings.autopilot} {self.settings.vehicle} under '
            f'{node.resolve_topic_name(self.settings.prefix)}, setpoints at '
            f'{self.settings.setpoint_rate_hz:.0f} Hz')

    def unsupported_operations(self) -> typing.Mapping[str, str]:
        """Return what neither MAVROS nor a configured service does."""
        missing = Peripherals.missing(self.settings)
        if self.platform is not Platform.DRONE:
            missing['dock'] = missing['undock'] = (
                'MAVROS has no docking interface for rovers and boats')
        return missing

    def close(self) -> None:
        """Fail what is pending; the executor has stopped."""
        with self._lock:
            for procedure in self._procedures:
                procedure.fail(CommunicationError('the robot executor is shutting down'))
            self._procedures.clear()
        self._lane.close()
        self._node.destroy_timer(self._timer)

    # --- Port (what the sequences use) ---------------------------------------------------

    def now_s(self) -> float:
        """Return the node clock, s."""
        return self._node.get_clock().now().nanoseconds * 1e-9

    @property
    def state(self) -> FcuState:
        """Return the latest FcuState."""
        return self._telemetry.state

    def set_mode(self, mode: str):
        """Call set_mode."""
        self._node.get_logger().info(f'set_mode {mode}')
        return self._link.set_mode(mode)

    def command(self, name: str, **fields):
        """Queue cmd/<name>."""
        self._node.get_logger().info(f'cmd/{name} {fields}')
        return self._link.command(name, **fields)

    def expect(self, modes) -> None:
        """Tell the supervisor which modes are the bridge's."""
        self._supervisor.expect(modes)

    def set_target(self, target: typing.Optional[Pose]) -> None:
        """Latch the stream's target."""
        self._stream.set_target(target)

    def streaming_s(self) -> float:
        """Return how long setpoints have streamed without a gap."""
        return self._stream.streaming_s(self.now_s())

    # --- the timer -----------------------------------------------------------------------

    def _wake(self) -> None:
        self._guard.trigger()

    def _advance(self) -> None:
        changed = False
        with self._lock:
            now = self.now_s()
            state = self._telemetry.state
            self._link.pump(state, now)
            was_down = not self._supervisor.link_up
            event = self._supervisor.check(state, now)
            if was_down and self._supervisor.link_up:
                self._on_link_back(state)
            if event is not None:
                self._on_event(event)
                changed = True
            late = self._supervisor.late_action(state)
            if late is not None:
                self._on_late_action(late)
            stalled = self._supervisor.stalled_s
            if stalled:
                self._node.get_logger().warning(
                    f'the bridge was not scheduled for {stalled:.2f} s (process stopped or '
                    'starved): that time does not count towards link staleness')
            # The telemetry queued while this process did not run is read next: a sequence's
            # wait must not time out on what it has not read yet. One round only, so that a
            # bridge starved again and again still makes progress.
            wait = stalled and not self._waited
            self._waited = wait
            for procedure in [] if wait else list(self._procedures):
                was_done = procedure.handle.done()
                if procedure.tick():
                    self._procedures.remove(procedure)
                    changed = True
                changed = changed or was_done != procedure.handle.done()
            self._snapshot = compose_snapshot(self.platform, self.settings, state,
                                              link_up=self._supervisor.link_up, now_s=now,
                                              payload_id=self._peripherals.carried)
            if state.mode != self._last_mode:
                if self._last_mode:
                    self._node.get_logger().info(f'mode {self._last_mode} -> {state.mode}')
                self._last_mode = state.mode
                changed = True
        if changed:
            self._request_tick()

    def _send_setpoint(self) -> None:
        # On the stream's own thread (StreamLane); the lock orders it with the procedures,
        # which latch the target, and is never held across I/O.
        with self._lock:
            state = self._telemetry.state
            setpoint = self._stream.setpoint(state, self.now_s(),
                                             link_up=self._supervisor.link_up)
            if setpoint is not None:
                self._link.publish(setpoint, state)

    def _on_event(self, event: Event) -> None:
        log = self._node.get_logger()
        log.warning(f'{event.kind}: {event.error}')
        for procedure in self._procedures:
            procedure.fail(event.error)
        self._procedures.clear()
        for handle in self._behaviours:
            handle.interrupt(event.error)
        self._behaviours.clear()
        self._hold_on_link_back = event.kind == 'link' and bool(event.action)
        if event.action:
            self._safe(event.action, f'{event.kind} lost: commanding {event.action}')
        elif event.kind in ('link', 'position'):
            # The autopilot flies by itself (RTL, LAND, a failsafe) or a pilot does.
            log.warning(f'{event.kind} lost: nothing commanded, {self.state.mode or "the mode"} '
                        'stays with the autopilot or the pilot')

    def _on_link_back(self, state: FcuState) -> None:
        """
        Hold where the vehicle is now, if the link-loss action is the bridge's and stale.

        Whatever the bridge latched at the drop (its hold on the position then, or the
        target of the operation the loss ended) is stale: ArduCopter without a GCS failsafe
        flew on to its last GUIDED target, and re-sending the hold would fly it back to
        where the link was lost. Only while it is still armed in the guided mode: a mode
        the autopilot (failsafe) or a pilot chose is never overridden, and the supervisor
        counts the guided mode as the bridge's (a pilot hands back by selecting it). The
        pose is fresh: the link is up only once a new one came. No mode is requested.
        """
        pending, self._hold_on_link_back = self._hold_on_link_back, False
        if not pending:
            return
        log = self._node.get_logger()
        if not (state.armed and state.mode == self.modes.guided and state.pose is not None):
            log.warning(f'link back in {state.mode or "no mode"} (armed {state.armed}): '
                        'nothing commanded')
            return
        hold_here(self)
        here = state.pose
        log.warning(f'link back in {state.mode}: holding where the vehicle is now '
                    f'({here.x_m:.1f}, {here.y_m:.1f}, {here.z_m:.1f}), not where the link '
                    'was lost')

    def _on_late_action(self, late: LateAction) -> None:
        """
        Command the link-loss action the dead link did not let through, or log why not.

        ``_on_link_back`` latched a hold where the vehicle is now, so a refused mode leaves
        it hovering there. A motion procedure: an operator's newer motion supersedes it.
        """
        log = self._node.get_logger()
        if not late.mode:
            log.warning(f'link back: link-loss action not commanded: {late.reason}')
            return
        log.warning(f'link back: commanding the link-loss action {late.mode} now '
                    f'({late.reason})')
        self._procedures.append(Procedure(
            'link_loss_action', self._late_action(late.mode),
            CommandHandle('link_loss_action')))

    def _late_action(self, mode: str):
        """Request ``mode`` once and wait for it in state; log how that ended."""
        log = self._node.get_logger()
        try:
            yield from ensure_mode(self, mode, also_expect=self._after(mode))
        except ExecutionError as error:
            log.error(f'link-loss action {mode} not carried out: {error}')
            raise
        log.info(f'link-loss action {mode} carried out: state shows it')

    def _after(self, mode: str) -> typing.FrozenSet[str]:
        """Return the modes the autopilot goes on to from ``mode`` by itself."""
        return self.modes.after_rtl if mode == self.modes.rtl else frozenset()

    def _safe(self, mode: str, why: str) -> None:
        self._node.get_logger().warning(why)
        self._supervisor.released = why
        if self.modes.hold == self.modes.guided and mode == self.modes.guided:
            hold_here(self)
        procedure = Procedure('safe', ensure_mode(self, mode, also_expect=self._after(mode)),
                              CommandHandle('safe'), motion=False)
        self._procedures.append(procedure)

    def _take_back(self, name: str) -> None:
        """Take control back for an operator's command; a late link-loss action is dropped."""
        with self._lock:
            dropped = self._supervisor.take_back()
        if dropped:
            self._node.get_logger().warning(
                f'{name} from an operator: the link-loss action {dropped} is dropped (not '
                'commanded when the link is back)')

    # --- queueing commands ---------------------------------------------------------------

    def _start(self, name: str, sequence, *, motion: bool = True,
               emergency: bool = False) -> CommandHandle:
        handle = CommandHandle(name)
        with self._lock:
            for procedure in list(self._procedures):
                if emergency or (motion and procedure.motion):
                    procedure.supersede(name)
                    self._procedures.remove(procedure)
            if motion:
                self._behaviours = [handle]
            self._procedures.insert(0, Procedure(name, sequence, handle, motion=motion))
        self._wake()
        return handle

    def _refusal(self, name: str) -> typing.Optional[CommandHandle]:
        """Refuse motion while the link is down or a pilot (or failsafe) has control."""
        if not self._supervisor.link_up:
            return CommandHandle.failed(CommunicationError(
                f'{name} not sent: {self._supervisor.last_link_problem}'), name)
        released = self._supervisor.released
        if released and not released.startswith(('link lost', 'position lost')):
            return CommandHandle.failed(ManualOverrideError(
                f'{name} not sent: {released}; the bridge does not take control back. Select '
                f'{self.modes.guided} to hand back, or land and disarm'), name)
        self._take_back(name)
        return None

    def _motion(self, name: str, sequence_factory) -> CommandHandle:
        refusal = self._refusal(name)
        if refusal is not None:
            return refusal
        return self._start(name, sequence_factory())

    # --- PlatformBridge ------------------------------------------------------------------

    def snapshot(self) -> RobotSnapshot:
        """Return the latest state; never blocks."""
        return self._snapshot

    def arm(self) -> CommandHandle:
        """Get ready, enter the guided mode and arm; see :func:`.sequences.arm`."""
        return self._motion('arm', lambda: sequences.arm(self))

    def disarm(self) -> CommandHandle:
        """Disarm (cmd/arming false), confirmed from state."""
        return self._start('disarm', sequences.disarm(self), motion=False)

    def takeoff(self, *, altitude_m: float, climb_speed_mps: float) -> CommandHandle:
        """Climb to altitude_m above home (see :func:`.sequences.takeoff`)."""
        return self._motion('takeoff', lambda: sequences.takeoff(self, altitude_m))

    def land(self, *, descent_speed_mps: float) -> CommandHandle:
        """Land in place with the land mode."""
        return self._motion('land', lambda: sequences.land(self))

    def go_to(self, *, x_m: float, y_m: float, z_m: float, speed_mps: float,
              yaw_rad: typing.Optional[float] = None) -> CommandHandle:
        """Set a position target in the guided mode (z above home)."""
        return self._motion('go_to', lambda: sequences.go_to(self, x_m, y_m, z_m, yaw_rad))

    def hold(self) -> CommandHandle:
        """Hold here; acknowledged without acting while a pilot or the autopilot has control."""
        released = self._supervisor.released
        if released:
            return CommandHandle.succeeded(None, f'hold (not sent: {released})')
        if not self._supervisor.link_up:
            return CommandHandle.failed(CommunicationError(
                f'hold not sent: {self._supervisor.last_link_problem}'), 'hold')
        self._take_back('hold')
        return self._start('hold', sequences.hold(self))

    def emergency_stop(self) -> CommandHandle:
        """Hold now, ahead of everything (a flying drone hovers; motors stay on)."""
        self._node.get_logger().warning('emergency stop: holding')
        self._take_back('emergency_stop')
        return self._start('emergency_stop', sequences.hold(self), emergency=True)

    def emergency_land(self) -> CommandHandle:
        """Land now, ahead of everything."""
        self._node.get_logger().warning('emergency land')
        self._take_back('emergency_land')
        return self._start('emergency_land', sequences.land(self), emergency=True)

    def return_home(self, *, speed_mps: float, land: bool) -> typing.Optional[CommandHandle]:
        """Return with the autopilot's RTL (drones: only when landing at home)."""
        if self.platform is Platform.DRONE and not land:
            return None
        return self._motion('return_home', lambda: sequences.return_home(self))

    def dock(self, *, dock_id: str) -> CommandHandle:
        """Refuse: MAVROS has no docking interface."""
        return CommandHandle.failed(UnsupportedOperationError(
            'dock: MAVROS has no docking interface'), 'dock')

    def undock(self, *, distance_m: float) -> CommandHandle:
        """Refuse: MAVROS has no docking interface."""
        return CommandHandle.failed(UnsupportedOperationError(
            'undock: MAVROS has no docking interface'), 'undock')

    # --- peripherals (configured services, else UNSUPPORTED) -----------------------------

    def _peripheral(self, name: str, sequence_or_handle) -> CommandHandle:
        if isinstance(sequence_or_handle, CommandHandle):
            return sequence_or_handle
        return self._start(name, sequence_or_handle, motion=False)

    def capture_image(self, *, camera_id: str) -> CommandHandle:
        """Call mavros.capture_service (std_srvs/Trigger); its message is the URI."""
        return self._peripheral('capture_image', self._peripherals.capture(self))

    def start_recording(self, *, camera_id: str) -> CommandHandle:
        """Call mavros.record_service with true."""
        return self._peripheral('record_video', self._peripherals.record(self, True))

    def stop_recording(self, *, camera_id: str) -> CommandHandle:
        """Call mavros.record_service with false; its message is the URI."""
        return self._peripheral('record_video', self._peripherals.record(self, False))

    def attach_payload(self, *, payload_id: str, expected_mass_kg: float) -> CommandHandle:
        """Call mavros.payload_service with true (grip); the mass is unknown (NaN)."""
        return self._peripheral('pickup', self._peripherals.payload(self, True, payload_id))

    def release_payload(self) -> CommandHandle:
        """Call mavros.payload_service with false (release); the value is the payload id."""
        return self._peripheral('dropoff', self._peripherals.payload(self, False))

    def send_data(self, *, destination: str, content_type: str, data: bytes) -> CommandHandle:
        """Publish the bytes on mavros.send_data_topic."""
        return self._peripherals.send(data)
