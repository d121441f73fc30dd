"""CloudEvents 1.0 envelope (structured JSON mode) used on every topic.

Events are written to Kafka as the JSON of :class:`CloudEvent` with the header
``content-type: application/cloudevents+json``, keyed by the prison number (also carried as the
``partitionkey`` extension, as the CloudEvents Kafka binding expects). ``dataschema`` names the schema
and its version; consumers dead-letter events whose major version they do not know.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
_SCHEMA_VERSION = re.compile(r":(\d+)\.(\d+)$")


class EventType(StrEnum):
    """Event types on the topics; the schema version travels in ``dataschema``."""

    RELEASE_NOTICE_SUBMITTED = "uk.nhs.ttg.custody.release-notice.submitted"
    RELEASE_NOTICE_AMENDED = "uk.nhs.ttg.custody.release-notice.amended"
    CUSTODY_EVENT_RECORDED = "uk.nhs.ttg.custody.event.recorded"
    HANDOVER_PACK_ISSUED = "uk.nhs.ttg.handover.pack.issued"
    HANDOVER_PACK_AMENDED = "uk.nhs.ttg.handover.pack.amended"
    HANDOVER_PACK_WITHDRAWN = "uk.nhs.ttg.handover.pack.withdrawn"
    REFERRAL_ANSWERED = "uk.nhs.ttg.handover.referral.answered"
    REFERRAL_REROUTED = "uk.nhs.ttg.handover.referral.rerouted"
    REFERRAL_ESCALATED = "uk.nhs.ttg.handover.referral.escalated"
    DELIVERY_SUCCEEDED = "uk.nhs.ttg.delivery.succeeded"
    DELIVERY_FAILED = "uk.nhs.ttg.delivery.failed"
    DELIVERY_DEAD_LETTERED = "uk.nhs.ttg.delivery.dead-lettered"
    DIRECTORY_AGENCY_CHANGED = "uk.nhs.ttg.directory.agency.changed"


def schema_uri(name: str, version: str) -> str:
    """The ``dataschema`` URI of a contract, e.g. ``urn:ttg:schema:release-notice-submitted:1.0``."""
    return f"urn:ttg:schema:{name}:{version}"


def major_version(dataschema: str | None) -> int | None:
    """Major version named by a ``dataschema`` URI, or None when it names none."""
    if not dataschema:
        return None
    match = _SCHEMA_VERSION.search(dataschema)
    return int(match.group(1)) if match else None


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured mode. Unknown extension attributes are kept."""

    model_config = ConfigDict(extra="allow")

    specversion: str = SPEC_VERSION
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    partitionkey: str | None = None
    correlationid: str | None = None
    data: dict[str, Any]

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def new_event(
    *,
    type: EventType,
    source: str,
    subject: str,
    dataschema: str,
    data: BaseModel,
    correlation_id: str | None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Build an event about one person (``subject`` and ``partitionkey`` are the prison number)."""
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type.value,
        time=time or datetime.now(UTC),
        subject=subject,
        dataschema=dataschema,
        partitionkey=subject,
        correlationid=correlation_id,
        data=data.model_dump(mode="json", exclude_none=True),
    )
