"""Trace context through the CloudEvents distributed-tracing extension, and no personal data in exported spans,
checked on the SDK's in-memory exporter (no broker, no collector)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from contracts.envelope import CloudEvent
from services.common import tracing
from services.common.clock import FrozenClock
from services.notifier.adapters.webhook_client import EndpointClient
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.test_aiohttp_transport import T0, a_delivery, agency_at

NHS_NUMBER = "9990001237"
PRISON_NUMBER = "A1234BC"
tracer = trace.get_tracer(__name__)


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure("test").add_span_processor(SimpleSpanProcessor(tracing.PersonDataFilter(exporter)))
    yield exporter
    exporter.shutdown()


@pytest.fixture
def spans(exported: InMemorySpanExporter) -> InMemorySpanExporter:
    exported.clear()
    return exported


def an_event() -> CloudEvent:
    return CloudEvent(
        id="evt-1",
        source="urn:ttg:test",
        type="uk.nhs.ttg.custody.release-notice.submitted",
        time=datetime(2026, 1, 5, tzinfo=UTC),
        subject=PRISON_NUMBER,
        data={"nhs_number": NHS_NUMBER},
    )


def test_an_event_staged_in_a_span_carries_its_context_and_the_consumer_span_continues_the_trace(
    spans: InMemorySpanExporter,
) -> None:
    with tracer.start_as_current_span("POST /v1/release-notices", kind=SpanKind.SERVER) as staging:
        event = tracing.with_trace_context(an_event())
    # As the relay publishes it and the consumer parses it: the JSON of the event, unchanged.
    received = CloudEvent.model_validate(json.loads(event.model_dump_json(exclude_none=True)))
    assert received.traceparent.split("-")[1] == format(staging.get_span_context().trace_id, "032x")  # type: ignore[attr-defined]
    with tracing.consuming(received, topic="custody.events.v1", group_id="handover"):
        pass
    (consumer,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CONSUMER]
    assert consumer.context.trace_id == staging.get_span_context().trace_id
    assert consumer.parent is not None and consumer.parent.span_id == staging.get_span_context().span_id
    assert consumer.attributes == {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": "custody.events.v1",
        "messaging.consumer.group.name": "handover",
        "messaging.message.id": "evt-1",
        "cloudevents.event_type": "uk.nhs.ttg.custody.release-notice.submitted",
    }


def test_events_applied_together_get_one_consumer_span_linked_to_each_span_that_staged_them(
    spans: InMemorySpanExporter,
) -> None:
    staged: list[CloudEvent] = []
    for n in range(2):
        with tracer.start_as_current_span(f"POST {n}", kind=SpanKind.SERVER):
            staged.append(tracing.with_trace_context(an_event().model_copy(update={"id": f"evt-{n}"})))
    staged.append(an_event())  # staged outside any span: nothing to link
    received = [CloudEvent.model_validate_json(event.model_dump_json(exclude_none=True)) for event in staged]

    with tracing.consuming_batch(received, topic="delivery.events.v1", group_id="handover-delivery-outcomes"):
        pass

    posts = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    (batch,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CONSUMER]
    assert [link.context.span_id for link in batch.links] == [post.context.span_id for post in posts]
    assert batch.parent is None, "a batch has no single parent"
    assert batch.attributes is not None and batch.attributes["messaging.batch.message_count"] == 3


def test_an_event_staged_outside_any_span_carries_no_context_and_starts_a_trace_when_consumed(
    spans: InMemorySpanExporter,
) -> None:
    event = tracing.with_trace_context(an_event())
    assert "traceparent" not in json.loads(event.model_dump_json(exclude_none=True))
    with tracing.consuming(event, topic="custody.events.v1", group_id="handover"):
        pass
    (consumer,) = spans.get_finished_spans()
    assert consumer.parent is None


def test_a_failing_handler_marks_its_consumer_span_with_the_error_type_only(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError), tracing.consuming(an_event(), topic="custody.events.v1", group_id="handover"):
        raise ValueError(f"bad NHS number {NHS_NUMBER}")
    (consumer,) = spans.get_finished_spans()
    assert consumer.status.status_code == trace.StatusCode.ERROR
    assert consumer.attributes is not None and consumer.attributes["error.type"] == "ValueError"
    assert NHS_NUMBER not in consumer.to_json()


async def test_work_resumed_later_from_a_stored_traceparent_joins_that_trace(spans: InMemorySpanExporter) -> None:
    with tracer.start_as_current_span("custody.events.v1 process") as planning:
        stored = tracing.current_traceparent()

    async def deliver() -> None:
        with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT):
            pass

    await asyncio.create_task(deliver(), context=tracing.resumed(stored))
    client = next(span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT)
    assert client.context.trace_id == planning.get_span_context().trace_id
    assert client.parent is not None and client.parent.span_id == planning.get_span_context().span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # the caller's own context was left alone


@pytest.mark.hazard("H80")
def test_http_spans_keep_the_route_template_and_never_the_path_query_or_an_exception_message(
    spans: InMemorySpanExporter,
) -> None:
    app = FastAPI()

    @app.get("/v1/people/{prison_number}/custody-events")
    async def custody_events(prison_number: str, q: str | None = None) -> dict[str, str]:
        with tracer.start_as_current_span("inner") as inner:
            inner.set_attribute("person.nhs_number", NHS_NUMBER)
            inner.record_exception(ValueError(f"no person {NHS_NUMBER}"))
        return {"prison_number": prison_number}

    tracing.instrument(app, "test")
    with TestClient(app) as client:
        response = client.get(f"/v1/people/{PRISON_NUMBER}/custody-events", params={"q": "Smith", "nhs": NHS_NUMBER})
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    server = next(span for span in finished if span.kind == SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/people/{prison_number}/custody-events"
    assert server.attributes["http.status_code"] == 200
    inner = next(span for span in finished if span.name == "inner")
    assert [event.attributes for event in inner.events] == [{"exception.type": "ValueError"}]
    exported = "\n".join(span.to_json() for span in finished)
    for personal in (PRISON_NUMBER, NHS_NUMBER, "Smith"):
        assert personal not in exported


def exporters_of(provider: TracerProvider) -> list[str]:
    processors = provider._active_span_processor._span_processors  # noqa: SLF001 - what the provider was given
    return [type(processor.span_exporter._exporter).__name__ for processor in processors]  # type: ignore[attr-defined]


def test_spans_leave_the_process_only_when_a_collector_or_a_trace_file_is_named(tmp_path: Path) -> None:
    assert exporters_of(tracing.provider_for("handover", {})) == []
    collector = tracing.provider_for("handover", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert exporters_of(collector) == ["OTLPSpanExporter"]
    assert collector.resource.attributes["service.name"] == "handover"
    spans_file = tmp_path / "spans.jsonl"
    to_file = tracing.provider_for("notifier", {"TTG_TRACE_FILE": str(spans_file)})
    assert exporters_of(to_file) == ["JsonLinesFileExporter"]
    with to_file.get_tracer(__name__).start_as_current_span("one"):
        pass
    (line,) = spans_file.read_text().splitlines()
    assert json.loads(line)["resource"]["attributes"]["service.name"] == "notifier"
    collector.shutdown()
    to_file.shutdown()


async def test_a_webhook_over_the_aiohttp_transport_carries_the_traceparent_of_its_client_span(
    spans: InMemorySpanExporter,
) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent", ""))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    tracing.instrument(FastAPI(), "test")  # as every service does at start
    endpoint, port = EndpointClient(NotifierSettings()), int(runner.addresses[0][1])
    try:
        with tracer.start_as_current_span("deliver") as deliver:
            attempts, _ = await endpoint.send(
                agency_at(port),
                a_delivery(),
                clock=FrozenClock(T0),
                wall=FrozenClock(datetime.now(UTC)),
            )
    finally:
        await endpoint.aclose()
        await runner.cleanup()
    assert [result.status_code for _, result in attempts] == [204]
    post = next(span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT)
    [traceparent] = seen
    _, trace_id, span_id, _ = traceparent.split("-")
    assert int(trace_id, 16) == deliver.get_span_context().trace_id
    assert post.attributes == {
        "http.request.method": "POST",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 204,
    }
    assert int(span_id, 16) == post.context.span_id and post.parent is not None
