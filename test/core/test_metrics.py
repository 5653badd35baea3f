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

"""Tests of the coordinator's Prometheus metrics: series, labels, buckets, the cap, serving."""

import socket
import urllib.request

from brain_execution.core.metrics import (
    CoordinatorMetrics, DURATION_BUCKETS_S, MAX_LABEL_LENGTH, OVERFLOW_LABEL, sanitize_label)
import prometheus_client
import pytest


def _value(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


def test_operations_are_counted_by_outcome_and_timed():
    metrics = CoordinatorMetrics()
    metrics.record_operation('uav1', 'takeoff', 'NONE', 3.2)
    metrics.record_operation('uav1', 'takeoff', 'TIMEOUT', 30.0)
    metrics.record_operation('uav1', 'takeoff', 'TIMEOUT', 31.0)
    metrics.record_operation('ugv1', 'goto', 'COMMUNICATION_FAILURE', 0.05)

    name = 'brain_execution_operations_total'
    assert _value(metrics, name, robot='uav1', operation='takeoff', outcome='SUCCEEDED') == 1
    assert _value(metrics, name, robot='uav1', operation='takeoff', outcome='TIMEOUT') == 2
    assert _value(metrics, name, robot='ugv1', operation='goto',
                  outcome='COMMUNICATION_FAILURE') == 1
    duration = 'brain_execution_operation_duration_seconds'
    assert _value(metrics, duration + '_count', robot='uav1', operation='takeoff') == 3
    assert _value(metrics, duration + '_sum', robot='uav1', operation='takeoff') == (
        pytest.approx(64.2))

    text = metrics.render().decode()
    assert ('brain_execution_operations_total{operation="takeoff",outcome="TIMEOUT",'
            'robot="uav1"} 2.0') in text
    assert '# TYPE brain_execution_operation_duration_seconds histogram' in text


def test_duration_buckets_span_robot_operations():
    assert DURATION_BUCKETS_S[0] == 0.1 and DURATION_BUCKETS_S[-1] == 3600.0
    assert list(DURATION_BUCKETS_S) == sorted(DURATION_BUCKETS_S)
    metrics = CoordinatorMetrics()
    metrics.record_operation('usv1', 'survey', 'NONE', 45.0)
    bucket = 'brain_execution_operation_duration_seconds_bucket'
    labels = {'robot': 'usv1', 'operation': 'survey'}
    assert _value(metrics, bucket, le='30.0', **labels) == 0
    assert _value(metrics, bucket, le='60.0', **labels) == 1
    assert _value(metrics, bucket, le='3600.0', **labels) == 1
    assert _value(metrics, bucket, le='+Inf', **labels) == 1
    # A clock jump backwards is clamped rather than subtracted from the sum.
    metrics.record_operation('usv1', 'survey', 'NONE', -5.0)
    metrics.record_operation('usv1', 'survey', 'NONE', float('nan'))
    assert _value(metrics, bucket, le='0.1', **labels) == 2
    assert _value(metrics, 'brain_execution_operation_duration_seconds_sum', **labels) == 45.0


def test_gauges_retries_and_breakers():
    metrics = CoordinatorMetrics()
    metrics.set_queue(pending=7, running=2, plans_active=1)
    metrics.set_dead_letters(3)
    metrics.set_journal_latency(0.012)
    metrics.record_retry('uav1', 'goto')
    metrics.record_retry('uav1', 'goto')
    metrics.set_breaker('uav1', '', 1)
    metrics.set_breaker('uav1', 'goto', 2)
    metrics.set_breaker('uav1', 'goto', 0)

    assert _value(metrics, 'brain_execution_queue_depth') == 7
    assert _value(metrics, 'brain_execution_running_operations') == 2
    assert _value(metrics, 'brain_execution_plans_active') == 1
    assert _value(metrics, 'brain_execution_dead_letters') == 3
    assert _value(metrics, 'brain_execution_journal_commit_latency_seconds') == 0.012
    assert _value(metrics, 'brain_execution_retries_total', robot='uav1', operation='goto') == 2
    assert _value(metrics, 'brain_execution_breaker_state', robot='uav1', operation='') == 1
    assert _value(metrics, 'brain_execution_breaker_state', robot='uav1', operation='goto') == 0
    text = metrics.render().decode()
    assert 'brain_execution_breaker_state{operation="",robot="uav1"} 1.0' in text

    for bad in (3, -1, 0.5, True):
        with pytest.raises(ValueError):
            metrics.set_breaker('uav1', '', bad)
    with pytest.raises(ValueError):
        metrics.set_queue(pending=-1, running=0, plans_active=0)
    with pytest.raises(ValueError):
        metrics.set_journal_latency(float('nan'))


def test_registries_are_private():
    first, second = CoordinatorMetrics(), CoordinatorMetrics()
    first.set_dead_letters(4)
    assert second.registry is not first.registry
    assert _value(second, 'brain_execution_dead_letters') == 0
    assert prometheus_client.REGISTRY.get_sample_value('brain_execution_dead_letters') is None
    shared = prometheus_client.CollectorRegistry()
    metrics = CoordinatorMetrics(shared)
    assert metrics.registry is shared


def test_label_values_are_sanitized():
    assert sanitize_label('uav 1"}\n') == 'uav_1___'
    assert sanitize_label(None) == ''
    assert sanitize_label('ns/uav-1.a:b_c') == 'ns/uav-1.a:b_c'
    assert len(sanitize_label('x' * 500)) == MAX_LABEL_LENGTH
    metrics = CoordinatorMetrics()
    metrics.record_operation('uav "1"', 'take off', 'TIME OUT', 1.0)
    assert _value(metrics, 'brain_execution_operations_total', robot='uav__1_',
                  operation='take_off', outcome='TIME_OUT') == 1


def test_label_sets_are_capped():
    metrics = CoordinatorMetrics(max_label_sets=3)
    for index in range(10):
        metrics.record_operation('uav%d' % index, 'goto', 'NONE', 1.0)
    metrics.record_operation('uav99', 'made_up_operation', 'UNKNOWN_OPERATION', 0.0)
    name = 'brain_execution_operations_total'
    for index in range(3):
        assert _value(metrics, name, robot='uav%d' % index, operation='goto',
                      outcome='SUCCEEDED') == 1
    assert _value(metrics, name, robot='uav3', operation='goto', outcome='SUCCEEDED') is None
    # Totals stay right: the overflow is counted under robot='other'.
    assert _value(metrics, name, robot=OVERFLOW_LABEL, operation='goto',
                  outcome='SUCCEEDED') == 7
    # An operation name never admitted cannot add series either.
    assert _value(metrics, name, robot=OVERFLOW_LABEL, operation=OVERFLOW_LABEL,
                  outcome='UNKNOWN_OPERATION') == 1
    # A pair admitted before the cap keeps its labels.
    metrics.record_retry('uav1', 'goto')
    assert _value(metrics, 'brain_execution_retries_total', robot='uav1', operation='goto') == 1
    with pytest.raises(ValueError):
        CoordinatorMetrics(max_label_sets=0)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize('port', ['ephemeral', 'picked'])
def test_serves_metrics_over_http(port):
    metrics = CoordinatorMetrics()
    metrics.record_operation('uav1', 'land', 'NONE', 12.0)
    server, thread = metrics.serve(0 if port == 'ephemeral' else _free_port())
    try:
        assert thread.is_alive() and thread.daemon
        assert metrics.port == server.server_port > 0
        with pytest.raises(RuntimeError):
            metrics.serve(0)
        url = 'http://127.0.0.1:%d/metrics' % metrics.port
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            body = response.read().decode()
        assert ('brain_execution_operations_total{operation="land",outcome="SUCCEEDED",'
                'robot="uav1"} 1.0') in body
    finally:
        metrics.close()
    assert not thread.is_alive()
    assert metrics.port is None
    metrics.close()  # idempotent
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)
