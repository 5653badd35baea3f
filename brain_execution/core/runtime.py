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
is what makes every wait follow sim time).

Rules (see DESIGN.md, "Execution semantics"):

* Motion operations are exclusive. A new one of equal or higher priority preempts the
  running one (PREEMPTED); a lower one is refused (BUSY). Sensing and communication run
  alongside.
* emergency_stop and emergency_land are commanded to the platform inside :meth:`submit`,
  before anything else, and preempt every running operation. emergency_stop latches: motion
  is refused (EMERGENCY_STOP_ACTIVE) until it is sent again with ``release``.
* Cancel and timeout close the program and command a safe hold, then end the operation.
* Below the envelope's return-home battery level, a robot away from home is sent home
  (return_home at the highest priority, preempting its motion), once per low-battery episode,
  as PX4's and ArduPilot's battery failsafes do; ``auto_return_home=False`` turns this off.
* An operation id that has started is an idempotency key: submitting it again returns the
  same record (and so the same outcome) without acting twice. A refusal at intake did not act
  on the robot, so it is not remembered and the same id may be submitted again.
"""

import collections
import dataclasses
import enum
import itertools
import threading
import typing
import uuid

from . import catalog as catalog_module
from .bridge import CommandHandle, PlatformBridge
from .envelope import SafetyEnvelope
from .errors import (
    BusyError, CanceledError, code_name, EmergencyStopActiveError, ErrorCode, ExecutionError,
    InvalidParametersError, OperationTimeoutError, PreemptedError)
from .geo import GeoPoint
from .program import ProgramContext, Progress
from .programs import PROGRAMS

__all__ = ['OperationRecord', 'OperationState', 'Outcome', 'RobotRuntime']

# A robot within this distance of home (metres) counts as home for the battery failsafe.
_AT_HOME_RADIUS_M = 2.0
# The battery must rise this far above the return-home level (e.g. charging on a dock)
# before a new low-battery episode can send the robot home again.
_RETURN_HOME_HYSTERESIS_PERCENT = 5.0
# How long a canceled or timed-out motion waits for the platform to acknowledge the hold
# before the operation ends anyway; the goal must end even when the link is gone.
_HOLD_ACK_TIMEOUT_S = 2.0


class OperationState(enum.IntEnum):
    """Same values as OperationStatus.STATE_*."""

    PENDING = 1
    RUNNING = 2
    SUCCEEDED = 4
    FAILED = 5
    CANCELED = 6


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How an operation ended: a result code, a reason, and the result fields."""

    code: int
    message: str = ''
    retryable: bool = False
    result: typing.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.code == ErrorCode.NONE

    @classmethod
    def from_error(cls, error: ExecutionError, elapsed_s: float = 0.0) -> 'Outcome':
        return cls(code=error.code, message=str(error), retryable=error.retryable,
                   elapsed_s=elapsed_s)


class OperationRecord:
    """One operation's identity, live progress and, once ended, its outcome."""

    def __init__(self, *, operation_id: str, name: str, priority: int, created_s: float):
        self.operation_id = operation_id
        self.name = name
        self.priority = priority
        self.created_s = created_s
        self.ended_s = None
        self.state = OperationState.PENDING
        self.progress = Progress()
        self.outcome: typing.Optional[Outcome] = None
        self._done_callbacks = []

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def add_done_callback(self, callback: typing.Callable[['OperationRecord'], None]) -> None:
        """Call ``callback(record)`` once the operation ends (at once if it has)."""
        if self.outcome is not None:
            callback(self)
        else:
            self._done_callbacks.append(callback)

    def _finish(self, outcome: Outcome, now_s: float) -> None:
        self.outcome = outcome
        self.ended_s = now_s
        if outcome.succeeded:
            self.state = OperationState.SUCCEEDED
        elif outcome.code == ErrorCode.CANCELED:
            self.state = OperationState.CANCELED
        else:
            self.state = OperationState.FAILED
        callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            callback(self)


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
    """

    def __init__(self, *, robot_id: str, bridge: PlatformBridge, envelope: SafetyEnvelope,
                 home: typing.Optional[GeoPoint], clock: typing.Callable[[], float],
                 history_size: int = 1000,
                 hooks: typing.Mapping[str, typing.Callable] = None,
                 logger: typing.Callable[[str, str], None] = None,
                 auto_return_home: bool = True):
        if history_size < 1:
            raise ValueError(f'history_size={history_size} must be at least 1')
        self.robot_id = robot_id
        self.bridge = bridge
        self.envelope = envelope
        self.home = home
        self._clock = clock
        self._history_size = history_size
        self._hooks = dict(hooks or {})
        self._log = logger or (lambda level, message: None)
        self._lock = threading.RLock()
        self._records: 'collections.OrderedDict[str, OperationRecord]' = (
            collections.OrderedDict())
        self._runs: typing.Dict[str, _Run] = {}
        self._estop_reason = ''
        self._emergency_handle: typing.Optional[CommandHandle] = None
        self._emergency_latency_s = 0.0
        self._emergency_command_s = 0.0
        self._auto_return_home = auto_return_home
        self._low_battery_handled = False
        self._id_counter = itertools.count(1)
        self._id_prefix = f'{robot_id}-{uuid.uuid4().hex[:8]}'
        self.specs = {spec.name: spec for spec in catalog_module.operations_for(bridge.platform)}
        self._unsupported = dict(bridge.unsupported_operations())

    # --- queries -------------------------------------------------------------------------

    @property
    def emergency_stop_active(self) -> bool:
        return bool(self._estop_reason)

    def query(self, operation_id: str) -> typing.Optional[OperationRecord]:
        """Return the record of an operation id, or None if unknown or forgotten."""
        with self._lock:
            return self._records.get(operation_id)

    def records(self) -> typing.List[OperationRecord]:
        """Return every remembered record, oldest first."""
        with self._lock:
            return list(self._records.values())

    def active_records(self) -> typing.List[OperationRecord]:
        with self._lock:
            return [run.record for run in self._runs.values()]

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
        with self._lock:
            now = self._clock()
            if operation_id:
                known = self._records.get(operation_id)
                if known is not None:
                    if known.name != name:
                        return self._refused(name, operation_id, priority, now,
                                             InvalidParametersError(
                                                 f'operation_id={operation_id!r} already '
                                                 f'names a {known.name} operation on '
                                                 f'{self.robot_id}; use a new id'))
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
            try:
                if emergency:
                    self._apply_emergency(name, prepared.params, now)
                else:
                    self._admit(spec, priority)
            except ExecutionError as error:
                return self._refused(name, operation_id, priority, now, error)
            record = OperationRecord(operation_id=operation_id or self._new_id(), name=name,
                                     priority=priority, created_s=now)
            self._remember(record)
            self._start(record, prepared, now)
            return record

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
            self._remember(record)
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

    def _admit(self, spec, priority: int) -> None:
        """Apply the busy policy; raise when the operation may not start now."""
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
            # The new motion command supersedes the old one on the platform, so the
            # preempted operation ends without a hold in between.
            self._end(run, Outcome.from_error(PreemptedError(
                f'preempted by {spec.name} (priority {priority} >= {run.record.priority})'),
                elapsed_s=self._clock() - run.context.started_s))

    def _command_emergency(self, name: str, now: float) -> None:
        if name == 'emergency_stop':
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
        for run in list(self._runs.values()):
            self._end(run, Outcome.from_error(
                PreemptedError(f'preempted by {name} on {self.robot_id}'),
                elapsed_s=now - run.context.started_s))

    def _start(self, record: OperationRecord, prepared, now: float) -> None:
        hooks = dict(self._hooks)
        hooks['emergency_handle'] = lambda: self._emergency_handle
        hooks['emergency_timing'] = lambda: (self._emergency_command_s,
                                             self._emergency_latency_s)
        context = ProgramContext(bridge=self.bridge, clock=self._clock,
                                 progress=record.progress, hooks=hooks)
        program = PROGRAMS[record.name](context, prepared.params)
        deadline = now + prepared.timeout_s
        run = _Run(record, prepared, program, deadline, context)
        self._runs[record.operation_id] = run
        record.state = OperationState.RUNNING
        record.progress.phase = 'starting'
        # The first step runs now, so the platform is commanded without waiting for a tick.
        self._step(run, now)

    def _remember(self, record: OperationRecord) -> None:
        self._records[record.operation_id] = record
        excess = len(self._records) - self._history_size
        if excess <= 0:
            return
        # Running operations are never forgotten (their ids must stay idempotent); the oldest
        # ended ones go, however long a running one has been at the head of the history.
        for old_id in [i for i, r in self._records.items() if r.done][:excess]:
            del self._records[old_id]

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
                self._step(run, now)
            if self._auto_return_home:
                self._battery_failsafe()

    def _battery_failsafe(self) -> None:
        s = self.bridge.snapshot()
        level = self.envelope.return_home_battery_percent
        if s.battery_percent >= level + _RETURN_HOME_HYSTERESIS_PERCENT:
            self._low_battery_handled = False
        if (self._low_battery_handled or not self.envelope.needs_return_home(s.battery_percent)
                or self._estop_reason or any(
                    run.record.name in ('return_home', 'emergency_land', 'land', 'dock')
                    for run in self._runs.values())):
            return
        away = s.airborne if s.platform.value == 'drone' else (
            not s.docked and s.distance_to(0.0, 0.0) > _AT_HOME_RADIUS_M)
        if not away:
            return
        self._low_battery_handled = True
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

    def shutdown(self, reason: str = 'executor shutting down') -> None:
        """End every running operation (SHUTDOWN), holding motion; then close the bridge."""
        with self._lock:
            for run in list(self._runs.values()):
                self._hold_if_moving(run)
                self._end(run, Outcome.from_error(
                    ExecutionError(reason, code=ErrorCode.SHUTDOWN),
                    elapsed_s=self._clock() - run.context.started_s))
            self.bridge.close()

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
        run.record._finish(outcome, self._clock())
