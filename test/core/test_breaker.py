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
Circuit breakers and their registry, driven by a fake clock.

No sleeps: the test moves the clock by hand. The concurrency tests use real threads, but only
to hammer the short critical sections; they never wait on time.
"""

import threading

from brain_execution.core.breaker import (
    BreakerRegistry, BreakerState, CircuitBreaker, CircuitInfo, CircuitListener,
    CircuitOpenError, CircuitRecord, DEFAULT_EXCLUDED_CODES, MemoryStorage)
from brain_execution.core.errors import ErrorCode, ExecutionError
import pytest

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder(CircuitListener):
    """Remembers every transition it hears."""

    def __init__(self):
        self.transitions = []
        self._lock = threading.Lock()

    def on_state_change(self, breaker, old, new):
        with self._lock:
            self.transitions.append((breaker.name, old, new))


def _breaker(clock, **kwargs):
    kwargs.setdefault('failure_threshold', 3)
    kwargs.setdefault('reset_timeout_s', 30.0)
    return CircuitBreaker('d1/go_to', clock=clock, **kwargs)


def _fail(breaker, times=1, code=ErrorCode.TIMEOUT, message='no arrival in 60 s'):
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure(code, message)


def _open(clock, **kwargs):
    breaker = _breaker(clock, **kwargs)
    _fail(breaker, breaker.failure_threshold)
    assert breaker.state == OPEN
    return breaker


# --- One breaker -----------------------------------------------------------------------------


def test_opens_after_threshold_consecutive_failures():
    breaker = _breaker(FakeClock())
    _fail(breaker, 2)
    assert breaker.state == CLOSED
    assert breaker.state_info().consecutive_failures == 2
    _fail(breaker)
    assert breaker.state == OPEN


def test_a_success_resets_the_consecutive_count():
    breaker = _breaker(FakeClock())
    _fail(breaker, 2)
    breaker.before_call()
    breaker.record_success()
    _fail(breaker, 2)
    info = breaker.state_info()
    assert (info.state, info.consecutive_failures) == (CLOSED, 2)


def test_open_fails_fast_with_circuit_open_naming_breaker_failures_and_probe_time():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 10.0
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()
    error = caught.value
    assert isinstance(error, ExecutionError)
    assert error.code == ErrorCode.CIRCUIT_OPEN
    assert error.retryable
    assert error.breaker_name == 'd1/go_to'
    assert error.retry_at_s == pytest.approx(1030.0)
    message = str(error)
    assert "'d1/go_to'" in message
    assert '3 consecutive failure(s)' in message
    assert 'TIMEOUT: no arrival in 60 s' in message
    assert 'next probe in 20.0 s' in message


def test_state_info_maps_onto_circuit_state_msg():
    clock = FakeClock()
    breaker = _open(clock, robot_id='d1', operation='go_to')
    info = breaker.state_info()
    assert info == CircuitInfo(
        name='d1/go_to', robot_id='d1', operation='go_to', state=OPEN, consecutive_failures=3,
        failure_threshold=3, retry_at_s=1030.0, last_error_code=ErrorCode.TIMEOUT,
        last_error_msg='no arrival in 60 s')
    assert [int(s) for s in (CLOSED, OPEN, HALF_OPEN)] == [0, 1, 2]
    with pytest.raises(AttributeError):
        info.state = CLOSED


def test_half_open_after_timeout_admits_exactly_one_probe():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 29.9
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    clock.t += 0.1
    breaker.before_call()                      # the probe
    assert breaker.state == HALF_OPEN
    assert breaker.state_info().retry_at_s == 0.0
    with pytest.raises(CircuitOpenError, match='half-open .* probe is in flight') as caught:
        breaker.before_call()
    assert caught.value.code == ErrorCode.CIRCUIT_OPEN
    assert caught.value.retryable


def test_half_open_max_calls_admits_that_many_probes():
    clock = FakeClock()
    breaker = _open(clock, half_open_max_calls=2)
    clock.t += 30.0
    breaker.before_call()
    breaker.before_call()
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_probe_success_closes():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 30.0
    breaker.before_call()
    breaker.record_success()
    info = breaker.state_info()
    assert (info.state, info.consecutive_failures, info.last_error_code) == (CLOSED, 0, 0)
    breaker.before_call()
    breaker.before_call()


def test_probe_failure_reopens_with_a_fresh_timeout():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 45.0
    breaker.before_call()
    breaker.record_failure(ErrorCode.COMMUNICATION_FAILURE, 'link lost')
    info = breaker.state_info()
    assert info.state == OPEN
    assert info.retry_at_s == pytest.approx(1075.0)
    assert info.consecutive_failures == 4
    assert (info.last_error_code, info.last_error_msg) == (
        ErrorCode.COMMUNICATION_FAILURE, 'link lost')
    clock.t += 29.0
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    clock.t += 1.0
    breaker.before_call()


def test_excluded_codes_never_trip_the_breaker():
    breaker = _breaker(FakeClock(), failure_threshold=1)
    for code in (ErrorCode.INVALID_PARAMETERS, ErrorCode.GEOFENCE_VIOLATION, ErrorCode.CANCELED,
                 ErrorCode.PRECONDITION_FAILED, ErrorCode.EMERGENCY_STOP_ACTIVE):
        for _ in range(10):
            _fail(breaker, code=code, message='bad goal')
    info = breaker.state_info()
    assert (info.state, info.consecutive_failures, info.last_error_code) == (CLOSED, 0, 0)


def test_excluded_codes_do_not_reset_the_count_either():
    breaker = _breaker(FakeClock())
    _fail(breaker, 2)
    _fail(breaker, code=ErrorCode.INVALID_PARAMETERS)
    assert breaker.state_info().consecutive_failures == 2
    _fail(breaker)
    assert breaker.state == OPEN


def test_an_excluded_probe_result_frees_the_probe_slot_without_closing():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 30.0
    breaker.before_call()
    breaker.record_failure(ErrorCode.CANCELED, 'canceled by operator')
    assert breaker.state == HALF_OPEN
    breaker.before_call()                      # a new probe may go


def test_release_gives_back_a_probe_slot():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 30.0
    breaker.before_call()
    breaker.release()
    breaker.before_call()
    assert breaker.state == HALF_OPEN


def test_default_exclusions_cover_the_documented_codes():
    assert {ErrorCode.INVALID_PARAMETERS, ErrorCode.PRECONDITION_FAILED, ErrorCode.UNSUPPORTED,
            ErrorCode.GEOFENCE_VIOLATION, ErrorCode.ALTITUDE_LIMIT_VIOLATION,
            ErrorCode.SPEED_LIMIT_VIOLATION, ErrorCode.CANCELED, ErrorCode.PREEMPTED,
            ErrorCode.BUSY, ErrorCode.EMERGENCY_STOP_ACTIVE} <= DEFAULT_EXCLUDED_CODES
    assert not DEFAULT_EXCLUDED_CODES & {ErrorCode.TIMEOUT, ErrorCode.COMMUNICATION_FAILURE,
                                         ErrorCode.PLATFORM_REJECTED, ErrorCode.INTERNAL_ERROR,
                                         ErrorCode.POSTCONDITION_FAILED}


def test_custom_exclude_rule_replaces_the_default():
    breaker = _breaker(FakeClock(), failure_threshold=1,
                       exclude=lambda code: code == ErrorCode.TIMEOUT)
    _fail(breaker, 5, code=ErrorCode.TIMEOUT)
    assert breaker.state == CLOSED
    _fail(breaker, code=ErrorCode.INVALID_PARAMETERS)
    assert breaker.state == OPEN


def test_late_results_while_open_neither_close_nor_extend_it():
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(5):                         # long operations admitted while closed
        breaker.before_call()
    for _ in range(3):
        breaker.record_failure(ErrorCode.TIMEOUT, 'first')
    clock.t += 10.0
    breaker.record_success()
    breaker.record_failure(ErrorCode.PLATFORM_REJECTED, 'late')
    info = breaker.state_info()
    assert (info.state, info.retry_at_s, info.last_error_msg) == (OPEN, 1030.0, 'first')
    assert info.consecutive_failures == 4


def test_reset_closes_and_forgets():
    breaker = _open(FakeClock())
    breaker.reset()
    info = breaker.state_info()
    assert (info.state, info.consecutive_failures, info.last_error_msg) == (CLOSED, 0, '')
    breaker.before_call()


def test_record_failure_refuses_success_code():
    with pytest.raises(ValueError, match='code 0 is a success'):
        _breaker(FakeClock()).record_failure(ErrorCode.NONE)


@pytest.mark.parametrize('kwargs, fragment', [
    ({'failure_threshold': 0}, 'failure_threshold=0'),
    ({'reset_timeout_s': 0.0}, 'reset_timeout_s=0.0 must be a positive number'),
    ({'reset_timeout_s': float('inf')}, 'reset_timeout_s=inf'),
    ({'half_open_max_calls': 0}, 'half_open_max_calls=0'),
    ({'exclude': 'TIMEOUT'}, 'exclude='),
])
def test_settings_are_validated_in_init(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        _breaker(FakeClock(), **kwargs)


# --- Listeners and storage -------------------------------------------------------------------


def test_listener_sees_every_transition_in_order():
    clock = FakeClock()
    recorder = Recorder()
    breaker = _breaker(clock, listeners=[recorder])
    _fail(breaker, 3)
    clock.t += 30.0
    breaker.before_call()
    breaker.record_failure(ErrorCode.TIMEOUT)
    clock.t += 30.0
    breaker.before_call()
    breaker.record_success()
    assert [(old, new) for _, old, new in recorder.transitions] == [
        (CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED)]


def test_a_listener_may_query_and_a_failing_listener_does_not_break_bookkeeping():
    seen = []

    class Reading(CircuitListener):

        def on_state_change(self, breaker, old, new):
            seen.append(breaker.state_info().state)

    class Broken(CircuitListener):

        def on_state_change(self, breaker, old, new):
            raise RuntimeError('publisher gone')

    breaker = _breaker(FakeClock(), listeners=[Broken(), Reading()])
    _fail(breaker, 3)
    assert seen == [OPEN]
    assert breaker.state == OPEN


def test_listener_added_and_removed():
    recorder = Recorder()
    breaker = _breaker(FakeClock(), failure_threshold=1)
    breaker.add_listener(recorder)
    _fail(breaker)
    breaker.remove_listener(recorder)
    breaker.reset()
    assert [(old, new) for _, old, new in recorder.transitions] == [(CLOSED, OPEN)]


def test_storage_receives_records_and_restores_a_breaker():
    clock = FakeClock()
    storage = MemoryStorage()
    _open(clock, storage=storage)
    assert storage.load('d1/go_to').state == OPEN
    restored = _breaker(clock, storage=storage)
    with pytest.raises(CircuitOpenError):
        restored.before_call()
    assert restored.state_info().retry_at_s == 1030.0


def test_a_restored_half_open_breaker_admits_a_probe():
    storage = MemoryStorage()
    storage.save('d1/go_to', CircuitRecord(state=HALF_OPEN, consecutive_failures=3))
    breaker = _breaker(FakeClock(), storage=storage)
    breaker.before_call()
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


# --- Concurrency -----------------------------------------------------------------------------


def _run_threads(count, target):
    start = threading.Barrier(count)

    def run():
        start.wait()
        target()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60.0)
    assert not any(thread.is_alive() for thread in threads)


def test_many_threads_recording_failures_do_not_corrupt_counts():
    breaker = _breaker(FakeClock(), failure_threshold=10 ** 9)

    def hammer():
        for _ in range(500):
            breaker.before_call()
            breaker.record_failure(ErrorCode.TIMEOUT, 'x')

    _run_threads(16, hammer)
    info = breaker.state_info()
    assert (info.state, info.consecutive_failures) == (CLOSED, 16 * 500)


def test_concurrent_failures_open_the_breaker_exactly_once():
    recorder = Recorder()
    breaker = _breaker(FakeClock(), failure_threshold=50, listeners=[recorder])

    def hammer():
        for _ in range(100):
            breaker.record_failure(ErrorCode.TIMEOUT, 'x')

    _run_threads(8, hammer)
    assert [(old, new) for _, old, new in recorder.transitions] == [(CLOSED, OPEN)]
    assert breaker.state_info().consecutive_failures == 800


def test_concurrent_probes_admit_exactly_one():
    clock = FakeClock()
    breaker = _open(clock)
    clock.t += 30.0
    admitted = []
    refused = []

    def probe():
        try:
            breaker.before_call()
            admitted.append(1)
        except CircuitOpenError:
            refused.append(1)

    _run_threads(16, probe)
    assert (len(admitted), len(refused)) == (1, 15)


# --- Registry --------------------------------------------------------------------------------


def _registry(clock, **kwargs):
    kwargs.setdefault('failure_threshold', 3)
    kwargs.setdefault('reset_timeout_s', 30.0)
    return BreakerRegistry(clock=clock, **kwargs)


def _run_op(registry, robot, operation, code=ErrorCode.TIMEOUT, message='slow'):
    registry.check(robot, operation)
    registry.record(robot, operation, code, message)


def test_registry_operation_breaker_blocks_only_that_operation():
    registry = _registry(FakeClock())
    for _ in range(3):
        _run_op(registry, 'd1', 'takeoff')
        _run_op(registry, 'd1', 'capture_image', ErrorCode.NONE)
    with pytest.raises(CircuitOpenError, match="'d1/takeoff'"):
        registry.check('d1', 'takeoff')
    registry.check('d1', 'capture_image')
    registry.check('d2', 'takeoff')


def test_registry_robot_breaker_blocks_every_operation_of_that_robot():
    registry = _registry(FakeClock())
    for operation in ('takeoff', 'go_to', 'land'):
        _run_op(registry, 'd1', operation)
    for operation in ('takeoff', 'go_to', 'capture_image'):
        with pytest.raises(CircuitOpenError, match="circuit 'd1' is open"):
            registry.check('d1', operation)
    registry.check('d2', 'go_to')


def test_registry_never_gates_emergency_operations():
    registry = _registry(FakeClock())
    for operation in ('takeoff', 'go_to', 'land'):
        _run_op(registry, 'd1', operation)
    registry.check('d1', 'emergency_stop')
    registry.record('d1', 'emergency_stop', ErrorCode.TIMEOUT)
    assert all(info.operation != 'emergency_stop' for info in registry.states())


def test_registry_gives_back_the_robot_probe_when_the_operation_breaker_refuses():
    clock = FakeClock()
    registry = _registry(clock)
    for _ in range(3):
        _run_op(registry, 'd1', 'takeoff')     # opens d1 and d1/takeoff together
    clock.t += 30.0
    # Another caller holds the operation's only probe slot.
    registry.breaker('d1', 'takeoff').before_call()
    # d1 admits this check as its probe, then d1/takeoff refuses it.
    with pytest.raises(CircuitOpenError, match="'d1/takeoff' is half-open"):
        registry.check('d1', 'takeoff')
    # d1's probe slot was given back, so another operation can probe the robot.
    registry.check('d1', 'go_to')


def test_registry_reset_scopes():
    registry = _registry(FakeClock(), failure_threshold=1)
    for robot in ('d1', 'd2'):
        for operation in ('takeoff', 'land'):
            registry.breaker(robot, operation).record_failure(ErrorCode.TIMEOUT)
        registry.breaker(robot).record_failure(ErrorCode.TIMEOUT)

    def opened():
        return {(i.robot_id, i.operation) for i in registry.states() if i.state == OPEN}

    assert registry.reset('d1', 'takeoff') == 1
    assert ('d1', 'takeoff') not in opened()
    assert registry.reset('', 'land') == 2
    assert opened() == {('d1', ''), ('d2', ''), ('d2', 'takeoff')}
    assert registry.reset('d2') == 3
    assert opened() == {('d1', '')}
    assert registry.reset() == 6
    assert opened() == set()


def test_registry_states_are_sorted_and_named():
    registry = _registry(FakeClock())
    registry.check('d2', 'go_to')
    registry.check('d1', 'land')
    assert [(i.name, i.robot_id, i.operation) for i in registry.states()] == [
        ('d1', 'd1', ''), ('d1/land', 'd1', 'land'), ('d2', 'd2', ''),
        ('d2/go_to', 'd2', 'go_to')]


def test_registry_is_bounded_and_drops_closed_breakers_first():
    registry = _registry(FakeClock(), failure_threshold=1, max_breakers=3)
    registry.breaker('d1').record_failure(ErrorCode.TIMEOUT)         # open: kept
    registry.check('d2', '')
    registry.check('d3', '')
    registry.check('d4', '')                                         # drops d2
    assert len(registry) == 3
    assert [i.name for i in registry.states()] == ['d1', 'd3', 'd4']
    with pytest.raises(CircuitOpenError):
        registry.check('d1', '')


def test_registry_at_its_bound_with_every_breaker_open_guards_new_keys_by_robot_only():
    registry = _registry(FakeClock(), failure_threshold=1, max_breakers=2)
    registry.breaker('d1').record_failure(ErrorCode.TIMEOUT)
    registry.breaker('d2').record_failure(ErrorCode.TIMEOUT)
    assert registry.breaker('d3') is None
    registry.check('d3', 'go_to')                                    # unguarded, not refused
    with pytest.raises(CircuitOpenError):
        registry.check('d1', 'go_to')
    assert len(registry) == 2


def test_registry_shares_listeners_and_storage():
    recorder = Recorder()
    storage = MemoryStorage()
    registry = _registry(FakeClock(), failure_threshold=1, listeners=[recorder],
                         storage=storage)
    _run_op(registry, 'd1', 'go_to')
    assert sorted(name for name, _, _ in recorder.transitions) == ['d1', 'd1/go_to']
    assert storage.load('d1/go_to').state == OPEN


def test_registry_validates_settings_and_robot_ids():
    with pytest.raises(ValueError, match='failure_threshold=0'):
        BreakerRegistry(clock=FakeClock(), failure_threshold=0)
    with pytest.raises(ValueError, match='max_breakers=0'):
        BreakerRegistry(clock=FakeClock(), max_breakers=0)
    with pytest.raises(ValueError, match='robot_id must not be empty'):
        _registry(FakeClock()).check('', 'go_to')


def test_registry_concurrent_records_keep_exact_counts():
    registry = _registry(FakeClock(), failure_threshold=10 ** 9)

    def hammer():
        for _ in range(200):
            _run_op(registry, 'd1', 'go_to')
            _run_op(registry, 'd1', 'land')

    _run_threads(8, hammer)
    counts = {i.name: i.consecutive_failures for i in registry.states()}
    assert counts == {'d1': 3200, 'd1/go_to': 1600, 'd1/land': 1600}
