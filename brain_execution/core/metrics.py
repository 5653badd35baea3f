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
Prometheus metrics of the coordinator: operations, queue, breakers, dead letters, journal.

:class:`CoordinatorMetrics` owns a :class:`prometheus_client.CollectorRegistry` of its own
rather than the process-wide default one, so that tests and several coordinators in one
process never collide over metric names. Every series is named ``brain_execution_*``:

* ``operations_total{robot, operation, outcome}`` (counter): finished operations; ``outcome``
  is the result code's name (``SUCCEEDED``, ``TIMEOUT``, ``COMMUNICATION_FAILURE``, ...).
* ``operation_duration_seconds{robot, operation}`` (histogram): how long they took, with
  buckets from 0.1 s (a mode switch) to one hour (a survey leg).
* ``retries_total{robot, operation}`` (counter): retries scheduled by the retry policy.
* ``breaker_state{robot, operation}`` (gauge): 0 closed, 1 open, 2 half-open; ``operation``
  is '' for the breaker of the whole robot.
* ``queue_depth``, ``running_operations``, ``plans_active``, ``dead_letters`` (gauges).
* ``journal_commit_latency_seconds`` (gauge): the latest commit's latency.

Label values are sanitized (printable, at most :data:`MAX_LABEL_LENGTH` characters) and the
number of distinct ``(robot, operation)`` label sets is capped (:data:`DEFAULT_MAX_LABEL_SETS`):
robot ids and operation names reach us from goals, so a misbehaving client (or a fleet
simulation with thousands of robots) could otherwise grow the registry, every scrape and the
Prometheus server's memory without bound. Past the cap a new pair is recorded under
``robot='other'`` (and ``operation='other'`` unless the operation is already known), so the
totals stay right while the series count stays bounded.

prometheus_client is imported here at module level: it is a small pure-Python library, not
ROS, and the core may depend on it.
"""

import math
import re
import threading

import prometheus_client

__all__ = [
    'BREAKER_STATES',
    'CoordinatorMetrics',
    'DEFAULT_MAX_LABEL_SETS',
    'DURATION_BUCKETS_S',
    'MAX_LABEL_LENGTH',
    'OVERFLOW_LABEL',
    'sanitize_label',
]

# Robot operations range from a mode switch (~0.1 s) to long transits and surveys (an hour).
DURATION_BUCKETS_S = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
DEFAULT_MAX_LABEL_SETS = 1000
MAX_LABEL_LENGTH = 64
OVERFLOW_LABEL = 'other'
# 0 closed, 1 open, 2 half-open: the values of BreakerState and CircuitState.msg.
BREAKER_STATES = (0, 1, 2)

_PREFIX = 'brain_execution_'
# Anything outside this set (spaces, quotes, control characters, non-ASCII) becomes '_': label
# values end up in dashboards, PromQL regexes and file names, where they must stay plain.
_UNSAFE = re.compile(r'[^A-Za-z0-9_.:/-]')
# code_name(0) is 'NONE' (no error); operators read "SUCCEEDED" more easily.
_OUTCOME_ALIASES = {'NONE': 'SUCCEEDED'}


def sanitize_label(value) -> str:
    """
    Return ``value`` as a safe, bounded Prometheus label value.

    :param value: Any value; ``None`` becomes ''.
    :return: The text with unsafe characters replaced by '_', cut to
        :data:`MAX_LABEL_LENGTH` characters.
    """
    text = '' if value is None else str(value)
    return _UNSAFE.sub('_', text)[:MAX_LABEL_LENGTH]


def _non_negative(value, what):
    value = float(value)
    if math.isnan(value) or value < 0.0:
        raise ValueError('%s must be a number >= 0, got %r' % (what, value))
    return value


class CoordinatorMetrics:
    """
    The coordinator's Prometheus metrics, in a registry of their own.

    Thread-safe: prometheus_client's metrics lock themselves and the label cap has its own
    lock, so executor threads may record concurrently.
    """

    def __init__(self, registry=None, *, max_label_sets: int = DEFAULT_MAX_LABEL_SETS):
        """
        Create the metrics.

        :param registry: A :class:`prometheus_client.CollectorRegistry` to register into; a new
            one by default (never the global ``prometheus_client.REGISTRY``).
        :param max_label_sets: Distinct ``(robot, operation)`` pairs recorded under their own
            labels; later pairs are recorded under ``robot='other'``.
        :raises ValueError: If ``max_label_sets`` is not a positive integer.
        """
        if isinstance(max_label_sets, bool) or not isinstance(max_label_sets, int) or (
                max_label_sets < 1):
            raise ValueError('max_label_sets must be an integer >= 1, got %r' % (
                max_label_sets,))
        self._registry = (
            registry if registry is not None else prometheus_client.CollectorRegistry())
        self._max_label_sets = max_label_sets
        self._lock = threading.Lock()
        self._label_sets = set()
        self._operations = set()
        self._server = None
        self._thread = None

        def counter(name, doc, labels):
            return prometheus_client.Counter(
                _PREFIX + name, doc, labels, registry=self._registry)

        def gauge(name, doc, labels=()):
            return prometheus_client.Gauge(_PREFIX + name, doc, labels, registry=self._registry)

        # prometheus_client appends '_total' to counters itself.
        self._operations_total = counter(
            'operations', 'Finished operations by robot, operation and outcome code.',
            ('robot', 'operation', 'outcome'))
        self._duration = prometheus_client.Histogram(
            _PREFIX + 'operation_duration_seconds', 'Duration of finished operations, seconds.',
            ('robot', 'operation'), buckets=DURATION_BUCKETS_S, registry=self._registry)
        self._retries = counter(
            'retries', 'Retries scheduled by the retry policy.', ('robot', 'operation'))
        self._queue_depth = gauge('queue_depth', 'Operations waiting to start.')
        self._running = gauge('running_operations', 'Operations running on robots.')
        self._plans_active = gauge('plans_active', 'Plans not yet finished.')
        self._breaker_state = gauge(
            'breaker_state', 'Circuit breaker state: 0 closed, 1 open, 2 half-open; '
            "operation '' is the breaker of the whole robot.", ('robot', 'operation'))
        self._dead_letters = gauge('dead_letters', 'Dead letters held.')
        self._journal_latency = gauge(
            'journal_commit_latency_seconds', 'Latency of the latest journal commit, seconds.')

    @property
    def registry(self):
        """Return the :class:`prometheus_client.CollectorRegistry` holding the metrics."""
        return self._registry

    @property
    def port(self):
        """Return the TCP port :meth:`serve` listens on, or None when not serving."""
        return self._server.server_port if self._server is not None else None

    def _labels(self, robot_id, operation):
        robot = sanitize_label(robot_id)
        operation = sanitize_label(operation)
        with self._lock:
            key = (robot, operation)
            if key in self._label_sets:
                return key
            if len(self._label_sets) < self._max_label_sets:
                self._label_sets.add(key)
                self._operations.add(operation)
                return key
            # Over the cap; keep the operation only when it cannot add series of its own.
            return OVERFLOW_LABEL, operation if operation in self._operations else OVERFLOW_LABEL

    def record_operation(self, robot_id: str, operation: str, code_name: str,
                         duration_s: float):
        """
        Count a finished operation and observe its duration.

        :param robot_id: The robot that ran it.
        :param operation: The operation type, e.g. ``'takeoff'``.
        :param code_name: The result code's name (``errors.code_name(code)``); ``'NONE'``
            (no error) is recorded as ``'SUCCEEDED'``.
        :param duration_s: How long it took, seconds; clamped to 0 when negative or not finite
            (a clock jump, e.g. sim time restarting, must not corrupt the histogram's sum).
        """
        robot, operation = self._labels(robot_id, operation)
        outcome = sanitize_label(code_name) or 'UNKNOWN'
        outcome = _OUTCOME_ALIASES.get(outcome, outcome)
        duration_s = float(duration_s)
        if not math.isfinite(duration_s) or duration_s < 0.0:
            duration_s = 0.0
        self._operations_total.labels(robot, operation, outcome).inc()
        self._duration.labels(robot, operation).observe(duration_s)

    def record_retry(self, robot_id: str, operation: str):
        """
        Count one retry of an operation.

        :param robot_id: The robot.
        :param operation: The operation type.
        """
        self._retries.labels(*self._labels(robot_id, operation)).inc()

    def set_queue(self, pending: int, running: int, plans_active: int):
        """
        Set the scheduler's gauges.

        :param pending: Operations waiting to start.
        :param running: Operations running.
        :param plans_active: Plans not yet finished.
        :raises ValueError: If a value is negative.
        """
        self._queue_depth.set(_non_negative(pending, 'pending'))
        self._running.set(_non_negative(running, 'running'))
        self._plans_active.set(_non_negative(plans_active, 'plans_active'))

    def set_breaker(self, robot_id: str, operation: str, state: int):
        """
        Set a circuit breaker's state.

        :param robot_id: The robot.
        :param operation: The operation guarded, '' for the robot's own breaker.
        :param state: 0 closed, 1 open, 2 half-open (a ``BreakerState`` works too).
        :raises ValueError: If ``state`` is none of these.
        """
        if isinstance(state, bool) or int(state) != state or int(state) not in BREAKER_STATES:
            raise ValueError('breaker state must be 0, 1 or 2, got %r' % (state,))
        self._breaker_state.labels(*self._labels(robot_id, operation)).set(int(state))

    def set_dead_letters(self, n: int):
        """
        Set the number of dead letters held.

        :param n: Dead letters.
        :raises ValueError: If negative.
        """
        self._dead_letters.set(_non_negative(n, 'dead letters'))

    def set_journal_latency(self, s: float):
        """
        Set the latest journal commit latency.

        :param s: Seconds.
        :raises ValueError: If negative or NaN.
        """
        self._journal_latency.set(_non_negative(s, 'journal commit latency'))

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text exposition format."""
        return prometheus_client.generate_latest(self._registry)

    def serve(self, port: int, address: str = '127.0.0.1'):
        """
        Serve the metrics over HTTP (``GET /metrics``) from a daemon thread.

        The default address is the loopback one: exposing the endpoint beyond the robot is a
        deliberate choice (``address='0.0.0.0'``).

        :param port: TCP port; 0 picks a free one (see :attr:`port`).
        :param address: Address to bind.
        :return: ``(server, thread)`` as returned by :func:`prometheus_client.start_http_server`.
        :raises RuntimeError: If already serving.
        :raises OSError: If the address cannot be bound.
        """
        with self._lock:
            if self._server is not None:
                raise RuntimeError('metrics already served on port %d' % self.port)
            self._server, self._thread = prometheus_client.start_http_server(
                port, addr=address, registry=self._registry)
            return self._server, self._thread

    def close(self, timeout_s: float = 5.0):
        """
        Stop serving, if serving; idempotent.

        :param timeout_s: How long to wait for the server thread to end, seconds.
        """
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout_s)
