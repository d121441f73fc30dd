"""The AsyncAPI document is accepted by the official parser and cannot drift from the code: every event type,
every topic and its dead-letter topic, and every webhook the notifier sends are in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.delivery import DeliveryEventType
from contracts.envelope import EventType
from services.common.topics import ALL_TOPICS, dead_letter_topic
from services.notifier.domain.webhooks import WEBHOOK_EVENT_TYPES
from services.notifier.usecases.escalations import ESCALATION_WEBHOOK_TYPE

CONTRACTS = Path(__file__).parents[2] / "contracts"
DOCUMENT = CONTRACTS / "asyncapi.yaml"
VALIDATOR = CONTRACTS / "asyncapi" / "validate.mjs"
PAUSED_WEBHOOK_TYPE = "endpoint.paused"  # the notice to prison contacts that an agency's endpoint was paused
DEAD_LETTER_HEADERS = {
    "dlt-reason",
    "dlt-original-topic",
    "dlt-original-partition",
    "dlt-original-offset",
    "dlt-consumer-group",
}


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (VALIDATOR.parent / "node_modules" / "@asyncapi" / "parser").exists():
        pytest.fail("the AsyncAPI parser is not installed: ./run lint (or ./run test) installs it with npm ci")
    return subprocess.run([node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text())  # type: ignore[no-any-return]


def messages_of(document: dict[str, Any], channel: dict[str, Any]) -> list[dict[str, Any]]:
    components = document["components"]["messages"]
    return [components[message["$ref"].rsplit("/", 1)[1]] for message in channel["messages"].values()]


def test_the_official_parser_accepts_the_document_with_no_errors() -> None:
    result = validate(DOCUMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout and "valid AsyncAPI" in result.stdout


def test_the_parser_refuses_a_broken_document(tmp_path: Path) -> None:
    broken = yaml.safe_load(DOCUMENT.read_text())
    broken["operations"]["publishCustody"]["channel"] = {"$ref": "#/channels/nowhere"}
    path = tmp_path / "asyncapi.yaml"
    path.write_text(yaml.safe_dump(broken))
    (tmp_path / "schemas").symlink_to(CONTRACTS / "schemas")
    result = validate(path)
    assert result.returncode == 1 and "error" in result.stdout, result.stdout


def test_every_event_type_is_a_message_on_a_topic(document: dict[str, Any]) -> None:
    on_topics = {
        message["name"]
        for channel in document["channels"].values()
        if channel["address"] in ALL_TOPICS
        for message in messages_of(document, channel)
    }
    assert {*EventType, *DeliveryEventType} <= on_topics


def test_every_topic_and_its_dead_letter_topic_is_a_channel_with_the_dead_letter_headers(
    document: dict[str, Any],
) -> None:
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    for topic in ALL_TOPICS:
        assert topic in channels
        (dead_letter,) = messages_of(document, channels[dead_letter_topic(topic)])
        assert set(dead_letter["headers"]["required"]) == DEAD_LETTER_HEADERS


def test_every_webhook_the_notifier_sends_is_a_message_to_the_agency_endpoint(document: dict[str, Any]) -> None:
    webhook = document["channels"]["agencyWebhook"]
    sent = {message["name"].split(" ")[0] for message in messages_of(document, webhook)}
    assert {*WEBHOOK_EVENT_TYPES.values(), ESCALATION_WEBHOOK_TYPE, PAUSED_WEBHOOK_TYPE} <= sent
    traits = document["components"]["messageTraits"]["standardWebhook"]
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(traits["headers"]["required"])
    assert "traceparent" in traits["headers"]["properties"]
    assert any("(FHIR)" in message["name"] for message in messages_of(document, webhook))
    sends = [op for op in document["operations"].values() if op["channel"]["$ref"] == "#/channels/agencyWebhook"]
    assert {op["action"] for op in sends} == {"send", "receive"}
