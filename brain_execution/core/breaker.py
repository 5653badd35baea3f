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
Circuit breakers per robot and per robot operation: fail fast while a robot keeps failing.

Shaped like pybreaker: state classes (:class:`ClosedState`, :class:`OpenState`,
:class:`HalfOpenState`), listeners told of every transition and a storage seam so the journal
can persist breakers later. Unlike pybreaker, no lock is held across the guarded call: a robot
operation lasts minutes, so the caller brackets it instead::

    breaker.before_call()            # raises CircuitOpenError while open
    ... run the operation ...
    breaker.record_success()         # or record_failure(code, message)

and the lock is only taken for the few lines that change the state.

* CLOSED: operations flow; ``failure_threshold`` failures in a row open the breaker.
* OPEN: :meth:`CircuitBreaker.before_call` fails fast with ``CIRCUIT_OPEN`` (retryable) until
  ``reset_timeout_s`` has passed, then the breaker goes HALF_OPEN.
* HALF_OPEN: up to ``half_open_max_calls`` probes pass; the first probe success closes the
  breaker, a probe failure reopens it with a fresh timeout.

Results whose code says nothing about the robot's health (bad input, a target outside the
envelope, a cancel) are excluded: they count neither as success nor as failure, so a caller
sending bad goals cannot open a healthy robot's breaker, nor close a broken one's.

Time comes from an injected clock (seconds, monotonic or the node clock); ``retry_at_s`` is in
that clock's time, which is what the ROS adapter turns into ``CircuitState.retry_stamp``.
"""

import collections
import dataclasses
import enum
import logging
import math
import threading
import typing

from .errors import code_name, ErrorCode, ExecutionError, REQUEST_ERROR_CODES

__all__ = [
    'BreakerRegistry',
    'BreakerState',
    'CircuitBreaker',
    'CircuitBreakerState',
    'CircuitInfo',
    'CircuitListener',
    'CircuitOpenError',
    'CircuitRecord',
    'CircuitStorage',
    'ClosedState',
    'DEFAULT_EXCLUDED_CODES',
    'DEFAULT_EXEMPT_OPERATIONS',
    'HalfOpenState',
    'MemoryStorage',
    'OpenState',
    'default_exclude',
]

_LOGGER = logging.getLogger(__name__)

# Codes that say nothing about the robot's health, so they neither trip nor heal a breaker:
# - INVALID_PARAMETERS, UNSUPPORTED, GEOFENCE/ALTITUDE/SPEED violations: the request was bad;
#   the same robot would do a good one.
# - PRECONDITION_FAILED: the robot was not in a state to start (e.g. takeoff while airborne);
#   that is the caller's sequencing, not a fault.
# - CANCELED, PREEMPTED: someone else ended the operation.
# - BUSY: the robot refused because it was working, which is health, not failure.
# - EMERGENCY_STOP_ACTIVE: a human latched the stop; failing fast on top adds nothing.
# - CIRCUIT_OPEN: a fail-fast from another breaker; counting it would keep breakers open by
#   their own refusals.
# - DEPENDENCY_FAILED, UNKNOWN_ROBOT, UNKNOWN_OPERATION, INVALID_PLAN, SHUTDOWN: plan-level or
#   coordinator-level outcomes that never reached the robot.
DEFAULT_EXCLUDED_CODES = REQUEST_ERROR_CODES | frozenset({
    ErrorCode.CANCELED,
    ErrorCode.PREEMPTED,
    ErrorCode.BUSY,
    ErrorCode.EMERGENCY_STOP_ACTIVE,
    ErrorCode.CIRCUIT_OPEN,
    ErrorCode.DEPENDENCY_FAILED,
    ErrorCode.UNKNOWN_ROBOT,
    ErrorCode.UNKNOWN_OPERATION,
    ErrorCode.INVALID_PLAN,
    ErrorCode.SHUTDOWN,
})

# Operations a registry never gates: an emergency stop always wins (DESIGN.md), even on a
# robot whose breaker is open because it keeps failing.
DEFAULT_EXEMPT_OPERATIONS = frozenset({'emergency_stop', 'emergency_land'})


def default_exclude(code: int) -> bool:
    """Return whether a failure with this code is left out of the breaker's count."""
    return code in DEFAULT_EXCLUDED_CODES


class BreakerState(enum.IntEnum):
    """Same values as CircuitState.CLOSED/OPEN/HALF_OPEN."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitOpenError(ExecutionError):
    """
    Raised when a breaker fails fast: it is open, or half-open with its probes in flight.

    :param message: Names the breaker, its failures and when it will probe.
    :param breaker_name: The breaker that refused.
    :param retry_at_s: When the breaker will admit a probe (clock seconds); 0 when half-open,
        since then it depends on when the probe in flight ends.
    """

    code = ErrorCode.CIRCUIT_OPEN

    def __init__(self, message: str, *, breaker_name: str, retry_at_s: float = 0.0):
        super().__init__(message, retryable=True)
        self.breaker_name = breaker_name
        self.retry_at_s = retry_at_s


@dataclasses.dataclass(frozen=True)
class CircuitRecord:
    """
    What a breaker remembers; what :class:`CircuitStorage` persists.

    Probes in flight are left out on purpose: after a restart no probe is running, and a
    restored count would keep a half-open breaker refusing forever.
    """

    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    # When an OPEN breaker goes HALF_OPEN; 0 unless OPEN.
    retry_at_s: float = 0.0
    last_error_code: int = 0
    last_error_msg: str = ''


@dataclasses.dataclass(frozen=True)
class CircuitInfo:
    """
    A breaker's state, field for field ``CircuitState.msg`` (``retry_at_s`` -> retry_stamp).

    :param name: The breaker's name (``robot`` or ``robot/operation`` in a registry).
    :param robot_id: The robot, or '' for a breaker outside a registry.
    :param operation: The operation guarded, '' for the breaker of the whole robot.
    :param state: CLOSED, OPEN or HALF_OPEN.
    :param consecutive_failures: Counted failures in a row.
    :param failure_threshold: Failures in a row that open the breaker.
    :param retry_at_s: When an OPEN breaker goes HALF_OPEN, clock seconds; 0 unless OPEN.
    :param last_error_code: Code of the latest counted failure (the one that opened it while
        open); 0 when there is none.
    :param last_error_msg: Its message.
    """

    name: str
    robot_id: str
    operation: str
    state: BreakerState
    consecutive_failures: int
    failure_threshold: int
    retry_at_s: float
    last_error_code: int
    last_error_msg: str


class CircuitStorage(typing.Protocol):
    """Where breakers keep their :class:`CircuitRecord`; the journal may implement it."""

    def load(self, name: str) -> typing.Optional[CircuitRecord]:
        """Return the record saved under ``name``, or None."""

    def save(self, name: str, record: CircuitRecord) -> None:
        """Save ``record`` under ``name``, replacing what was there."""


class MemoryStorage:
    """Keeps records in a dictionary; one instance may serve many breakers (keyed by name)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._records: typing.Dict[str, CircuitRecord] = {}

    def load(self, name: str) -> typing.Optional[CircuitRecord]:
        with self._lock:
            return self._records.get(name)

    def save(self, name: str, record: CircuitRecord) -> None:
        with self._lock:
            self._records[name] = record


class CircuitListener:
    """Told of every state change; subclass it or give any object this method."""

    def on_state_change(self, breaker: 'CircuitBreaker', old: BreakerState,
                        new: BreakerState) -> None:
        """
        Handle a transition; called outside the breaker's lock, in transition order.

        :param breaker: The breaker; :meth:`CircuitBreaker.state_info` gives its details.
        :param old: The state it left.
        :param new: The state it entered.
        """


# --- State classes ---------------------------------------------------------------------------
# Each takes the current record and returns the next one; they run under the breaker's lock,
# so they must stay short and never call out.


class CircuitBreakerState:
    """Behaviour of a breaker in one state."""

    value: BreakerState

    def before_call(self, breaker: 'CircuitBreaker', record: CircuitRecord,
                    now_s: float) -> CircuitRecord:
        """Admit a call, or raise :class:`CircuitOpenError`."""
        raise NotImplementedError

    def on_success(self, breaker: 'CircuitBreaker', record: CircuitRecord,
                   now_s: float) -> CircuitRecord:
        """Return the record after a successful call."""
        raise NotImplementedError

    def on_failure(self, breaker: 'CircuitBreaker', record: CircuitRecord, now_s: float,
                   code: int, message: str) -> CircuitRecord:
        """Return the record after a counted failure."""
        raise NotImplementedError


class ClosedState(CircuitBreakerState):
    """Operations flow; enough failures in a row open the breaker."""

    value = BreakerState.CLOSED

    def before_call(self, breaker, record, now_s):
        return record

    def on_success(self, breaker, record, now_s):
        return CircuitRecord()

    def on_failure(self, breaker, record, now_s, code, message):
        failures = record.consecutive_failures + 1
        if failures >= breaker.failure_threshold:
            return breaker._open(failures, now_s, code, message)
        return dataclasses.replace(record, consecutive_failures=failures,
                                   last_error_code=int(code), last_error_msg=message)


class OpenState(CircuitBreakerState):
    """Operations fail fast until the reset timeout has passed."""

    value = BreakerState.OPEN

    def before_call(self, breaker, record, now_s):
        raise CircuitOpenError(
            f"circuit '{breaker.name}' is open after {record.consecutive_failures} "
            f'consecutive failure(s) (last: {_describe(record)}); next probe in '
            f'{max(0.0, record.retry_at_s - now_s):.1f} s (at t={record.retry_at_s:.1f} s)',
            breaker_name=breaker.name, retry_at_s=record.retry_at_s)

    def on_success(self, breaker, record, now_s):
        # A call admitted before the breaker opened ended well. One late success does not
        # outweigh the failures that opened it; the half-open probe decides.
        return record

    def on_failure(self, breaker, record, now_s, code, message):
        # A late failure of a call admitted before the breaker opened. Counted, but it neither
        # extends the timeout (late results would keep it open forever) nor replaces the
        # error that opened the breaker.
        return dataclasses.replace(record,
                                   consecutive_failures=record.consecutive_failures + 1)


class HalfOpenState(CircuitBreakerState):
    """A few probes pass; the first outcome closes or reopens the breaker."""

    value = BreakerState.HALF_OPEN

    def before_call(self, breaker, record, now_s):
        if breaker._probes >= breaker.half_open_max_calls:
            raise CircuitOpenError(
                f"circuit '{breaker.name}' is half-open after {record.consecutive_failures} "
                f'consecutive failure(s) (last: {_describe(record)}) and its probe is in '
                f'flight ({breaker._probes} of {breaker.half_open_max_calls}); it fails fast '
                'until the probe ends',
                breaker_name=breaker.name, retry_at_s=0.0)
        breaker._probes += 1
        return record

    def on_success(self, breaker, record, now_s):
        return CircuitRecord()

    def on_failure(self, breaker, record, now_s, code, message):
        return breaker._open(record.consecutive_failures + 1, now_s, code, message)


_STATES = {state.value: state for state in (ClosedState(), OpenState(), HalfOpenState())}


def _describe(record: CircuitRecord) -> str:
    if not record.last_error_code:
        return 'none recorded'
    text = code_name(record.last_error_code)
    return f'{text}: {record.last_error_msg}' if record.last_error_msg else text


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name}={value!r} must be a whole number of at least 1')
    return value


class CircuitBreaker:
    """
    One circuit breaker; thread safe, never holding its lock across the guarded call.

    :param name: Names the breaker in errors, logs and storage.
    :param failure_threshold: Counted failures in a row that open it, at least 1.
    :param reset_timeout_s: Seconds an open breaker fails fast before it probes, positive.
    :param clock: Returns the current time in seconds (monotonic, or the node clock).
    :param half_open_max_calls: Probes admitted at once while half-open, at least 1.
    :param exclude: ``exclude(code) -> bool``; True leaves a failure out of the count.
        Defaults to :func:`default_exclude`.
    :param listeners: Objects with ``on_state_change(breaker, old, new)``.
    :param storage: Where the record is kept; a new :class:`MemoryStorage` when None. An
        existing record under ``name`` is restored.
    :param robot_id: The robot, for :class:`CircuitInfo`.
    :param operation: The operation guarded, '' for a whole robot.
    :raises ValueError: If a setting is out of range.
    """

    def __init__(self, name: str, *, failure_threshold: int, reset_timeout_s: float,
                 clock: typing.Callable[[], float], half_open_max_calls: int = 1,
                 exclude: typing.Optional[typing.Callable[[int], bool]] = None,
                 listeners: typing.Iterable[CircuitListener] = (),
                 storage: typing.Optional[CircuitStorage] = None,
                 robot_id: str = '', operation: str = ''):
        if not isinstance(name, str) or not name:
            raise ValueError(f'name={name!r} must be a non-empty string')
        self.failure_threshold = _positive_int('failure_threshold', failure_threshold)
        if isinstance(reset_timeout_s, bool) or not isinstance(reset_timeout_s, (int, float)) or (
                not math.isfinite(reset_timeout_s) or reset_timeout_s <= 0.0):
            raise ValueError(f'reset_timeout_s={reset_timeout_s!r} must be a positive number '
                             'of seconds')
        if not callable(clock):
            raise ValueError(f'clock={clock!r} must be callable')
        if exclude is not None and not callable(exclude):
            raise ValueError(f'exclude={exclude!r} must be callable or None')
        self.name = name
        self.robot_id = robot_id
        self.operation = operation
        self.reset_timeout_s = float(reset_timeout_s)
        self.half_open_max_calls = _positive_int('half_open_max_calls', half_open_max_calls)
        self._clock = clock
        self._exclude = exclude if exclude is not None else default_exclude
        self._listeners = list(listeners)
        self._storage = storage if storage is not None else MemoryStorage()
        self._lock = threading.Lock()
        self._record = self._storage.load(name) or CircuitRecord()
        # Probes admitted while half-open and not yet ended (volatile, see CircuitRecord).
        self._probes = 0
        # Transitions waiting for their listeners, and the lock of whoever delivers them.
        self._pending: typing.Deque[typing.Tuple[BreakerState, BreakerState]] = (
            collections.deque())
        self._delivering = threading.Lock()

    # --- Public API ---

    @property
    def state(self) -> BreakerState:
        """Return where the breaker is now; open with its timeout passed reports HALF_OPEN."""
        return self.state_info().state

    def add_listener(self, listener: CircuitListener) -> None:
        """Add a listener; it hears transitions from now on."""
        with self._lock:
            self._listeners = self._listeners + [listener]

    def remove_listener(self, listener: CircuitListener) -> None:
        """Remove a listener added before; unknown ones are ignored."""
        with self._lock:
            self._listeners = [each for each in self._listeners if each is not listener]

    def is_excluded(self, code: int) -> bool:
        """Return whether a failure with this code is left out of the count."""
        return bool(self._exclude(code))

    def before_call(self) -> None:
        """
        Admit a call, or fail fast.

        An open breaker whose timeout has passed goes half-open here and admits the probe.
        Every admitted call must end with :meth:`record_success`, :meth:`record_failure` or
        :meth:`release`; a half-open breaker otherwise keeps its probe slot taken.

        :raises CircuitOpenError: (``CIRCUIT_OPEN``, retryable) while open, or while half-open
            with ``half_open_max_calls`` probes in flight.
        """
        self._update(lambda handler, record, now: handler.before_call(self, record, now))

    def release(self) -> None:
        """Give back an admission whose call did not run (e.g. another breaker refused)."""
        self._update(lambda handler, record, now: self._release_probe(record))

    def record_success(self) -> None:
        """Record that an admitted call succeeded; a half-open probe's success closes it."""
        self._update(lambda handler, record, now: handler.on_success(self, record, now))

    def record_failure(self, code: int, message: str = '') -> None:
        """
        Record that an admitted call failed.

        Excluded codes only give back a half-open probe slot; others count, and open the
        breaker at ``failure_threshold`` in a row or when a half-open probe fails.

        :param code: The result code.
        :param message: The result's error message (kept as ``last_error_msg``).
        :raises ValueError: If ``code`` is 0 (success): use :meth:`record_success`.
        """
        if code == ErrorCode.NONE:
            raise ValueError(f"circuit '{self.name}': code 0 is a success, not a failure")
        if self.is_excluded(code):
            self._update(lambda handler, record, now: self._release_probe(record))
            return
        self._update(
            lambda handler, record, now: handler.on_failure(self, record, now, code, message))

    def reset(self) -> None:
        """Close the breaker and forget its failures (an operator's decision)."""
        self._update(lambda handler, record, now: CircuitRecord(), refresh=False)

    def state_info(self) -> CircuitInfo:
        """Return the breaker's state as :class:`CircuitInfo`."""
        record = self._update(lambda handler, record, now: record)
        return CircuitInfo(
            name=self.name, robot_id=self.robot_id, operation=self.operation,
            state=record.state, consecutive_failures=record.consecutive_failures,
            failure_threshold=self.failure_threshold, retry_at_s=record.retry_at_s,
            last_error_code=record.last_error_code, last_error_msg=record.last_error_msg)

    def __repr__(self) -> str:
        return f'CircuitBreaker({self.name!r}, state={self._record.state.name})'

    # --- Used by the state classes and the registry ---

    def _peek(self) -> CircuitRecord:
        with self._lock:
            return self._record

    def _open(self, failures: int, now_s: float, code: int, message: str) -> CircuitRecord:
        return CircuitRecord(state=BreakerState.OPEN, consecutive_failures=failures,
                             retry_at_s=now_s + self.reset_timeout_s,
                             last_error_code=int(code), last_error_msg=message)

    def _release_probe(self, record: CircuitRecord) -> CircuitRecord:
        if record.state == BreakerState.HALF_OPEN:
            self._probes = max(0, self._probes - 1)
        return record

    # --- Internals ---

    def _update(self, step, *, refresh: bool = True) -> CircuitRecord:
        """Apply ``step(handler, record, now)`` under the lock; persist and notify after."""
        error = None
        with self._lock:
            now_s = float(self._clock())
            old = self._record
            record = old
            if refresh and record.state == BreakerState.OPEN and now_s >= record.retry_at_s:
                record = dataclasses.replace(record, state=BreakerState.HALF_OPEN,
                                             retry_at_s=0.0)
                self._probes = 0
                self._pending.append((BreakerState.OPEN, BreakerState.HALF_OPEN))
            try:
                new = step(_STATES[record.state], record, now_s)
            except CircuitOpenError as e:
                error, new = e, record
            if new.state != record.state:
                self._pending.append((record.state, new.state))
            if new.state != BreakerState.HALF_OPEN:
                # Probes belong to one half-open episode; the next one starts with none.
                self._probes = 0
            if new != old:
                self._record = new
                # Saved under the lock so the storage sees records in transition order.
                self._storage.save(self.name, new)
        self._deliver()
        if error is not None:
            raise error
        return new

    def _deliver(self) -> None:
        """
        Call the listeners for pending transitions, in order, outside the state lock.

        Whoever holds the delivery lock delivers everyone's transitions; a thread that cannot
        take it returns at once, so a listener that records a result does not deadlock.
        """
        while True:
            if not self._delivering.acquire(blocking=False):
                return
            try:
                while True:
                    with self._lock:
                        if not self._pending:
                            break
                        old, new = self._pending.popleft()
                        listeners = self._listeners
                    for listener in listeners:
                        try:
                            listener.on_state_change(self, old, new)
                        except Exception:
                            # A failing listener (a publisher during shutdown) must not break
                            # the bookkeeping of the call that triggered it.
                            _LOGGER.exception("listener of circuit '%s' failed", self.name)
            finally:
                self._delivering.release()
            # A transition queued after the inner loop ended, while the delivery lock was
            # still held, was left by its thread for us: deliver it.
            with self._lock:
                if not self._pending:
                    return


class BreakerRegistry:
    """
    Breakers per robot and per (robot, operation), created on demand and bounded.

    :meth:`check` asks the robot's breaker, then the operation's; :meth:`record` reports the
    outcome to both, so a robot failing at everything is stopped as a whole and a robot
    failing at one operation only for that operation.

    At most ``max_breakers`` breakers exist. Creating one more first drops the least recently
    used CLOSED breaker (preferring those with no failures; a fresh breaker behaves the same).
    OPEN and HALF_OPEN breakers are never dropped, since they are what makes a robot fail fast;
    if every breaker is in one of those states, the new key gets no breaker and is guarded by
    the others only (robot breaker, if it exists), with a warning logged.

    :param clock: Returns the current time in seconds.
    :param failure_threshold: As :class:`CircuitBreaker`, for every breaker.
    :param reset_timeout_s: As :class:`CircuitBreaker`.
    :param half_open_max_calls: As :class:`CircuitBreaker`.
    :param exclude: As :class:`CircuitBreaker`.
    :param listeners: Added to every breaker.
    :param storage: Shared by every breaker (records are keyed by breaker name:
        ``robot`` or ``robot/operation``); a new :class:`MemoryStorage` when None.
    :param max_breakers: Bound on breakers, at least 1.
    :param exempt_operations: Operations never gated nor counted (emergency stop and land).
    :raises ValueError: If a setting is out of range.
    """

    def __init__(self, *, clock: typing.Callable[[], float], failure_threshold: int = 5,
                 reset_timeout_s: float = 30.0, half_open_max_calls: int = 1,
                 exclude: typing.Optional[typing.Callable[[int], bool]] = None,
                 listeners: typing.Iterable[CircuitListener] = (),
                 storage: typing.Optional[CircuitStorage] = None,
                 max_breakers: int = 1024,
                 exempt_operations: typing.Iterable[str] = DEFAULT_EXEMPT_OPERATIONS):
        self.max_breakers = _positive_int('max_breakers', max_breakers)
        self.exempt_operations = frozenset(exempt_operations)
        self._settings = {
            'failure_threshold': failure_threshold, 'reset_timeout_s': reset_timeout_s,
            'clock': clock, 'half_open_max_calls': half_open_max_calls, 'exclude': exclude,
            'listeners': tuple(listeners),
            'storage': storage if storage is not None else MemoryStorage(),
        }
        # Validates the shared settings once, here, rather than at the first check.
        CircuitBreaker('settings', **dict(self._settings, storage=MemoryStorage()))
        self._lock = threading.Lock()
        self._breakers: 'collections.OrderedDict[typing.Tuple[str, str], CircuitBreaker]' = (
            collections.OrderedDict())

    def breaker(self, robot_id: str, operation: str = '') -> typing.Optional[CircuitBreaker]:
        """
        Return the breaker of a robot (operation '') or of one of its operations.

        Created on demand; None when the bound leaves no room (see the class docstring).

        :param robot_id: The robot.
        :param operation: The operation, or '' for the robot's own breaker.
        :return: The breaker, or None.
        :raises ValueError: If ``robot_id`` is empty.
        """
        if not robot_id:
            raise ValueError('robot_id must not be empty')
        key = (robot_id, operation)
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is not None:
                self._breakers.move_to_end(key)
                return breaker
            if len(self._breakers) >= self.max_breakers and not self._evict():
                _LOGGER.warning(
                    'all %d circuit breakers are open or half-open; %s%s is not guarded by '
                    'its own breaker', self.max_breakers, robot_id,
                    f'/{operation}' if operation else '')
                return None
            breaker = CircuitBreaker(
                f'{robot_id}/{operation}' if operation else robot_id,
                robot_id=robot_id, operation=operation, **self._settings)
            self._breakers[key] = breaker
            return breaker

    def check(self, robot_id: str, operation: str) -> None:
        """
        Admit an operation on a robot, or fail fast.

        Every admitted operation must be followed by :meth:`record` (or :meth:`release`).

        :param robot_id: The robot.
        :param operation: The operation's name.
        :raises CircuitOpenError: If the robot's or the operation's breaker refuses.
        """
        if operation in self.exempt_operations:
            return
        robot_breaker = self.breaker(robot_id)
        operation_breaker = self.breaker(robot_id, operation) if operation else None
        if robot_breaker is not None:
            robot_breaker.before_call()
        if operation_breaker is not None:
            try:
                operation_breaker.before_call()
            except CircuitOpenError:
                # The robot breaker may have admitted this call as its half-open probe; the
                # call will not run, so its slot must be given back.
                if robot_breaker is not None:
                    robot_breaker.release()
                raise

    def release(self, robot_id: str, operation: str) -> None:
        """Give back an admission from :meth:`check` whose operation did not run."""
        if operation in self.exempt_operations:
            return
        for breaker in self._pair(robot_id, operation):
            breaker.release()

    def record(self, robot_id: str, operation: str, code: int, message: str = '') -> None:
        """
        Report how an operation admitted by :meth:`check` ended.

        :param robot_id: The robot.
        :param operation: The operation's name.
        :param code: Its result code; 0 is a success.
        :param message: Its error message.
        """
        if operation in self.exempt_operations:
            return
        for breaker in self._pair(robot_id, operation):
            if code == ErrorCode.NONE:
                breaker.record_success()
            else:
                breaker.record_failure(code, message)

    def reset(self, robot_id: str = '', operation: str = '') -> int:
        """
        Close breakers; '' in a field matches every value.

        ``reset('r1')`` resets r1's breaker and all its operations' breakers,
        ``reset('', 'takeoff')`` the takeoff breakers of every robot, ``reset()`` all.

        :param robot_id: The robot, or '' for all.
        :param operation: The operation, or '' for all (the robot breaker included).
        :return: How many breakers were reset.
        """
        with self._lock:
            chosen = [breaker for (robot, op), breaker in self._breakers.items()
                      if robot_id in ('', robot) and operation in ('', op)]
        for breaker in chosen:
            breaker.reset()
        return len(chosen)

    def states(self) -> typing.List[CircuitInfo]:
        """Return every breaker's state, sorted by robot then operation."""
        with self._lock:
            breakers = [self._breakers[key] for key in sorted(self._breakers)]
        return [breaker.state_info() for breaker in breakers]

    def __len__(self) -> int:
        with self._lock:
            return len(self._breakers)

    def _pair(self, robot_id: str, operation: str) -> typing.List[CircuitBreaker]:
        breakers = [self.breaker(robot_id)]
        if operation:
            breakers.append(self.breaker(robot_id, operation))
        return [breaker for breaker in breakers if breaker is not None]

    def _evict(self) -> bool:
        """Drop one CLOSED breaker, least recently used first; return False if none is."""
        fallback = None
        for key, breaker in self._breakers.items():
            # Peek without the open -> half-open refresh: that would call listeners while the
            # registry lock is held, and a listener reading states() would deadlock.
            record = breaker._peek()
            if record.state != BreakerState.CLOSED:
                continue
            if record.consecutive_failures == 0:
                del self._breakers[key]
                return True
            if fallback is None:
                fallback = key
        if fallback is None:
            return False
        del self._breakers[fallback]
        return True
