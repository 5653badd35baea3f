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

"""Tests of the tracing facade: no-op without OpenTelemetry, spans and parents with it."""

import io
import json
import subprocess
import sys

from brain_execution.core.tracing import SpanHandle, Tracer, TracingUnavailableError
import pytest

_PROBE = """
import sys
from brain_execution.core.tracing import Tracer
tracer = Tracer.from_config('none')
with tracer.span('step', {'plan_id': 'p'}) as handle:
    handle.set_attributes({'robot_id': 'uav1'})
plan = tracer.start_span('plan', {'plan_id': 'p'})
tracer.start_span('step', {'step_id': 's'}, parent=plan).end('TIMEOUT', 'slow')
plan.end('NONE')
tracer.shutdown()
assert tracer.finished_spans() == [] and not tracer.enabled
print(sorted(name for name in sys.modules if name.split('.')[0] == 'opentelemetry'))
"""


def test_none_exporter_does_not_import_opentelemetry():
    completed = subprocess.run(
        [sys.executable, '-c', _PROBE], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == '[]'


def test_missing_opentelemetry_is_named():
    # None in sys.modules makes the import fail as if the package were not installed.
    probe = (
        'import sys\n'
        "sys.modules['opentelemetry'] = None\n"
        'from brain_execution.core.tracing import Tracer, TracingUnavailableError\n'
        'try:\n'
        "    Tracer.from_config('console')\n"
        'except TracingUnavailableError as e:\n'
        '    assert isinstance(e, ImportError)\n'
        '    print(e)\n')
    completed = subprocess.run(
        [sys.executable, '-c', probe], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert 'opentelemetry-sdk' in completed.stdout
    assert "'console'" in completed.stdout
    assert issubclass(TracingUnavailableError, ImportError)


def test_unknown_exporter_is_refused():
    with pytest.raises(ValueError, match='none, console, memory'):
        Tracer.from_config('jaeger')
    assert Tracer.from_config(' Memory ').exporter == 'memory'


@pytest.fixture
def tracer():
    tracer = Tracer.from_config('memory')
    yield tracer
    tracer.shutdown()


def test_plan_span_is_parent_of_step_spans(tracer):
    from opentelemetry.trace import StatusCode

    plan = tracer.start_span('plan', {'plan_id': 'p1'})
    steps = [
        tracer.start_span('takeoff', {
            'plan_id': 'p1', 'step_id': 's%d' % index, 'operation_id': 'op%d' % index,
            'robot_id': 'uav%d' % index, 'operation': 'takeoff'}, parent=plan)
        for index in (1, 2)]
    assert isinstance(steps[0], SpanHandle)
    steps[0].end('NONE')
    steps[1].end('TIMEOUT', 'no climb after 30 s')
    steps[1].end('NONE')  # ignored: a span ends once
    assert tracer.finished_spans() and not plan.ended
    plan.end('DEPENDENCY_FAILED', 'step s2 failed')
    assert plan.ended

    spans = {span.name + span.attributes.get('step_id', ''): span
             for span in tracer.finished_spans()}
    assert sorted(spans) == ['plan', 'takeoffs1', 'takeoffs2']
    root, first, second = spans['plan'], spans['takeoffs1'], spans['takeoffs2']
    assert root.parent is None
    for step in (first, second):
        assert step.parent.span_id == root.context.span_id
        assert step.context.trace_id == root.context.trace_id
    assert dict(first.attributes) == {
        'plan_id': 'p1', 'step_id': 's1', 'operation_id': 'op1', 'robot_id': 'uav1',
        'operation': 'takeoff', 'outcome': 'SUCCEEDED'}
    assert first.status.status_code == StatusCode.OK
    assert second.status.status_code == StatusCode.ERROR
    assert second.status.description == 'TIMEOUT: no climb after 30 s'
    assert second.attributes['outcome'] == 'TIMEOUT'
    assert root.status.status_code == StatusCode.ERROR
    assert root.attributes['outcome'] == 'DEPENDENCY_FAILED'


def test_span_context_manager_nests_and_records_errors(tracer):
    from opentelemetry.trace import StatusCode

    with tracer.span('outer', {'plan_id': 'p', 'ignored': None, 'odd': object()}) as outer:
        with tracer.span('inner', {'robot_id': 'uav1'}) as inner:
            inner.set_attributes({'attempt': 2})
        outer.end('UNSET')
    with pytest.raises(KeyError):
        with tracer.span('failing'):
            raise KeyError('boom')

    spans = {span.name: span for span in tracer.finished_spans()}
    assert spans['inner'].parent.span_id == spans['outer'].context.span_id
    assert spans['inner'].attributes['attempt'] == 2
    assert spans['inner'].status.status_code == StatusCode.OK
    assert 'ignored' not in spans['outer'].attributes
    assert spans['outer'].attributes['odd'].startswith('<object')
    assert spans['outer'].status.status_code == StatusCode.UNSET
    failing = spans['failing']
    assert failing.status.status_code == StatusCode.ERROR
    assert failing.status.description.startswith('INTERNAL_ERROR: KeyError')
    assert [event.name for event in failing.events] == ['exception']


def test_console_exporter_writes_to_the_stream():
    stream = io.StringIO()
    tracer = Tracer.from_config('console', stream=stream, service_name='test_exec')
    try:
        assert tracer.enabled and tracer.exporter == 'console'
        tracer.start_span('goto', {'robot_id': 'ugv1'}).end('NONE')
    finally:
        tracer.shutdown()
    span = json.loads(stream.getvalue())
    assert span['name'] == 'goto'
    assert span['attributes']['robot_id'] == 'ugv1'
    assert span['resource']['attributes']['service.name'] == 'test_exec'
    assert tracer.finished_spans() == []
