"""Traces that follow one release across the services: HTTP server and client spans, and the W3C trace context
carried through Kafka in the CloudEvents distributed-tracing extension (``traceparent``, ``tracestate``).

Each process has one tracer provider named after its service. Spans are always made (the context must travel
even when nothing is exported); they leave the process only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) names a collector (OTLP over HTTP), or, for the acceptance tests, when
``TTG_TRACE_FILE`` names a file that gets one JSON line per finished span. Whatever is exported passes
:class:`PersonDataFilter` first: an allowlist of span attribute keys, so a URL path with a prison number or a
query with a name never leaves the process.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from contracts.envelope import CloudEvent

TRACE_FILE_ENV = "TTG_TRACE_FILE"
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTLP_TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
TRACE_ATTRIBUTES = ("traceparent", "tracestate")
# Probes, scrapes and static files say nothing about a release: no spans for them.
_UNTRACED_PATHS = "/healthz,/readyz,/metrics,/assets/,/static/,/frontend/"
# Span attributes that can never hold personal data: methods, status codes, route templates (never the path
# itself), host names, the messaging system, topic and event ids and types. Everything else is dropped.
SAFE_ATTRIBUTES = frozenset(
    {
        "http.method",
        "http.request.method",
        "http.status_code",
        "http.response.status_code",
        "http.route",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "server.address",
        "server.port",
        "net.host.port",
        "net.peer.name",
        "net.peer.port",
        "error.type",
        "exception.type",
        "messaging.system",
        "messaging.operation",
        "messaging.operation.type",
        "messaging.destination.name",
        "messaging.consumer.group.name",
        "messaging.message.id",
        "messaging.batch.message_count",
        "cloudevents.event_id",
        "cloudevents.event_type",
        "cloudevents.event_source",
    }
)

_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer(__name__)


class PersonDataFilter(SpanExporter):
    """Passes spans on to ``exporter`` with only :data:`SAFE_ATTRIBUTES` kept (on spans and span events) and
    the status description dropped, since an exception's message may quote the data that failed."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([_without_person_data(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _safe(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (attributes or {}).items() if key in SAFE_ATTRIBUTES}


def _without_person_data(span: ReadableSpan) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_safe(span.attributes),
        events=[Event(event.name, _safe(event.attributes), event.timestamp) for event in span.events],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class JsonLinesFileExporter(SpanExporter):
    """One JSON line per finished span, appended to a file several processes may share (one ``write`` per
    line on a descriptor opened for appending, so lines never interleave)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            os.write(self._fd, (span.to_json(indent=None) + "\n").encode())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        os.close(self._fd)


def provider_for(service: str, environ: Mapping[str, str]) -> TracerProvider:
    """A tracer provider named ``service`` with the exporters ``environ`` asks for (none when it names none)."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if environ.get(OTLP_ENDPOINT_ENV) or environ.get(OTLP_TRACES_ENDPOINT_ENV):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(PersonDataFilter(OTLPSpanExporter())))
    if trace_file := environ.get(TRACE_FILE_ENV):
        provider.add_span_processor(SimpleSpanProcessor(PersonDataFilter(JsonLinesFileExporter(Path(trace_file)))))
    return provider


def configure(service: str) -> TracerProvider:
    """The process's tracer provider, named ``service``, exporting where the environment says. A process that
    already has one keeps it (tests build several apps in one process)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = provider_for(service, os.environ)
    trace.set_tracer_provider(provider)
    return provider


def instrument(app: FastAPI, service: str) -> None:
    """Server spans for every route of ``app`` but the probes; client spans (and a ``traceparent`` header) on
    every httpx request the process makes."""
    provider = configure(service)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=_UNTRACED_PATHS, exclude_spans=["receive", "send"]
    )
    httpx_instrumentor = HTTPXClientInstrumentor()
    if not httpx_instrumentor.is_instrumented_by_opentelemetry:
        httpx_instrumentor.instrument(tracer_provider=provider)


def with_trace_context(event: CloudEvent) -> CloudEvent:
    """``event`` carrying the current trace context as CloudEvent extension attributes (unchanged when there is
    no current span, or when it already carries a context of its own)."""
    if getattr(event, "traceparent", None) or not trace.get_current_span().get_span_context().is_valid:
        return event
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return event.model_copy(update={key: carrier[key] for key in TRACE_ATTRIBUTES if key in carrier})


def context_of(event: CloudEvent) -> otel_context.Context:
    """The trace context an event carries (an empty one when it carries none)."""
    carrier = {key: str(value) for key in TRACE_ATTRIBUTES if (value := getattr(event, key, None))}
    return _propagator.extract(carrier)


@contextmanager
def _span(name: str, kind: SpanKind, attributes: dict[str, Any], **options: Any) -> Iterator[trace.Span]:
    """The current span for a block, marked failed (with the error's type, never its message) if the block raises."""
    with _tracer.start_as_current_span(
        name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False, **options
    ) as span:
        try:
            yield span
        except BaseException as error:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", type(error).__name__)
            raise


def _processing(topic: str, group_id: str) -> dict[str, Any]:
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group_id,
    }


def consuming(event: CloudEvent, *, topic: str, group_id: str) -> AbstractContextManager[trace.Span]:
    """A consumer span for applying ``event``, the child of the span that staged it, so the trace goes on."""
    attributes = {
        **_processing(topic, group_id),
        "messaging.message.id": event.id,
        "cloudevents.event_type": event.type,
    }
    return _span(f"{topic} process", SpanKind.CONSUMER, attributes, context=context_of(event))


def consuming_batch(events: Sequence[CloudEvent], *, topic: str, group_id: str) -> AbstractContextManager[trace.Span]:
    """One consumer span for applying ``events`` together, linked to the span that staged each (OpenTelemetry's
    messaging conventions for a batch: the batch has no single parent)."""
    links = [trace.Link(trace.get_current_span(context_of(event)).get_span_context()) for event in events]
    attributes = {**_processing(topic, group_id), "messaging.batch.message_count": len(events)}
    valid = [link for link in links if link.context.is_valid]
    return _span(f"{topic} process", SpanKind.CONSUMER, attributes, links=valid)


def current_traceparent() -> str | None:
    """The current span's ``traceparent``, to keep with work done later outside this span (a delivery)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def resumed(traceparent: str | None) -> contextvars.Context:
    """A copy of the current context in which the span named by ``traceparent`` is the current one: a task
    created with it makes its spans (and its requests' ``traceparent``) part of that trace."""
    copied = contextvars.copy_context()
    if traceparent:
        copied.run(otel_context.attach, _propagator.extract({"traceparent": traceparent}))
    return copied


def current_context() -> otel_context.Context:
    """The current trace context, to continue later in another task (:func:`continued`)."""
    return otel_context.get_current()


@contextmanager
def continued(context: otel_context.Context) -> Iterator[None]:
    """Make ``context`` (from :func:`current_context`) the current trace context for the block: work done for
    another task, such as recording its round, stays part of that task's trace."""
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def sending(request: httpx.Request) -> Iterator[trace.Span]:
    """A client span for ``request``, sent straight to a transport (no client, so no instrumentation): its
    ``traceparent`` header names this span, as an instrumented client's would; the caller adds the answer's
    status code."""
    url = request.url
    attributes = {
        "http.request.method": request.method,
        "url.scheme": url.scheme,
        "server.address": url.host,
        "server.port": url.port or {"http": 80, "https": 443}.get(url.scheme, 0),
    }
    with _span(request.method, SpanKind.CLIENT, attributes) as span:
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        request.headers.update(carrier)
        yield span
