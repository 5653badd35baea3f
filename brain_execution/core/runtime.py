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
One robot's operations: intake, busy policy, preemption, cancel, timeouts, idempotency.

:class:`RobotRuntime` owns every operation of one robot. Adapters call :meth:`submit`,
:meth:`cancel` and :meth:`tick` from any thread; a re-entrant lock makes each call atomic.
Nothing here blocks: waiting is done by the programs yielding between ticks, so the caller
decides the thread and the clock (the ROS adapter ticks from a timer on the node clock, which
is what makes every wait follow sim time). :meth:`submit_urgent` is the emergency lane: it
never waits for the lock (see :mod:`~brain_execution.core.urgent`); a tick serves it between
two program steps, so a tick stepping hundreds of programs cannot hold an emergency back.

Rules (see DESIGN.md, "Execution semantics"):

* Motion operations are exclusive. A new one of equal or higher priority preempts the
  running one (PREEMPTED); a lower one is refused (BUSY). Sensing and communication run
  alongside.
* emergency_stop and emergency_land are commanded to the platform inside :meth:`submit`,
  before anything else, and preempt every running operation. emergency_stop latches: motion
  is refused (EMERGENCY_STOP_ACTIVE) until it is sent again with ``release``. An
  emergency_stop during an emergency_land latches but does not touch the landing: turning a
  landing drone back into a hover would undo the more conservative command.
* Cancel and timeout close the program and command a safe hold, then end the operation.
* Below the envelope's return-home battery level, a robot away from home is sent home
  (return_home at the highest priority, preempting its motion), once per low-battery episode,
  as PX4's and ArduPilot's battery failsafes do; ``auto_return_home=False`` turns this off.
  The failsafe stays armed while an emergency stop is latched: an airborne drone then lands
  where it is (emergency_land; it must not fly home past what made the operator stop it),
  and a ground or surface robot, already standing still, goes home once the stop is released.
* An operation id that has started is an idempotency key: submitting it again with the same
  content (:func:`request_content`) returns the same record (and so the same outcome)
  without acting twice; with other content it is refused with OPERATION_ID_CONFLICT, naming
  the first difference. A refusal at intake did not act on the robot (``started`` is
  false), so it is not remembered and the same id may be submitted again.
"""

import functools
import itertools
import time
import typing
import uuid

from . import catalog as catalog_module
from .bridge import CommandHandle, PlatformBridge
from .content import check_same_content
from .envelope import SafetyEnvelope
from .errors import (
    BusyError, CanceledError, code_name, EmergencyStopActiveError, ErrorCode, ExecutionError,
    InvalidParametersError, OperationIdConflictError, OperationRecordError, OperationTimeoutError,
    PreemptedError)
from .geo import GeoPoint
from .operation import OperationRecord, OperationState, Outcome, request_content
from .operation_memory import OperationMemory
from .operation_store import OperationStore
from .program import ProgramContext
from .programs import PROGRAMS
from .urgent import UrgentLock

__all__ = ['INTERRUPTED_MESSAGE', 'OperationRecord', 'OperationState', 'Outcome', 'RobotRuntime',
           'request_content']

# How long a repeated operation id waits for its first goal's intake commit, s.
_INTAKE_WAIT_S = 2.0
# A robot within this distance of home (metres) counts as home for the battery failsafe.
_AT_HOME_RADIUS_M = 2.0
# The battery must rise this far above the return-home level (e.g. charging on a dock)
# before a new low-battery episode can send the robot home again.
_RETURN_HOME_HYSTERESIS_PERCENT = 5.0
# Outcome of operations found running in the durable record at start-up.
INTERRUPTED_MESSAGE = ('interrupted: executor restarted while the operation ran; it had '
                       'started and its physical outcome is unknown; it is not run again')
# The land operation's default descent speed (catalog), for a landing at shutdown.
_SHUTDOWN_DESCENT_SPEED_MPS = 0.7
# How long a canceled or timed-out motion waits for the platform to acknowledge the hold
# before the operation ends anyway; the goal must end even when the link is gone.
_HOLD_ACK_TIMEOUT_S = 2.0


class _Run:
    """Bookkeeping of one running operation."""

    __slots__ = ('record', 'prepared', 'program', 'deadline_s', 'context', 'settling',
                 'settle_handle', 'settle_outcome', 'settle_deadline_s')

    def __init__(self, record, prepared, program, deadline_s, context):
        self.record = record
        self.prepared = prepared
        self.program = program
        self.deadline_s = deadline_s
        self.context = context
        self.settling = False
        self.settle_handle = None
        self.settle_outcome = None
        self.settle_deadline_s = 0.0

    @property
    def op_class(self):
        return self.prepared.spec.op_class


class RobotRuntime:
    """
    All operations of one robot, driven by :meth:`tick`.

    :param robot_id: the robot's name, used in generated operation ids and messages.
    :param bridge: the robot's platform.
    :param envelope: the robot's safety envelope.
    :param home: geographic home (origin of the local frame); None if unknown.
    :param clock: returns the current time in seconds (the node clock in ROS).
    :param history_size: ended operations remembered for idempotency and queries.
    :param hooks: adapter callables programs may use (e.g. ``broadcast``).
    :param logger: receives (level, message) for events worth a log line.
    :param auto_return_home: send the robot home when its battery falls below the envelope's
        return-home level.
    :param store: the robot's durable operation record; None = ids live in memory only
        (``history_size``). Operations it holds as running are closed INTERRUPTED here: the
        executor that ran them died.
    :param on_started: called with each record whose program starts (once per operation
        however many goals attach to it), under the runtime's lock: it must not block.
    """

    def __init__(self, *, robot_id: str, bridge: PlatformBridge, envelope: SafetyEnvelope,
                 home: typing.Optional[GeoPoint], clock: typing.Callable[[], float],
                 history_size: int = 1000,
                 hooks: typing.Mapping[str, typing.Callable] = None,
                 logger: typing.Callable[[str, str], None] = None,
                 auto_return_home: bool = True,
                 store: typing.Optional[OperationStore] = None,
                 on_started: typing.Callable[[OperationRecord], None] = None):
        if history_size < 1:
            raise ValueError(f'history_size={history_size} must be at least 1')
        self.robot_id = robot_id
        self.bridge = bridge
        self.envelope = envelope
        self.home = home
        self._clock = clock
        self._hooks = dict(hooks or {})
        self._log = logger or (lambda level, message: None)
        # Re-entrant; serves the urgent submissions queued while it was held (emergency lane).
        self._lock = UrgentLock()
        self._memory = OperationMemory(history_size=history_size, store=store,
                                       logger=self._log)
        self._close_interrupted()
        self._runs: typing.Dict[str, _Run] = {}
        self._estop_reason = ''
        self._stopping = ''
        self._emergency_handle: typing.Optional[CommandHandle] = None
        self._emergency_latency_s = 0.0
        self._emergency_command_s = 0.0
        self._auto_return_home = auto_return_home
        self._on_started = on_started or (lambda record: None)
        self._low_battery_handled = False
        self._id_counter = itertools.count(1)
        self._id_prefix = f'{robot_id}-{uuid.uuid4().hex[:8]}'
        self.specs = {spec.name: spec for spec in catalog_module.operations_for(bridge.platform)}
        self._unsupported = dict(bridge.unsupported_operations())

    def _close_interrupted(self) -> None:
        try:
            interrupted = self._memory.close_interrupted(INTERRUPTED_MESSAGE)
        except OperationRecordError as error:
            self._log('error', f'{error}; goals are refused until the record is writable')
            return
        if interrupted:
            self._log('warn', f'{self.robot_id}: {len(interrupted)} operation(s) were running '
                              f'when the executor stopped, closed as INTERRUPTED (never run '
                              f'again): {", ".join(interrupted)}')

    # --- queries -------------------------------------------------------------------------

    @property
    def emergency_stop_active(self) -> bool:
        return bool(self._estop_reason)

    @property
    def durable(self) -> bool:
        """Whether operation ids are kept in a durable record (else in memory only)."""
        return self._memory.durable

    def query(self, operation_id: str) -> typing.Optional[OperationRecord]:
        """
        Return the record of an operation id, or None if this robot never accepted it.

        With a durable record, None means never accepted (also before a restart); without
        one, it may also mean forgotten (beyond ``history_size``).

        :raises OperationRecordError: the durable record cannot be read.
        """
        with self._lock:
            if self._memory.accepting(operation_id):
                return None
            return self._memory.get(operation_id)

    def records(self) -> typing.List[OperationRecord]:
        """Return every remembered record, oldest first."""
        with self._lock:
            return self._memory.records()

    def active_records(self) -> typing.List[OperationRecord]:
        with self._lock:
            return [run.record for run in self._runs.values()]

    @property
    def busy(self) -> bool:
        """Whether an operation is running, i.e. whether :meth:`tick` has work to advance."""
        # Read without the lock (one dict's truth value): the emergency lane calls this and
        # must never wait for the tick; a caller that just changed the runs sees its change.
        return bool(self._runs)

    # --- intake --------------------------------------------------------------------------

    def submit(self, name: str, params: typing.Mapping[str, typing.Any], *,
               operation_id: str = '', priority: int = 100,
               timeout_s: float = 0.0) -> OperationRecord:
        """
        Start an operation, or refuse it; always return a record.

        A refused operation's record has already ended with the reason (INVALID_PARAMETERS,
        PRECONDITION_FAILED, BUSY, ...). A known operation id returns the earlier record.

        :param name: operation name, e.g. ``'go_to'``.
        :param params: goal fields of the operation, as in its action's Goal.
        """
        # A second goal of an id whose intake is being committed right now (outside the
        # lock) waits for that commit, then attaches to the operation like any repeat. The
        # first intake may start its commit between this wait and the lock, so the check
        # under the lock sends it back to wait (rather than answering BUSY) until the
        # deadline.
        deadline = time.monotonic() + _INTAKE_WAIT_S
        while True:
            if operation_id:
                self._memory.wait_intake(operation_id, max(0.0, deadline - time.monotonic()))
            record = self._submit_once(name, params, operation_id, priority, timeout_s,
                                       may_wait=time.monotonic() < deadline)
            if record is not None:
                return record

    def _submit_once(self, name: str, params: typing.Mapping[str, typing.Any],
                     operation_id: str, priority: int, timeout_s: float, *,
                     may_wait: bool) -> typing.Optional[OperationRecord]:
        """Submit as :meth:`submit`; None when the id's intake is under way and may_wait."""
        with self._lock:
            now = self._clock()
            content = request_content(name, params)
            if operation_id:
                if may_wait and self._memory.accepting(operation_id):
                    return None
                known = self._known(name, operation_id, priority, now, content)
                if known is not None:
                    return known
            spec = self.specs.get(name)
            if spec is None:
                return self._refused(name, operation_id, priority, now, ExecutionError(
                    f'{self.robot_id} ({self.bridge.platform.value}) has no {name!r} '
                    f'operation', code=ErrorCode.UNSUPPORTED))
            if name in self._unsupported:
                return self._refused(name, operation_id, priority, now, ExecutionError(
                    f'{name} is not supported by the {self.bridge.name} bridge of '
                    f'{self.robot_id}: {self._unsupported[name]}', code=ErrorCode.UNSUPPORTED))
            emergency = spec.op_class is catalog_module.OperationClass.EMERGENCY
            if self._stopping and not emergency:
                return self._refused(name, operation_id, priority, now, ExecutionError(
                    f'{self.robot_id} is shutting down ({self._stopping}); {name} refused '
                    'before acting', code=ErrorCode.SHUTDOWN))
            commanded = emergency and params.get('release') is not True
            if commanded:
                # Commanded before validation and bookkeeping: an emergency must reach the
                # platform even if the request itself is malformed.
                self._command_emergency(name, now)
            raw = dict(params, operation_id=operation_id, priority=priority, timeout_s=timeout_s)
            try:
                prepared = catalog_module.prepare(spec, raw, snapshot=self.bridge.snapshot(),
                                                  envelope=self.envelope, home=self.home)
            except ExecutionError as error:
                if commanded:
                    return self._emergency_despite(spec, error, operation_id, priority, now)
                return self._refused(name, operation_id, priority, now, error)
            if emergency:
                try:
                    self._apply_emergency(name, prepared.params, now)
                except ExecutionError as error:
                    return self._refused(name, operation_id, priority, now, error)
                return self._begin(spec, prepared, operation_id or self._new_id(), priority,
                                   now, content, wait=False)
            try:
                self._admit(spec, priority, preempt=False)
            except ExecutionError as error:
                return self._refused(name, operation_id, priority, now, error)
            operation_id = operation_id or self._new_id()
            if not self._memory.durable:
                self._admit(spec, priority)  # checked above; now it preempts
                return self._begin(spec, prepared, operation_id, priority, now, content)
            self._memory.reserve(operation_id)
        # The intake commit is made without the lock: an emergency stop or a tick must
        # never wait behind disk I/O.
        try:
            self._memory.record_accepted(operation_id, name, content)
        except ExecutionError as error:
            with self._lock:
                self._memory.release(operation_id)
                return self._refused(name, operation_id, priority, self._clock(), error)
        with self._lock:
            self._memory.release(operation_id)
            now = self._clock()
            try:
                # Again, now preempting: the robot may have changed while the lock was free.
                self._admit(spec, priority)
            except ExecutionError as error:
                refusal = self._refused(name, operation_id, priority, now, error)
            else:
                return self._begin(spec, prepared, operation_id, priority, now, content)
        self._memory.forget_accepted(operation_id)
        return refusal

    def _known(self, name, operation_id, priority, now, content
               ) -> typing.Optional[OperationRecord]:
        """
        Return what answers a known operation id: its record, or a refusal; None if new.

        Same content: the live or recorded operation (attach to it, or its outcome). Other
        content: OPERATION_ID_CONFLICT. An id being recorded by another intake: BUSY.
        """
        if self._memory.accepting(operation_id):
            return self._refused(name, operation_id, priority, now, BusyError(
                f'operation_id={operation_id!r} is being accepted by {self.robot_id} right '
                'now; send it again to attach to it'))
        try:
            known = self._memory.get(operation_id)
        except ExecutionError as error:
            return self._refused(name, operation_id, priority, now, error)
        if known is None:
            return None
        try:
            check_same_content('operation_id', operation_id, known.content, content)
        except OperationIdConflictError as error:
            return self._refused(name, operation_id, priority, now, error)
        return known

    def _begin(self, spec, prepared, operation_id: str, priority: int, now: float, content,
               *, wait: bool = True) -> OperationRecord:
        record = OperationRecord(operation_id=operation_id, name=spec.name, priority=priority,
                                 created_s=now, content=content)
        if not wait:
            self._memory.record_accepted(operation_id, spec.name, content, wait=False)
        self._memory.remember(record)
        self._start(record, prepared, now)
        return record

    def submit_urgent(self, name: str, params: typing.Mapping[str, typing.Any], *,
                      on_record: typing.Callable[[OperationRecord], None],
                      operation_id: str = '', priority: int = 255,
                      timeout_s: float = 0.0) -> None:
        """
        Submit an operation without waiting for the runtime's lock (the emergency lane).

        Served at once when the lock is free, else by its holder at the next program step of
        a tick or as it releases the lock, whichever comes first; never later than that.

        :param on_record: called once with what :meth:`submit` returns, from this thread or
            from the lock holder's; it must not block.
        """
        self._lock.submit(functools.partial(
            self._serve_one, name, dict(params), operation_id, priority, timeout_s, on_record))

    def _serve_one(self, name, params, operation_id, priority, timeout_s, on_record) -> None:
        try:
            record = self.submit(name, params, operation_id=operation_id, priority=priority,
                                 timeout_s=timeout_s)
        except Exception as error:  # noqa: B902 - the caller must hear back whatever happens
            now = self._clock()
            record = self._refused(name, operation_id, priority, now, ExecutionError(
                f'internal error in {name}: {type(error).__name__}: {error}',
                code=ErrorCode.INTERNAL_ERROR))
        try:
            on_record(record)
        except Exception as error:  # noqa: B902 - runs on the lock holder's thread
            self._log('error', f'{name}: on_record raised {type(error).__name__}: {error}')

    def _emergency_despite(self, spec, error: ExecutionError, operation_id: str, priority: int,
                           now: float) -> OperationRecord:
        """
        Bring the runtime in line with an emergency commanded from a malformed request.

        The platform already acted, so the runtime must agree with it (latch, preempt, track
        the landing) while the caller still learns that its request was malformed.
        """
        prepared = catalog_module.prepare(spec, {}, snapshot=self.bridge.snapshot(),
                                          envelope=self.envelope, home=self.home)
        self._apply_emergency(spec.name, prepared.params, now)
        note = 'the emergency stop was commanded and latched anyway'
        if spec.name == 'emergency_land':
            record = OperationRecord(operation_id=self._new_id(), name=spec.name,
                                     priority=priority, created_s=now)
            self._memory.record_accepted(record.operation_id, spec.name, record.content,
                                         wait=False)
            self._memory.remember(record)
            self._start(record, prepared, now)
            note = f'emergency_land was commanded anyway and runs as {record.operation_id}'
        return self._refused(spec.name, operation_id, priority, now,
                             InvalidParametersError(f'{error}; {note}'))

    def _new_id(self) -> str:
        return f'{self._id_prefix}-{next(self._id_counter)}'

    def _refused(self, name, operation_id, priority, now, error) -> OperationRecord:
        record = OperationRecord(operation_id=operation_id or self._new_id(), name=name,
                                 priority=priority, created_s=now)
        record._finish(Outcome.from_error(error), now)
        return record

    def _admit(self, spec, priority: int, *, preempt: bool = True) -> None:
        """
        Apply the busy policy; raise when the operation may not start now.

        :param preempt: end the motion the new one supersedes; False only checks.
        """
        if spec.op_class is not catalog_module.OperationClass.MOTION:
            return
        for run in self._runs.values():
            if run.op_class is catalog_module.OperationClass.EMERGENCY:
                raise EmergencyStopActiveError(
                    f'{run.record.name} {run.record.operation_id} is in progress on '
                    f'{self.robot_id}; {spec.name} refused')
        if self._estop_reason:
            raise EmergencyStopActiveError(
                f'emergency stop latched on {self.robot_id} ({self._estop_reason}); send '
                f'emergency_stop with release: true before {spec.name}')
        for run in list(self._runs.values()):
            if run.op_class is not catalog_module.OperationClass.MOTION or run.settling:
                continue
            if priority < run.record.priority:
                raise BusyError(
                    f'{run.record.name} {run.record.operation_id} (priority '
                    f'{run.record.priority}) is running on {self.robot_id}; {spec.name} with '
                    f'priority {priority} refused')
            if not preempt:
                continue
            # The new motion command supersedes the old one on the platform, so the
            # preempted operation ends without a hold in between.
            self._end(run, Outcome.from_error(PreemptedError(
                f'preempted by {spec.name} (priority {priority} >= {run.record.priority})'),
                elapsed_s=self._clock() - run.context.started_s))

    def _landing_run(self) -> typing.Optional[_Run]:
        """Return the running emergency_land, if any (an emergency_stop must not undo it)."""
        for run in self._runs.values():
            if run.record.name == 'emergency_land' and not run.settling:
                return run
        return None

    def _command_emergency(self, name: str, now: float) -> None:
        if name == 'emergency_stop' and self._landing_run() is not None:
            # Latched below, but the platform keeps landing: nothing to command.
            self._emergency_handle = CommandHandle.succeeded(None, 'emergency_stop')
            self._log('warn', f'emergency_stop on {self.robot_id} during emergency_land: '
                              f'latched, the landing goes on')
        elif name == 'emergency_stop':
            self._emergency_handle = self.bridge.emergency_stop()
        else:
            self._emergency_handle = self.bridge.emergency_land()
        self._emergency_command_s = self._clock()
        self._emergency_latency_s = self._emergency_command_s - now
        self._log('warn', f'{name} commanded on {self.robot_id}')

    def _apply_emergency(self, name: str, params, now: float) -> None:
        if name == 'emergency_stop' and params.get('release'):
            if self._estop_reason:
                self._log('info', f'emergency stop released on {self.robot_id}')
            self._estop_reason = ''
            return
        if name == 'emergency_stop':
            self._estop_reason = params.get('reason') or 'no reason given'
        landing = self._landing_run() if name == 'emergency_stop' else None
        for run in list(self._runs.values()):
            if run is landing:
                continue
            self._end(run, Outcome.from_error(
                PreemptedError(f'preempted by {name} on {self.robot_id}'),
                elapsed_s=now - run.context.started_s))

    def _start(self, record: OperationRecord, prepared, now: float) -> None:
        hooks = dict(self._hooks)
        # Captured now: a later emergency (a stop during a landing) must not change what
        # this one reports.
        handle = self._emergency_handle
        timing = (self._emergency_command_s, self._emergency_latency_s)
        hooks['emergency_handle'] = lambda: handle
        hooks['emergency_timing'] = lambda: timing
        context = ProgramContext(bridge=self.bridge, clock=self._clock,
                                 progress=record.progress, hooks=hooks)
        program = PROGRAMS[record.name](context, prepared.params)
        deadline = now + prepared.timeout_s
        run = _Run(record, prepared, program, deadline, context)
        self._runs[record.operation_id] = run
        record.state = OperationState.RUNNING
        record.started = True
        record.progress.phase = 'starting'
        self._on_started(record)
        # The first step runs now, so the platform is commanded without waiting for a tick.
        self._step(run, now)

    # --- control -------------------------------------------------------------------------

    def cancel(self, operation_id: str, reason: str = 'canceled by the caller') -> bool:
        """
        Cancel a running operation; motion is brought to a safe hold before it ends.

        :return: whether the operation was running.
        """
        with self._lock:
            run = self._runs.get(operation_id)
            if run is None or run.settling:
                return False
            self._settle(run, CanceledError(reason))
            return True

    def next_wake_s(self) -> typing.Optional[float]:
        """Return when the earliest timed wait of a running operation ends, or None."""
        with self._lock:
            return min((run.context.wake_at_s for run in self._runs.values()
                        if run.context.wake_at_s is not None), default=None)

    def tick(self) -> None:
        """Advance the platform and every running operation to the current time."""
        with self._lock:
            now = self._clock()
            self.bridge.update(now)
            for run in list(self._runs.values()):
                # An emergency waiting for the lock goes first, between two steps.
                self._lock.drain()
                if self._runs.get(run.record.operation_id) is not run:
                    continue  # ended by that emergency
                self._step(run, now)
            if self._auto_return_home:
                self._battery_failsafe()

    def _battery_failsafe(self) -> None:
        s = self.bridge.snapshot()
        level = self.envelope.return_home_battery_percent
        if s.battery_percent >= level + _RETURN_HOME_HYSTERESIS_PERCENT:
            self._low_battery_handled = False
        if (self._low_battery_handled or not self.envelope.needs_return_home(s.battery_percent)
                or any(run.record.name in ('return_home', 'emergency_land', 'land', 'dock')
                       for run in self._runs.values())):
            return
        drone = s.platform.value == 'drone'
        away = s.airborne if drone else (
            not s.docked and s.distance_to(0.0, 0.0) > _AT_HOME_RADIUS_M)
        if not away or (self._estop_reason and not drone):
            # Latched on the ground or water: standing still is safe, and the episode stays
            # open, so the robot goes home once the stop is released.
            return
        self._low_battery_handled = True
        if self._estop_reason:
            self._land_latched(s.battery_percent, level)
            return
        reason = (f'battery {s.battery_percent:.0f}% < {level:.0f}% return-home level on '
                  f'{self.robot_id}; returning home')
        self._log('warn', reason)
        for run in list(self._runs.values()):
            if run.op_class is catalog_module.OperationClass.MOTION:
                self._end(run, Outcome.from_error(PreemptedError(reason),
                                                  elapsed_s=self._clock() - run.context.started_s))
        record = self.submit('return_home', {}, priority=255)
        if not record.done or record.outcome.succeeded:
            return
        self._log('error', f'automatic return_home on {self.robot_id} refused: '
                           f'{record.outcome.message}')

    def _land_latched(self, battery_percent: float, level: float) -> None:
        """Battery failsafe under a latched stop: land in place rather than fly home."""
        self._log('warn', f'battery {battery_percent:.0f}% < {level:.0f}% return-home level on '
                          f'{self.robot_id} while the emergency stop is latched '
                          f'({self._estop_reason}); landing in place')
        record = self.submit('emergency_land', {'reason': 'battery failsafe while stopped'},
                             priority=255)
        if record.done and not record.outcome.succeeded:
            self._log('error', f'automatic emergency_land on {self.robot_id} refused: '
                               f'{record.outcome.message}')

    def stop(self, reason: str = 'executor shutting down', *,
             safe_action: str = 'hold') -> typing.Optional[CommandHandle]:
        """
        Stop intake and end every running operation with SHUTDOWN; command the robot safe.

        The goals' results (SHUTDOWN, not retryable: they started, so a caller must
        reconcile by id rather than send them again) are delivered as usual; new goals are
        refused with SHUTDOWN (not started), emergencies still run.

        :param safe_action: ``hold`` (hover / stop in place) when a motion was running, or
            ``land``: an airborne drone is also landed (other platforms hold).
        :return: the safe command's handle (to wait for its acknowledgement), or None.
        """
        with self._lock:
            self._stopping = reason
            moving = False
            for run in list(self._runs.values()):
                moving = moving or run.op_class is catalog_module.OperationClass.MOTION
                self._end(run, Outcome.from_error(
                    ExecutionError(f'{reason}; {run.record.name} had started (reconcile by its '
                                   'id, do not send it again under a new one)',
                                   code=ErrorCode.SHUTDOWN, retryable=False),
                    elapsed_s=self._clock() - run.context.started_s))
            snapshot = self.bridge.snapshot()
            if safe_action == 'land' and snapshot.airborne and not self._estop_reason:
                self._log('warn', f'{self.robot_id}: landing for shutdown ({reason})')
                return self.bridge.land(descent_speed_mps=_SHUTDOWN_DESCENT_SPEED_MPS)
            if moving:
                self._log('warn', f'{self.robot_id}: holding for shutdown ({reason})')
                return self.bridge.hold()
            return None

    def shutdown(self, reason: str = 'executor shutting down') -> None:
        """:meth:`stop` (if not yet), then close the bridge and the durable record."""
        if not self._stopping:
            self.stop(reason)
        with self._lock:
            self.bridge.close()
        if self._memory.store is not None:
            self._memory.store.close()

    # --- stepping ------------------------------------------------------------------------

    def _step(self, run: _Run, now: float) -> None:
        if run.settling:
            handle = run.settle_handle
            if handle is None or handle.done() or now >= run.settle_deadline_s:
                self._end(run, run.settle_outcome)
            return
        if now >= run.deadline_s:
            self._settle(run, OperationTimeoutError(
                f'{run.record.name} did not finish within {run.prepared.timeout_s:.1f} s '
                f'(estimated {run.prepared.estimate_s:.1f} s); robot commanded to hold'))
            return
        try:
            next(run.program)
        except StopIteration as stop:
            self._succeed(run, stop.value or {})
        except ExecutionError as error:
            self._settle(run, error)
        except Exception as error:  # noqa: B902 - a bug must still end the goal with a reason
            self._log('error', f'{run.record.name} {run.record.operation_id} raised '
                               f'{type(error).__name__}: {error}')
            self._settle(run, ExecutionError(
                f'internal error in {run.record.name}: {type(error).__name__}: {error}',
                code=ErrorCode.INTERNAL_ERROR))

    def _succeed(self, run: _Run, result: typing.Mapping[str, typing.Any]) -> None:
        try:
            catalog_module.check_postconditions(run.prepared, self.bridge.snapshot())
        except ExecutionError as error:
            self._settle(run, error)
            return
        run.record.progress.progress = 1.0
        run.record.progress.phase = 'done'
        self._end(run, Outcome(code=ErrorCode.NONE, result=dict(result),
                               elapsed_s=self._clock() - run.context.started_s))

    def _hold_if_moving(self, run: _Run) -> typing.Optional[CommandHandle]:
        if run.op_class is not catalog_module.OperationClass.MOTION:
            return None
        return self.bridge.hold()

    def _settle(self, run: _Run, error: ExecutionError) -> None:
        """Close the program, hold if it moved the robot, and end once the hold is acked."""
        run.program.close()
        run.settling = True
        run.record.progress.phase = 'holding'
        run.settle_outcome = Outcome.from_error(
            error, elapsed_s=self._clock() - run.context.started_s)
        run.settle_handle = self._hold_if_moving(run)
        run.settle_deadline_s = self._clock() + _HOLD_ACK_TIMEOUT_S
        if run.settle_handle is None or run.settle_handle.done():
            self._end(run, run.settle_outcome)

    def _end(self, run: _Run, outcome: Outcome) -> None:
        run.program.close()
        self._runs.pop(run.record.operation_id, None)
        if outcome.code not in (ErrorCode.NONE, ErrorCode.CANCELED):
            self._log('warn', f'{run.record.name} {run.record.operation_id} on '
                              f'{self.robot_id} ended {code_name(outcome.code)}: '
                              f'{outcome.message}')
        run.record._finish(outcome, self._clock(), notify=False)
        # Callbacks (the goal's result) run once the outcome is durable.
        self._memory.record_outcome(run.record)
