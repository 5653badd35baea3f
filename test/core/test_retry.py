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
Retry policies: back-off, jitter, stop conditions, retryable codes and adaptive timeouts.

Times are plain numbers handed to :meth:`RetryPolicy.decide`; randomness comes from a seeded
:class:`random.Random`, so every run draws the same jitter.
"""

import math
import random

from brain_execution.core.errors import ErrorCode, is_retryable
from brain_execution.core.retry import (
    adaptive_timeout_s, DurationStats, NON_RETRYABLE_CODES, RetryDefaults, RetryPolicy,
    stop_after_attempt, stop_after_delay, stop_never, wait_exponential, wait_fixed)
import pytest


def _policy(**fields):
    return RetryPolicy.from_fields(rng=random.Random(7), **fields)


def _decide(policy, attempt, *, elapsed_s=0.0, code=ErrorCode.TIMEOUT, retryable=True):
    return policy.decide(attempt=attempt, first_attempt_s=100.0, now_s=100.0 + elapsed_s,
                         code=code, retryable=retryable)


# --- Wait strategies -------------------------------------------------------------------------


def test_exponential_back_off_sequence_and_cap():
    wait = wait_exponential(0.5, 2.0, 5.0)
    assert [wait(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_multiplier_one_is_a_constant_back_off():
    wait = wait_exponential(3.0, 1.0, 10.0)
    assert {wait(n) for n in range(1, 50)} == {3.0}


def test_huge_attempt_numbers_stay_at_the_cap_without_overflow():
    wait = wait_exponential(1.0, 10.0, 3600.0)
    assert wait(10_000) == 3600.0


def test_jitter_stays_within_its_fraction_and_the_cap():
    rng = random.Random(1234)
    wait = wait_exponential(1.0, 2.0, 8.0, jitter=0.25, rng=rng)
    for attempt in range(1, 8):
        base = wait.base_s(attempt)
        draws = [wait(attempt) for _ in range(300)]
        assert all(base * 0.75 - 1e-9 <= d <= min(8.0, base * 1.25) + 1e-9 for d in draws)
        # The spread is real, not a constant offset.
        assert max(draws) - min(draws) > base * 0.2


def test_jitter_is_reproducible_with_a_seeded_rng():
    first = wait_exponential(1.0, 2.0, 60.0, jitter=0.5, rng=random.Random(42))
    second = wait_exponential(1.0, 2.0, 60.0, jitter=0.5, rng=random.Random(42))
    assert [first(n) for n in range(1, 6)] == [second(n) for n in range(1, 6)]


@pytest.mark.parametrize('args, kwargs, fragment', [
    ((0.0, 2.0, 10.0), {}, 'initial_s=0 s must be positive'),
    ((1.0, 0.5, 10.0), {}, 'multiplier=0.5 must be at least 1'),
    ((5.0, 2.0, 1.0), {}, 'maximum_s=1 s is below initial_s=5 s'),
    ((1.0, 2.0, 10.0), {'jitter': 1.5}, 'jitter=1.5 is outside 0..1'),
    ((math.nan, 2.0, 10.0), {}, 'initial_s=nan must be finite'),
    (('1', 2.0, 10.0), {}, "initial_s='1' must be a number"),
])
def test_wait_exponential_validates_in_init(args, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        wait_exponential(*args, **kwargs)


def test_wait_fixed():
    assert wait_fixed(2.5)(1) == wait_fixed(2.5)(9) == 2.5
    with pytest.raises(ValueError, match='must not be negative'):
        wait_fixed(-1.0)


# --- Stop conditions -------------------------------------------------------------------------


def test_stop_after_attempt_counts_the_first_attempt():
    stop = stop_after_attempt(3)
    assert not stop(attempt=1, elapsed_s=0.0, next_delay_s=0.0)
    assert not stop(attempt=2, elapsed_s=0.0, next_delay_s=0.0)
    assert stop(attempt=3, elapsed_s=0.0, next_delay_s=0.0)


def test_stop_after_delay_counts_the_coming_back_off():
    stop = stop_after_delay(10.0)
    assert not stop(attempt=1, elapsed_s=6.0, next_delay_s=4.0)   # starts exactly at 10 s
    assert stop(attempt=1, elapsed_s=6.0, next_delay_s=4.5)       # would start at 10.5 s


def test_or_stops_when_either_does_and_and_when_both_do():
    either = stop_after_attempt(3) | stop_after_delay(10.0)
    both = stop_after_attempt(3) & stop_after_delay(10.0)
    assert either(attempt=3, elapsed_s=0.0, next_delay_s=0.0)
    assert either(attempt=1, elapsed_s=11.0, next_delay_s=0.0)
    assert not either(attempt=2, elapsed_s=5.0, next_delay_s=1.0)
    assert not both(attempt=3, elapsed_s=0.0, next_delay_s=0.0)
    assert not both(attempt=1, elapsed_s=11.0, next_delay_s=0.0)
    assert both(attempt=3, elapsed_s=11.0, next_delay_s=0.0)
    assert not stop_never()(attempt=10 ** 6, elapsed_s=1e9, next_delay_s=0.0)
    assert repr(either) == 'stop_after_attempt(3) | stop_after_delay(10)'


@pytest.mark.parametrize('build, fragment', [
    (lambda: stop_after_attempt(0), 'max_attempts=0 is outside at least 1'),
    (lambda: stop_after_attempt(2.5), 'max_attempts=2.5 must be a whole number'),
    (lambda: stop_after_attempt(True), 'max_attempts=True must be a whole number'),
    (lambda: stop_after_delay(0.0), 'max_delay_s=0 s must be positive'),
    (lambda: stop_after_delay(math.inf), 'max_delay_s=inf must be finite'),
    (lambda: stop_after_attempt(2) | 'soon', "'soon' is not a stop condition"),
])
def test_stop_conditions_validate_in_init(build, fragment):
    with pytest.raises(ValueError, match=fragment):
        build()


# --- RetryPolicy.decide ----------------------------------------------------------------------


def test_decide_retries_retryable_failures_with_the_back_off_until_attempts_run_out():
    policy = RetryPolicy(stop=stop_after_attempt(4), wait=wait_exponential(1.0, 3.0, 5.0))
    decisions = [_decide(policy, n) for n in range(1, 5)]
    assert [d.retry for d in decisions] == [True, True, True, False]
    assert [d.delay_s for d in decisions] == [1.0, 3.0, 5.0, 0.0]
    assert 'attempt 2' in decisions[0].reason
    assert 'gave up on TIMEOUT after 4 attempt(s)' in decisions[-1].reason


@pytest.mark.parametrize('code', sorted(NON_RETRYABLE_CODES))
def test_non_retryable_codes_are_never_retried_even_if_flagged_retryable(code):
    decision = _decide(_policy(max_attempts=20), 1, code=code, retryable=True)
    assert not decision.retry
    assert decision.delay_s == 0.0
    assert ErrorCode(code).name in decision.reason


def test_the_listed_codes_are_all_never_retried():
    assert {ErrorCode.INVALID_PARAMETERS, ErrorCode.PRECONDITION_FAILED, ErrorCode.UNSUPPORTED,
            ErrorCode.GEOFENCE_VIOLATION, ErrorCode.ALTITUDE_LIMIT_VIOLATION,
            ErrorCode.SPEED_LIMIT_VIOLATION} <= NON_RETRYABLE_CODES
    assert not any(is_retryable(code) for code in NON_RETRYABLE_CODES)


def test_a_result_not_flagged_retryable_is_not_retried():
    decision = _decide(_policy(), 1, code=ErrorCode.PLATFORM_REJECTED, retryable=False)
    assert not decision.retry
    assert 'PLATFORM_REJECTED result is not retryable' in decision.reason


def test_success_is_not_retried():
    assert not _decide(_policy(), 1, code=ErrorCode.NONE, retryable=True).retry


def test_max_elapsed_does_not_start_a_retry_whose_back_off_ends_past_it():
    policy = RetryPolicy.from_fields(max_attempts=20, initial_backoff_s=2.0, multiplier=2.0,
                                     max_backoff_s=60.0, jitter=0.0, max_elapsed_s=10.0,
                                     defaults=RetryDefaults(jitter=0.0))
    # Attempt 2 ends at 5 s: back-off 4 s, retry at 9 s, inside the bound.
    assert _decide(policy, 2, elapsed_s=5.0).retry
    # Attempt 3 ends at 5 s: back-off 8 s would start the retry at 13 s.
    late = _decide(policy, 3, elapsed_s=5.0)
    assert not late.retry
    assert 'stop_after_delay(10)' in late.reason


def test_a_clock_that_steps_back_does_not_grant_extra_time():
    policy = RetryPolicy(stop=stop_after_delay(5.0), wait=wait_fixed(1.0))
    decision = policy.decide(attempt=1, first_attempt_s=100.0, now_s=50.0,
                             code=ErrorCode.TIMEOUT, retryable=True)
    assert decision.retry and decision.delay_s == 1.0


def test_decide_spreads_the_delay_by_jitter():
    policy = _policy(max_attempts=20, initial_backoff_s=4.0, max_backoff_s=100.0,
                     multiplier=2.0, jitter=0.5)
    delays = [_decide(policy, 1).delay_s for _ in range(200)]
    assert all(2.0 <= d <= 6.0 for d in delays)
    assert len(set(delays)) > 100


def test_decide_rejects_attempt_zero():
    with pytest.raises(ValueError, match='attempt=0'):
        _decide(_policy(), 0)


def test_policy_is_frozen_and_validates_its_parts():
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.stop = stop_never()
    with pytest.raises(ValueError, match='is not a stop condition'):
        RetryPolicy(stop=3)
    with pytest.raises(ValueError, match='is not a wait strategy'):
        RetryPolicy(wait=1.0)


# --- RetryPolicy.from_fields -----------------------------------------------------------------


def test_from_fields_zero_means_default():
    defaults = RetryDefaults(max_attempts=2, initial_backoff_s=3.0, max_backoff_s=7.0,
                             multiplier=1.5, jitter=0.0, max_elapsed_s=0.0)
    policy = RetryPolicy.from_fields(defaults=defaults)
    assert policy.stop.max_attempts == 2
    assert (policy.wait.initial_s, policy.wait.multiplier, policy.wait.maximum_s,
            policy.wait.jitter) == (3.0, 1.5, 7.0, 0.0)
    assert _decide(policy, 1).delay_s == 3.0
    assert not _decide(policy, 2, elapsed_s=1e6).retry


def test_from_fields_given_values_override_defaults():
    policy = RetryPolicy.from_fields(5, 0.5, 4.0, 2.0, 0.1, 30.0)
    assert repr(policy.stop) == 'stop_after_attempt(5) | stop_after_delay(30)'
    assert (policy.wait.initial_s, policy.wait.maximum_s, policy.wait.jitter) == (0.5, 4.0, 0.1)


def test_from_fields_one_attempt_never_retries():
    assert not _decide(_policy(max_attempts=1), 1).retry


@pytest.mark.parametrize('fields, fragment', [
    ({'max_attempts': 21}, 'max_attempts=21 is outside 1..20'),
    ({'max_attempts': -1}, 'max_attempts=-1 must not be negative'),
    ({'initial_backoff_s': 0.001}, r'initial_backoff_s=0.001 s is outside 0.01..600 s'),
    ({'initial_backoff_s': 700.0, 'max_backoff_s': 800.0}, 'initial_backoff_s=700 s'),
    ({'max_backoff_s': 4000.0}, r'max_backoff_s=4000 s is outside 0.01..3600 s'),
    ({'multiplier': 11.0}, 'multiplier=11 is outside 1..10'),
    ({'multiplier': 0.5}, 'multiplier=0.5 is outside 1..10'),
    ({'jitter': 1.01}, 'jitter=1.01 is outside 0..1'),
    ({'max_elapsed_s': -5.0}, 'max_elapsed_s=-5 must not be negative'),
    ({'max_elapsed_s': math.nan}, 'max_elapsed_s=nan must be a number'),
    ({'initial_backoff_s': 90.0}, 'max_backoff_s=60 s is below initial_backoff_s=90 s'),
])
def test_from_fields_rejects_out_of_range_values_naming_the_field(fields, fragment):
    with pytest.raises(ValueError, match=fragment):
        RetryPolicy.from_fields(**fields)


def test_defaults_are_validated_in_init():
    with pytest.raises(ValueError, match='defaults.jitter=2 is outside 0..1'):
        RetryDefaults(jitter=2.0)
    with pytest.raises(ValueError, match='is not a RetryDefaults'):
        RetryPolicy.from_fields(defaults={'jitter': 0.1})


# --- Adaptive timeouts -----------------------------------------------------------------------


def test_adaptive_timeout_uses_the_estimate_without_history():
    assert adaptive_timeout_s(20.0) == pytest.approx(40.0)
    assert adaptive_timeout_s(math.nan) == pytest.approx(10.0)


def test_adaptive_timeout_follows_slow_observed_runs():
    observed = [50.0] * 19 + [60.0]
    # Nearest-rank p95 of 20 samples is the 19th: 50 s, stretched by half.
    assert adaptive_timeout_s(20.0, observed) == pytest.approx(75.0)
    assert adaptive_timeout_s(20.0, observed + [90.0] * 5) == pytest.approx(135.0)


def test_adaptive_timeout_never_drops_below_the_estimate_margin():
    assert adaptive_timeout_s(20.0, [1.0, 1.0, 1.0]) == pytest.approx(40.0)


def test_adaptive_timeout_ignores_bad_samples_and_is_capped():
    assert adaptive_timeout_s(20.0, [math.nan, -1.0, math.inf]) == pytest.approx(40.0)
    assert adaptive_timeout_s(20.0, [1e9]) == 86400.0


def test_duration_stats_are_ring_buffers_per_robot_and_operation():
    stats = DurationStats(maxlen=3, max_keys=10)
    for duration in (10.0, 20.0, 30.0, 40.0):
        stats.record('d1', 'go_to', duration)
    stats.record('d2', 'go_to', 99.0)
    stats.record('d1', 'go_to', math.nan)
    assert stats.history('d1', 'go_to') == (20.0, 30.0, 40.0)
    assert stats.history('d2', 'go_to') == (99.0,)
    assert stats.history('d1', 'land') == ()
    assert stats.timeout_s('d1', 'go_to', 1.0) == pytest.approx(60.0)
    assert stats.timeout_s('d1', 'land', 1.0) == pytest.approx(11.5)


def test_duration_stats_drop_the_least_recently_updated_key():
    stats = DurationStats(maxlen=2, max_keys=2)
    stats.record('a', 'go_to', 1.0)
    stats.record('b', 'go_to', 1.0)
    stats.record('a', 'go_to', 2.0)
    stats.record('c', 'go_to', 1.0)
    assert len(stats) == 2
    assert stats.history('b', 'go_to') == ()
    assert stats.history('a', 'go_to') == (1.0, 2.0)


def test_duration_stats_validate_bounds():
    with pytest.raises(ValueError, match='maxlen=0'):
        DurationStats(maxlen=0)
    with pytest.raises(ValueError, match='max_keys=0'):
        DurationStats(max_keys=0)
