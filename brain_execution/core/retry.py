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
Retry policies: when a failed operation is sent again, and after how long.

Small composable objects in the style of tenacity, each validated when built:

* stop conditions :class:`stop_after_attempt` and :class:`stop_after_delay`, combined with
  ``|`` (stop when either says so) or ``&`` (stop when both do);
* the wait strategy :class:`wait_exponential` (and :class:`wait_fixed`), whose jitter draws
  from an injected :class:`random.Random`, so tests are reproducible;
* :class:`RetryPolicy`, built from those or from the fields of
  ``brain_execution_interfaces/msg/RetryPolicy`` with :meth:`RetryPolicy.from_fields`.

Nothing here sleeps or reads a clock: :meth:`RetryPolicy.decide` is told the times and returns
a :class:`RetryDecision`; the caller waits (cancellably, on the node clock) for ``delay_s``.

:func:`adaptive_timeout_s` and :class:`DurationStats` derive an operation's deadline from its
catalog estimate and from how long the same operation took on the same robot before.
"""

import collections
import dataclasses
import math
import random
import threading
import typing

from .catalog import adaptive_timeout_s as _estimate_timeout_s
from .errors import code_name, ErrorCode, REQUEST_ERROR_CODES

__all__ = [
    'DurationStats',
    'NON_RETRYABLE_CODES',
    'RetryDecision',
    'RetryDefaults',
    'RetryPolicy',
    'StopCondition',
    'WaitStrategy',
    'adaptive_timeout_s',
    'stop_after_attempt',
    'stop_after_delay',
    'stop_all',
    'stop_any',
    'stop_never',
    'wait_exponential',
    'wait_fixed',
]

# Codes never retried, whatever the result's retryable flag says. Sending the same request
# again cannot change the outcome of bad input or of a target outside the safety envelope,
# and retrying a canceled operation or motion under a latched emergency stop would override
# a human decision.
NON_RETRYABLE_CODES = REQUEST_ERROR_CODES | frozenset({
    ErrorCode.CANCELED,
    ErrorCode.EMERGENCY_STOP_ACTIVE,
})

# Ranges documented in RetryPolicy.msg.
_MAX_ATTEMPTS_RANGE = (1, 20)
_INITIAL_BACKOFF_RANGE_S = (0.01, 600.0)
_MAX_BACKOFF_RANGE_S = (0.01, 3600.0)
_MULTIPLIER_RANGE = (1.0, 10.0)
_JITTER_RANGE = (0.0, 1.0)
# Same ceiling as the catalog's deadlines: no single operation may hold a robot for a day.
_MAX_TIMEOUT_S = 86400.0
# Observed durations are stretched by this factor, as the catalog stretches its estimates.
_OBSERVED_MARGIN = 1.5


def _finite_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{name}={value!r} must be a number')
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'{name}={value} must be finite')
    return value


def _in_range(name: str, value, low: float, high: float, unit: str = '') -> float:
    value = _finite_number(name, value)
    if not low <= value <= high:
        raise ValueError(f'{name}={value:g}{unit} is outside {low:g}..{high:g}{unit}')
    return value


def _whole_number(name: str, value, low: int, high: int = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'{name}={value!r} must be a whole number')
    if value < low or (high is not None and value > high):
        limits = f'{low}..{high}' if high is not None else f'at least {low}'
        raise ValueError(f'{name}={value} is outside {limits}')
    return value


# --- Stop conditions -------------------------------------------------------------------------
# Lower-case class names as in tenacity: ``stop_after_attempt(3) | stop_after_delay(30)``
# reads as the rule it builds.


class StopCondition:
    """
    Decides whether a retry may start; combine with ``|`` and ``&``.

    Subclasses implement :meth:`__call__`.
    """

    def __call__(self, *, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        """
        Return True when no further attempt may start.

        :param attempt: Number of the attempt that just ended, 1 for the first.
        :param elapsed_s: Seconds from the start of the first attempt until now.
        :param next_delay_s: Back-off the next attempt would wait before starting.
        :return: True to give up.
        """
        raise NotImplementedError

    def __or__(self, other: 'StopCondition') -> 'StopCondition':
        return stop_any(self, other)

    def __and__(self, other: 'StopCondition') -> 'StopCondition':
        return stop_all(self, other)


class stop_never(StopCondition):
    """Never stops; only useful as a neutral element when combining."""

    def __call__(self, *, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        return False

    def __repr__(self) -> str:
        return 'stop_never()'


class stop_after_attempt(StopCondition):
    """
    Stops once ``max_attempts`` attempts, the first included, have run.

    :param max_attempts: Total attempts, at least 1 (1 = never retry).
    :raises ValueError: If ``max_attempts`` is not a whole number of at least 1.
    """

    def __init__(self, max_attempts: int):
        self.max_attempts = _whole_number('max_attempts', max_attempts, 1)

    def __call__(self, *, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        return attempt >= self.max_attempts

    def __repr__(self) -> str:
        return f'stop_after_attempt({self.max_attempts})'


class stop_after_delay(StopCondition):
    """
    Stops when the next attempt would start more than ``max_delay_s`` after the first.

    The back-off counts: a retry whose wait would end past the bound is not started, because
    waiting out a back-off only to give up at its end wastes the caller's time.

    :param max_delay_s: Seconds from the start of the first attempt, positive.
    :raises ValueError: If ``max_delay_s`` is not a positive finite number.
    """

    def __init__(self, max_delay_s: float):
        max_delay_s = _finite_number('max_delay_s', max_delay_s)
        if max_delay_s <= 0.0:
            raise ValueError(f'max_delay_s={max_delay_s:g} s must be positive')
        self.max_delay_s = max_delay_s

    def __call__(self, *, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        return elapsed_s + next_delay_s > self.max_delay_s

    def __repr__(self) -> str:
        return f'stop_after_delay({self.max_delay_s:g})'


class stop_any(StopCondition):
    """Stops when any of its conditions does (what ``a | b`` builds)."""

    def __init__(self, *conditions: StopCondition):
        if not conditions:
            raise ValueError('stop_any needs at least one condition')
        for condition in conditions:
            if not isinstance(condition, StopCondition):
                raise ValueError(f'{condition!r} is not a stop condition')
        self.conditions = tuple(conditions)

    def __call__(self, *, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        return any(c(attempt=attempt, elapsed_s=elapsed_s, next_delay_s=next_delay_s)
                   for c in self.conditions)

    def __repr__(self) -> str:
        return ' | '.join(repr(c) for c in self.conditions)


class stop_all(StopCondition):
    """Stops when all of its conditions do (what ``a & b`` builds)."""

    def __init__(self, *conditions: StopCondition):
        if not conditions:
            raise ValueError('stop_all needs at least one condition')
        for condition in conditions:
            if not isinstance(condition, StopCondition):
                raise ValueError(f'{condition!r} is not a stop condition')
        self.conditions = tuple(conditions)

    def __call__(self, *, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        return all(c(attempt=attempt, elapsed_s=elapsed_s, next_delay_s=next_delay_s)
                   for c in self.conditions)

    def __repr__(self) -> str:
        return ' & '.join(repr(c) for c in self.conditions)


# --- Wait strategies -------------------------------------------------------------------------


class WaitStrategy:
    """
    Back-off before a retry.

    Subclasses implement :meth:`__call__`.
    """

    def __call__(self, attempt: int) -> float:
        """
        Return the seconds to wait before attempt ``attempt + 1``.

        :param attempt: Number of the attempt that just ended, 1 for the first.
        :return: Seconds, never negative.
        """
        raise NotImplementedError


class wait_fixed(WaitStrategy):
    """
    The same back-off before every retry.

    :param delay_s: Seconds, zero or more.
    :raises ValueError: If ``delay_s`` is negative or not finite.
    """

    def __init__(self, delay_s: float):
        delay_s = _finite_number('delay_s', delay_s)
        if delay_s < 0.0:
            raise ValueError(f'delay_s={delay_s:g} s must not be negative')
        self.delay_s = delay_s

    def __call__(self, attempt: int) -> float:
        return self.delay_s

    def __repr__(self) -> str:
        return f'wait_fixed({self.delay_s:g})'


class wait_exponential(WaitStrategy):
    """
    Exponential back-off with a ceiling and random spread.

    Before attempt n+1: ``min(maximum_s, initial_s * multiplier ** (n - 1))``, spread by up to
    ``+-jitter`` of itself and kept within ``maximum_s``. The spread keeps a fleet whose robots
    failed together (a shared link dropping) from retrying in lock step.

    :param initial_s: Back-off before the first retry, seconds, positive.
    :param multiplier: Growth factor per attempt, at least 1.
    :param maximum_s: Ceiling of one back-off, seconds, at least ``initial_s``.
    :param jitter: Spread as a fraction of the back-off, 0..1.
    :param rng: Source of the spread; inject a seeded one for reproducible runs.
    :raises ValueError: If a value is out of range.
    """

    def __init__(self, initial_s: float = 1.0, multiplier: float = 2.0,
                 maximum_s: float = 60.0, *, jitter: float = 0.0,
                 rng: typing.Optional[random.Random] = None):
        initial_s = _finite_number('initial_s', initial_s)
        if initial_s <= 0.0:
            raise ValueError(f'initial_s={initial_s:g} s must be positive')
        multiplier = _finite_number('multiplier', multiplier)
        if multiplier < 1.0:
            raise ValueError(f'multiplier={multiplier:g} must be at least 1')
        maximum_s = _finite_number('maximum_s', maximum_s)
        if maximum_s < initial_s:
            raise ValueError(
                f'maximum_s={maximum_s:g} s is below initial_s={initial_s:g} s')
        self.initial_s = initial_s
        self.multiplier = multiplier
        self.maximum_s = maximum_s
        self.jitter = _in_range('jitter', jitter, *_JITTER_RANGE)
        self._rng = rng if rng is not None else random.Random()

    def base_s(self, attempt: int) -> float:
        """
        Return the back-off before attempt ``attempt + 1`` without the random spread.

        :param attempt: Number of the attempt that just ended, 1 for the first.
        :return: Seconds.
        """
        attempt = max(1, int(attempt))
        # Compare logarithms instead of computing multiplier ** (attempt - 1): after a few
        # hundred attempts the power overflows a float long after it passed the ceiling.
        if self.multiplier > 1.0 and (
                (attempt - 1) * math.log(self.multiplier)
                >= math.log(self.maximum_s / self.initial_s)):
            return self.maximum_s
        return min(self.maximum_s, self.initial_s * self.multiplier ** (attempt - 1))

    def __call__(self, attempt: int) -> float:
        base = self.base_s(attempt)
        if self.jitter == 0.0:
            return base
        spread = base * self.jitter * self._rng.uniform(-1.0, 1.0)
        return max(0.0, min(self.maximum_s, base + spread))

    def __repr__(self) -> str:
        return (f'wait_exponential({self.initial_s:g}, {self.multiplier:g}, '
                f'{self.maximum_s:g}, jitter={self.jitter:g})')


# --- Policy ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    """
    Whether to send a failed operation again and after how long.

    :param retry: True to start another attempt after ``delay_s``.
    :param delay_s: Seconds to wait before it; 0 when not retrying.
    :param reason: Why, for logs, events and dead letters.
    """

    retry: bool
    delay_s: float = 0.0
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class RetryDefaults:
    """
    Values :meth:`RetryPolicy.from_fields` uses for fields left at 0.

    Same fields, units and ranges as ``RetryPolicy.msg``; ``max_elapsed_s`` 0 means unbounded.

    :raises ValueError: If a value lies outside the message's documented range.
    """

    max_attempts: int = 3
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.2
    max_elapsed_s: float = 0.0

    def __post_init__(self):
        _check_fields(self.max_attempts, self.initial_backoff_s, self.max_backoff_s,
                      self.multiplier, self.jitter, self.max_elapsed_s, prefix='defaults.')


def _check_fields(max_attempts, initial_backoff_s, max_backoff_s, multiplier, jitter,
                  max_elapsed_s, *, prefix=''):
    _whole_number(prefix + 'max_attempts', max_attempts, *_MAX_ATTEMPTS_RANGE)
    _in_range(prefix + 'initial_backoff_s', initial_backoff_s, *_INITIAL_BACKOFF_RANGE_S, ' s')
    _in_range(prefix + 'max_backoff_s', max_backoff_s, *_MAX_BACKOFF_RANGE_S, ' s')
    _in_range(prefix + 'multiplier', multiplier, *_MULTIPLIER_RANGE)
    _in_range(prefix + 'jitter', jitter, *_JITTER_RANGE)
    if _finite_number(prefix + 'max_elapsed_s', max_elapsed_s) < 0.0:
        raise ValueError(f'{prefix}max_elapsed_s={max_elapsed_s:g} s must not be negative')
    if max_backoff_s < initial_backoff_s:
        raise ValueError(f'{prefix}max_backoff_s={max_backoff_s:g} s is below '
                         f'{prefix}initial_backoff_s={initial_backoff_s:g} s')


def _resolve(name: str, value, default):
    """Return ``default`` for 0 (the message's "use the default"), else ``value``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{name}={value!r} must be a number')
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f'{name}=nan must be a number')
    if value < 0:
        raise ValueError(f'{name}={value:g} must not be negative (0 means the default)')
    return default if value == 0 else value


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """
    When to send a failed operation again: a stop condition and a wait strategy.

    Build it from the composable objects, e.g.
    ``RetryPolicy(stop=stop_after_attempt(5) | stop_after_delay(120),
    wait=wait_exponential(1, 2, 30, jitter=0.2, rng=rng))``, or from the message fields with
    :meth:`from_fields`.

    :param stop: When to give up.
    :param wait: Back-off before each retry.
    """

    stop: StopCondition = dataclasses.field(default_factory=lambda: stop_after_attempt(3))
    wait: WaitStrategy = dataclasses.field(default_factory=lambda: wait_exponential())

    def __post_init__(self):
        if not isinstance(self.stop, StopCondition):
            raise ValueError(f'stop={self.stop!r} is not a stop condition')
        if not isinstance(self.wait, WaitStrategy):
            raise ValueError(f'wait={self.wait!r} is not a wait strategy')

    @classmethod
    def from_fields(cls, max_attempts: int = 0, initial_backoff_s: float = 0.0,
                    max_backoff_s: float = 0.0, multiplier: float = 0.0, jitter: float = 0.0,
                    max_elapsed_s: float = 0.0, *,
                    defaults: RetryDefaults = RetryDefaults(),
                    rng: typing.Optional[random.Random] = None) -> 'RetryPolicy':
        """
        Build a policy from the fields of ``RetryPolicy.msg``.

        A field of 0 takes its value from ``defaults``. Because of that, a message cannot ask
        for no jitter or an unbounded ``max_elapsed_s`` when the defaults say otherwise.

        :param max_attempts: Total attempts including the first, 1..20.
        :param initial_backoff_s: Seconds before the first retry, 0.01..600.
        :param max_backoff_s: Ceiling of one back-off in seconds, 0.01..3600.
        :param multiplier: Growth factor of the back-off, 1..10.
        :param jitter: Random spread as a fraction of the back-off, 0..1.
        :param max_elapsed_s: Seconds from the first attempt after which no retry starts;
            0 in the defaults means unbounded.
        :param defaults: Values for the fields left at 0 (the coordinator's configuration).
        :param rng: Source of the jitter.
        :return: A new policy.
        :raises ValueError: If a field (after defaults) is outside its documented range,
            naming the field and the range.
        """
        if not isinstance(defaults, RetryDefaults):
            raise ValueError(f'defaults={defaults!r} is not a RetryDefaults')
        max_attempts = _resolve('max_attempts', max_attempts, defaults.max_attempts)
        initial_backoff_s = _resolve(
            'initial_backoff_s', initial_backoff_s, defaults.initial_backoff_s)
        max_backoff_s = _resolve('max_backoff_s', max_backoff_s, defaults.max_backoff_s)
        multiplier = _resolve('multiplier', multiplier, defaults.multiplier)
        jitter = _resolve('jitter', jitter, defaults.jitter)
        max_elapsed_s = _resolve('max_elapsed_s', max_elapsed_s, defaults.max_elapsed_s)
        _check_fields(max_attempts, initial_backoff_s, max_backoff_s, multiplier, jitter,
                      max_elapsed_s)
        stop = stop_after_attempt(max_attempts)
        if max_elapsed_s > 0.0:
            stop = stop | stop_after_delay(max_elapsed_s)
        wait = wait_exponential(initial_backoff_s, multiplier, max_backoff_s,
                                jitter=jitter, rng=rng)
        return cls(stop=stop, wait=wait)

    def decide(self, *, attempt: int, first_attempt_s: float, now_s: float, code: int,
               retryable: bool) -> RetryDecision:
        """
        Decide whether an attempt that just ended is followed by another.

        Only failures are retried, only when the result says ``retryable`` and its code is not
        in :data:`NON_RETRYABLE_CODES`, and only within the stop condition.

        :param attempt: Number of the attempt that just ended, 1 for the first.
        :param first_attempt_s: When the first attempt started, seconds (caller's clock).
        :param now_s: Now, seconds on the same clock.
        :param code: The attempt's result code (0 = success).
        :param retryable: The attempt's result ``retryable`` flag.
        :return: The decision with its back-off and reason.
        :raises ValueError: If ``attempt`` is below 1.
        """
        attempt = _whole_number('attempt', attempt, 1)
        name = code_name(code)
        if code == ErrorCode.NONE:
            return RetryDecision(False, 0.0, 'succeeded')
        if code in NON_RETRYABLE_CODES:
            return RetryDecision(False, 0.0, f'{name} is never retried')
        if not retryable:
            return RetryDecision(False, 0.0, f'{name} result is not retryable')
        # A clock that stepped back (sim time reset) must not buy extra retries.
        elapsed_s = max(0.0, now_s - first_attempt_s)
        delay_s = self.wait(attempt)
        if self.stop(attempt=attempt, elapsed_s=elapsed_s, next_delay_s=delay_s):
            return RetryDecision(False, 0.0, f'gave up on {name} after {attempt} attempt(s) '
                                 f'in {elapsed_s:.1f} s ({self.stop!r})')
        return RetryDecision(
            True, delay_s, f'{name}: attempt {attempt + 1} in {delay_s:.2f} s')


# --- Adaptive timeouts -----------------------------------------------------------------------


def _percentile(values: typing.Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile: a value that was observed, never interpolated."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def adaptive_timeout_s(estimate_s: float,
                       observed_s_history: typing.Iterable[float] = ()) -> float:
    """
    Return an operation's deadline from its catalog estimate and its observed durations.

    ``max(1.5 x estimate + 10 s, 1.5 x p95 of observed)``, at most 86400 s. The estimate
    assumes nominal speed; a robot that keeps taking longer (a heavy payload, head wind, a
    slow autopilot) would otherwise time out on every run, and 95th percentile plus 50 %
    covers its usual spread without letting a stuck run hold the robot for long. Observations
    only lengthen the deadline: a lucky streak of fast runs must not cut the catalog margin.

    :param estimate_s: Estimated duration in seconds; NaN or negative counts as 0.
    :param observed_s_history: Durations in seconds of earlier successful runs; NaN,
        infinite and negative values are ignored.
    :return: Seconds.
    """
    timeout_s = _estimate_timeout_s(estimate_s)
    observed = [float(v) for v in observed_s_history
                if isinstance(v, (int, float)) and math.isfinite(v) and v >= 0.0]
    if observed:
        timeout_s = max(timeout_s, _OBSERVED_MARGIN * _percentile(observed, 0.95))
    return min(_MAX_TIMEOUT_S, timeout_s)


class DurationStats:
    """
    How long each operation took on each robot: bounded ring buffers, thread safe.

    Keyed by ``(robot_id, operation)``; each key keeps its last ``maxlen`` durations and at
    most ``max_keys`` keys are kept, the least recently updated dropped first, so a caller
    inventing robot or operation names cannot grow memory.

    :param maxlen: Durations kept per key.
    :param max_keys: Keys kept.
    :raises ValueError: If a bound is below 1.
    """

    def __init__(self, *, maxlen: int = 50, max_keys: int = 1024):
        self.maxlen = _whole_number('maxlen', maxlen, 1)
        self.max_keys = _whole_number('max_keys', max_keys, 1)
        self._lock = threading.Lock()
        self._history: 'collections.OrderedDict[tuple, collections.deque]' = (
            collections.OrderedDict())

    def record(self, robot_id: str, operation: str, duration_s: float) -> None:
        """
        Remember one run's duration; NaN, infinite and negative values are ignored.

        :param robot_id: The robot.
        :param operation: The operation's name.
        :param duration_s: Seconds from start to successful end.
        """
        if not isinstance(duration_s, (int, float)) or not math.isfinite(duration_s) or (
                duration_s < 0.0):
            return
        key = (robot_id, operation)
        with self._lock:
            history = self._history.get(key)
            if history is None:
                history = self._history[key] = collections.deque(maxlen=self.maxlen)
                while len(self._history) > self.max_keys:
                    self._history.popitem(last=False)
            else:
                self._history.move_to_end(key)
            history.append(float(duration_s))

    def history(self, robot_id: str, operation: str) -> typing.Tuple[float, ...]:
        """
        Return the remembered durations of one robot's operation, oldest first.

        :param robot_id: The robot.
        :param operation: The operation's name.
        :return: Seconds; empty if none.
        """
        with self._lock:
            return tuple(self._history.get((robot_id, operation), ()))

    def timeout_s(self, robot_id: str, operation: str, estimate_s: float) -> float:
        """
        Return :func:`adaptive_timeout_s` for one robot's operation.

        :param robot_id: The robot.
        :param operation: The operation's name.
        :param estimate_s: The catalog's estimate for this goal, seconds.
        :return: Seconds.
        """
        return adaptive_timeout_s(estimate_s, self.history(robot_id, operation))

    def __len__(self) -> int:
        with self._lock:
            return len(self._history)
