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
Tracing facade: spans for plans, steps and operations, exported by OpenTelemetry or not at all.

:meth:`Tracer.from_config` picks the exporter:

* ``'none'`` (the default): every call is a no-op and OpenTelemetry is not even imported, so
  robots without it pay nothing.
* ``'console'``: an OpenTelemetry SDK ``TracerProvider`` with a ``ConsoleSpanExporter`` behind a
  ``SimpleSpanProcessor``, writing each finished span as JSON to a stream (stdout by default).
* ``'memory'``: an ``InMemorySpanExporter``, for tests (:meth:`Tracer.finished_spans`).

The provider is private to the :class:`Tracer`; the process-wide OpenTelemetry provider is
left alone, so several coordinators (or tests) in one process do not fight over it.

Short sections use :meth:`Tracer.span` as a context manager; plans and steps, which live across
callbacks, use :meth:`Tracer.start_span` and end the returned :class:`SpanHandle` with the
outcome's code name. A plan span is the parent of its step spans::

    plan = tracer.start_span('plan', {'plan_id': plan_id})
    step = tracer.start_span('step', {'plan_id': plan_id, 'step_id': 's1',
                                      'robot_id': 'uav1', 'operation': 'takeoff'}, parent=plan)
    step.end('TIMEOUT', 'no climb after 30 s')
    plan.end('DEPENDENCY_FAILED', 'step s1 failed')

Attribute keys are those of :data:`ATTRIBUTE_KEYS` (others are allowed); values that
OpenTelemetry cannot carry are turned into text and ``None`` values are dropped.
"""

import contextlib
import sys
import threading

__all__ = [
    'ATTRIBUTE_KEYS',
    'EXPORTERS',
    'SUCCESS_NAMES',
    'SpanHandle',
    'Tracer',
    'TracingUnavailableError',
]

EXPORTERS = ('none', 'console', 'memory')
ATTRIBUTE_KEYS = ('plan_id', 'step_id', 'operation_id', 'robot_id', 'operation')
# Code names that end a span with status OK; any other name ends it with status ERROR.
# 'NONE' is code_name(0), the "no error" code.
SUCCESS_NAMES = frozenset({'OK', 'NONE', 'SUCCEEDED', 'SUCCESS'})
_UNSET_NAMES = frozenset({'', 'UNSET'})
_PACKAGES = 'opentelemetry-api and opentelemetry-sdk'
_SCALARS = (bool, str, int, float)


class TracingUnavailableError(ImportError):
    """Raised when an exporter other than 'none' is chosen and OpenTelemetry is missing."""


def _clean_attributes(attributes):
    """Return the attributes OpenTelemetry accepts: scalars or homogeneous scalar lists."""
    clean = {}
    for key, value in (attributes or {}).items():
        if value is None:
            continue
        if isinstance(value, _SCALARS):
            clean[str(key)] = value
        elif isinstance(value, (list, tuple)) and all(
                isinstance(item, str) for item in value):
            clean[str(key)] = list(value)
        else:
            clean[str(key)] = str(value)
    return clean


class SpanHandle:
    """
    A started span; end it once with the outcome.

    The no-op tracer hands out handles too, so callers never test whether tracing is on.
    """

    def __init__(self, span=None, status_types=None):
        """
        Wrap an OpenTelemetry span, or nothing for the no-op tracer.

        :param span: The ``opentelemetry.trace.Span``, or None.
        :param status_types: ``(Status, StatusCode)`` of the OpenTelemetry API, with ``span``.
        """
        self._span = span
        self._status_types = status_types
        self._lock = threading.Lock()
        self._ended = False

    @property
    def span(self):
        """Return the underlying OpenTelemetry span, or None when tracing is off."""
        return self._span

    @property
    def ended(self) -> bool:
        """Return whether :meth:`end` was called."""
        return self._ended

    def set_attributes(self, attributes):
        """
        Add or replace attributes of a span not yet ended.

        :param attributes: A mapping of attribute names to values.
        """
        if self._span is not None and not self._ended:
            self._span.set_attributes(_clean_attributes(attributes))

    def end(self, status_code_name: str = 'OK', message: str = ''):
        """
        End the span with an outcome; later calls are ignored.

        :param status_code_name: The outcome's code name (``errors.code_name(code)``, e.g.
            ``'TIMEOUT'``); one of :data:`SUCCESS_NAMES` sets status OK, '' or ``'UNSET'``
            leaves it unset, anything else sets ERROR. Kept as attribute ``outcome`` (success
            names as ``'SUCCEEDED'``).
        :param message: Why, for an ERROR status (the result's ``error_msg``).
        """
        with self._lock:
            if self._ended:
                return
            self._ended = True
        if self._span is None:
            return
        status, status_code = self._status_types
        name = str(status_code_name or '').upper()
        if name not in _UNSET_NAMES:
            self._span.set_attribute('outcome', 'SUCCEEDED' if name in SUCCESS_NAMES else name)
        if name in SUCCESS_NAMES:
            self._span.set_status(status(status_code.OK))
        elif name not in _UNSET_NAMES:
            description = '%s: %s' % (name, message) if message else name
            self._span.set_status(status(status_code.ERROR, description))
        self._span.end()


class _NoopBackend:
    """Hands out handles that record nothing."""

    def start_span(self, name, attributes, parent):
        return SpanHandle()

    @contextlib.contextmanager
    def use(self, handle):
        yield handle

    def finished_spans(self):
        return []

    def shutdown(self):
        pass


class _OpenTelemetryBackend:
    """A private OpenTelemetry SDK provider with one exporter behind a simple processor."""

    def __init__(self, exporter, stream, service_name):
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import (
                ConsoleSpanExporter, SimpleSpanProcessor)
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter)
        except ImportError as e:
            raise TracingUnavailableError(
                "tracing exporter '%s' needs the Python packages %s "
                '(pip install -r requirements/common.txt): %s' % (exporter, _PACKAGES, e)
            ) from e
        self._trace = trace
        self._status_types = (trace.Status, trace.StatusCode)
        if exporter == 'console':
            self._exporter = ConsoleSpanExporter(
                service_name=service_name, out=stream if stream is not None else sys.stdout)
        else:
            self._exporter = InMemorySpanExporter()
        # shutdown_on_exit=False: the owner calls shutdown(); an atexit hook per Tracer would
        # keep every provider (and its spans) alive until the process ends.
        self._provider = TracerProvider(
            resource=Resource.create({'service.name': service_name}), shutdown_on_exit=False)
        self._provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        self._tracer = self._provider.get_tracer('brain_execution')

    def start_span(self, name, attributes, parent):
        context = None
        if parent is not None and parent.span is not None:
            context = self._trace.set_span_in_context(parent.span)
        span = self._tracer.start_span(
            name, context=context, attributes=_clean_attributes(attributes))
        return SpanHandle(span, self._status_types)

    def use(self, handle):
        # Current for the block, so spans started inside it without a parent nest under it.
        return self._trace.use_span(
            handle.span, end_on_exit=False, record_exception=True, set_status_on_exception=False)

    def finished_spans(self):
        get = getattr(self._exporter, 'get_finished_spans', None)
        return list(get()) if get is not None else []

    def shutdown(self):
        self._provider.shutdown()


class Tracer:
    """Start spans; a no-op unless built with an OpenTelemetry exporter."""

    def __init__(self, backend=None, *, exporter: str = 'none'):
        """
        Wrap a backend; use :meth:`from_config` rather than this.

        :param backend: The backend, or None for the no-op one.
        :param exporter: The exporter's name, for :attr:`exporter`.
        """
        self._backend = backend if backend is not None else _NoopBackend()
        self._exporter = exporter

    @classmethod
    def from_config(cls, exporter: str = 'none', *, stream=None,
                    service_name: str = 'brain_execution'):
        """
        Build a tracer for an exporter name (a node parameter's value).

        :param exporter: ``'none'``, ``'console'`` or ``'memory'`` (case-insensitive).
        :param stream: Text stream the console exporter writes to; stdout by default.
        :param service_name: The ``service.name`` resource attribute of the spans.
        :return: A :class:`Tracer`.
        :raises ValueError: If ``exporter`` is unknown.
        :raises TracingUnavailableError: If OpenTelemetry is needed and not installed.
        """
        name = str(exporter).strip().lower()
        if name not in EXPORTERS:
            raise ValueError('tracing exporter must be one of %s, got %r' % (
                ', '.join(EXPORTERS), exporter))
        if name == 'none':
            return cls(exporter=name)
        return cls(_OpenTelemetryBackend(name, stream, service_name), exporter=name)

    @property
    def exporter(self) -> str:
        """Return the exporter's name."""
        return self._exporter

    @property
    def enabled(self) -> bool:
        """Return whether spans are recorded."""
        return self._exporter != 'none'

    def start_span(self, name: str, attributes=None, parent=None) -> SpanHandle:
        """
        Start a span that outlives the caller's frame (a plan, a step); end it yourself.

        :param name: The span's name, e.g. ``'plan'`` or ``'takeoff'``.
        :param attributes: A mapping, e.g. with the keys of :data:`ATTRIBUTE_KEYS`.
        :param parent: The parent's :class:`SpanHandle` (a plan's, for its steps); None for
            the span current in this context, if any, otherwise a new trace.
        :return: A :class:`SpanHandle`.
        """
        return self._backend.start_span(name, attributes, parent)

    @contextlib.contextmanager
    def span(self, name: str, attributes=None, parent=None):
        """
        Trace a block: the span is current inside it and ends when it exits.

        It ends with status OK unless the block ended the handle itself; an exception ends it
        with ``INTERNAL_ERROR`` and the exception's text, and is re-raised.

        :param name: The span's name.
        :param attributes: A mapping of attributes.
        :param parent: The parent's :class:`SpanHandle`, or None for the current span.
        :return: A context manager yielding the :class:`SpanHandle`.
        """
        handle = self.start_span(name, attributes, parent)
        try:
            with self._backend.use(handle):
                yield handle
        except BaseException as e:
            handle.end('INTERNAL_ERROR', '%s: %s' % (type(e).__name__, e))
            raise
        handle.end('OK')

    def finished_spans(self):
        """Return the spans finished so far (the 'memory' exporter only; else empty)."""
        return self._backend.finished_spans()

    def shutdown(self):
        """Flush and stop the exporter; spans started afterwards are dropped."""
        self._backend.shutdown()
