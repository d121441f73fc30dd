"""Use cases of release_events: accept a notice exactly once, report its status."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import EventType, new_event
from contracts.release_notice import (
    RELEASE_NOTICE_SUBMITTED_SCHEMA,
    ReleaseNoticeSubmittedV1,
    ReleaseNoticeV1,
)
from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.common.outbox import OutboxMessage, add_to_outbox
from services.common.topics import CUSTODY_EVENTS
from services.release_events.models import IdempotencyRecord, ReleaseNoticeRecord

log = structlog.get_logger(__name__)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


@dataclass(frozen=True)
class Submission:
    notice: ReleaseNoticeV1
    body: dict[str, Any]
    idempotency_key: str | None
    scope: str
    correlation_id: str
    audit_entry: audit.AuditEntry | None = None


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class NoticeStatus:
    notice_id: str
    establishment_code: str
    received_at: datetime
    published_at: datetime | None


def request_hash(body: dict[str, Any]) -> str:
    """Hash of the body's canonical JSON: the same submission in other whitespace or key order matches."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def status_url(notice_id: str) -> str:
    return f"/v1/release-notices/{notice_id}"


async def _earlier_answer(session: AsyncSession, submission: Submission) -> Answer | None:
    if submission.idempotency_key is None:
        return None
    record = await session.get(IdempotencyRecord, (submission.scope, submission.idempotency_key))
    if record is None:
        return None
    if record.request_hash != request_hash(submission.body):
        raise IdempotencyConflict
    return Answer(record.status_code, json.loads(record.response_body), replayed=True)


async def submit_notice(*, database: Database, submission: Submission, clock: Clock, source: str) -> Answer:
    """Store the notice, its event and the idempotency record in one transaction; or replay the first answer."""
    async with database.session() as session:
        earlier = await _earlier_answer(session, submission)
        if earlier:
            log.info("release_notice.replayed", notice_id=earlier.body.get("notice_id"))
            return earlier
    notice_id = str(uuid.uuid4())
    now = clock.now()
    data = ReleaseNoticeSubmittedV1(notice_id=notice_id, received_at=now, notice=submission.notice)
    event = new_event(
        type=EventType.RELEASE_NOTICE_SUBMITTED,
        source=source,
        subject=submission.notice.prison_number,
        dataschema=RELEASE_NOTICE_SUBMITTED_SCHEMA,
        data=data,
        correlation_id=submission.correlation_id,
        time=now,
    )
    answer = Answer(202, {"notice_id": notice_id, "status": "accepted", "status_url": status_url(notice_id)})
    try:
        async with database.transaction() as session:
            session.add(
                ReleaseNoticeRecord(
                    id=notice_id,
                    prison_number=submission.notice.prison_number,
                    establishment_code=submission.notice.establishment_code,
                    event_id=event.id,
                    body=submission.notice.model_dump_json(),
                    received_at=now,
                )
            )
            add_to_outbox(session, topic=CUSTODY_EVENTS, event=event, clock=clock)
            if submission.audit_entry is not None:
                await audit.record(session, replace(submission.audit_entry, resource_id=notice_id), now)
            if submission.idempotency_key is not None:
                session.add(
                    IdempotencyRecord(
                        scope=submission.scope,
                        key=submission.idempotency_key,
                        request_hash=request_hash(submission.body),
                        status_code=answer.status_code,
                        response_body=json.dumps(answer.body),
                        created_at=now,
                    )
                )
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        async with database.session() as session:
            earlier = await _earlier_answer(session, submission)
        if earlier is None:
            raise
        return earlier
    log.info(
        "release_notice.accepted",
        notice_id=notice_id,
        event_id=event.id,
        establishment=submission.notice.establishment_code,
    )
    return answer


async def notice_status(*, database: Database, notice_id: str) -> NoticeStatus | None:
    async with database.session() as session:
        notice = await session.get(ReleaseNoticeRecord, notice_id)
        if notice is None:
            return None
        published_at = (
            await session.exec(select(OutboxMessage.published_at).where(OutboxMessage.event_id == notice.event_id))
        ).first()
        return NoticeStatus(notice_id=notice.id, establishment_code=notice.establishment_code,
                            received_at=notice.received_at, published_at=published_at)
