"""Use cases of release_events: accept a notice exactly once, from the establishment that holds the person;
report its status.

Twice the same notice publishes once: with an ``Idempotency-Key`` (scoped to the client, kept for a window)
the first answer is replayed; without one, a notice whose content is that of the person's latest notice, with
no custody event since, is a duplicate: answered 200 with the earlier notice, nothing published again."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
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
from services.common.metrics import RELEASE_NOTICES
from services.common.outbox import OutboxMessage, add_to_outbox
from services.common.topics import CUSTODY_EVENTS
from services.release_events import register
from services.release_events.domain.custody_rules import Refused, decide_notice
from services.release_events.models import (
    CustodyEventRecord,
    IdempotencyRecord,
    NoticeRevision,
    ReleaseNoticeRecord,
)

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
    idempotency_window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    duplicate: bool = False


@dataclass(frozen=True)
class RevisionStatus:
    amendment_id: str
    revision: int
    received_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class NoticeStatus:
    notice_id: str
    establishment_code: str
    received_at: datetime
    published_at: datetime | None
    revision: int = 1
    amendments: tuple[RevisionStatus, ...] = ()
    body: str = ""  # the current revision's whole notice (JSON), for the establishment's own correction form


def request_hash(body: dict[str, Any]) -> str:
    """Hash of the body's canonical JSON: the same submission in other whitespace or key order matches."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def content_hash(notice: ReleaseNoticeV1) -> str:
    """Hash of the notice's content as validated: two bodies that mean the same notice match."""
    return request_hash(notice.model_dump(mode="json"))


def status_url(notice_id: str) -> str:
    return f"/v1/release-notices/{notice_id}"


class _Duplicate(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


async def _earlier_answer(session: AsyncSession, submission: Submission, now: datetime) -> Answer | None:
    if submission.idempotency_key is None:
        return None
    record = await session.get(IdempotencyRecord, (submission.scope, submission.idempotency_key))
    if record is None or record.created_at <= now - submission.idempotency_window:
        return None  # an expired record is ignored (and replaced, or purged)
    if record.request_hash != request_hash(submission.body):
        raise IdempotencyConflict
    return Answer(record.status_code, json.loads(record.response_body), replayed=True)


async def _same_as_latest(session: AsyncSession, notice: ReleaseNoticeV1) -> ReleaseNoticeRecord | None:
    """The person's latest notice when it has this content and no custody event came after it."""
    latest = (
        await session.exec(
            select(ReleaseNoticeRecord)
            .where(ReleaseNoticeRecord.prison_number == notice.prison_number)
            .order_by(col(ReleaseNoticeRecord.received_at).desc())
            .limit(1)
        )
    ).first()
    if latest is None or latest.content_hash != content_hash(notice):
        return None
    since = (
        await session.exec(
            select(CustodyEventRecord.id).where(
                CustodyEventRecord.prison_number == notice.prison_number,
                CustodyEventRecord.received_at > latest.received_at,
            )
        )
    ).first()
    return None if since else latest


async def submit_notice(*, database: Database, submission: Submission, clock: Clock, source: str) -> Answer:
    """Store the notice, its event, the idempotency record and the custody register in one transaction, after
    the register's check; or replay the first answer; or answer a duplicate with the earlier notice.

    Raises :class:`register.CustodyRefused` when another establishment holds the person (nothing stored)."""
    now = clock.now()
    async with database.session() as session:
        earlier = await _earlier_answer(session, submission, now)
        if earlier:
            log.info("release_notice.replayed", notice_id=earlier.body.get("notice_id"))
            RELEASE_NOTICES.labels("replayed").inc()
            return earlier
    notice_id = str(uuid.uuid4())
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
    notice = submission.notice
    try:
        async with database.transaction() as session:
            custody = await register.lock(session, notice.prison_number, now)
            decision = decide_notice(custody, notice.establishment_code)
            if isinstance(decision, Refused):
                raise register.CustodyRefused(decision)
            if submission.idempotency_key is None:
                same = await _same_as_latest(session, notice)
                if same is not None:
                    raise _Duplicate(
                        Answer(
                            200,
                            {"notice_id": same.id, "status": "duplicate", "status_url": status_url(same.id)},
                            duplicate=True,
                        )
                    )
            else:  # an expired record of the same key gives way to this submission
                await session.exec(  # type: ignore[call-overload]
                    delete(IdempotencyRecord).where(
                        col(IdempotencyRecord.scope) == submission.scope,
                        col(IdempotencyRecord.key) == submission.idempotency_key,
                        col(IdempotencyRecord.created_at) <= now - submission.idempotency_window,
                    )
                )
            session.add(
                ReleaseNoticeRecord(
                    id=notice_id,
                    prison_number=notice.prison_number,
                    establishment_code=notice.establishment_code,
                    event_id=event.id,
                    body=notice.model_dump_json(),
                    received_at=now,
                    revision=1,
                    content_hash=content_hash(notice),
                )
            )
            await register.save(session, notice.prison_number, decision.after, f"notice:{notice_id}", now)
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
    except _Duplicate as duplicate:
        log.info("release_notice.duplicate", notice_id=duplicate.answer.body["notice_id"])
        RELEASE_NOTICES.labels("duplicate").inc()
        return duplicate.answer
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        async with database.session() as session:
            earlier = await _earlier_answer(session, submission, now)
        if earlier is None:
            raise
        return earlier
    log.info(
        "release_notice.accepted",
        notice_id=notice_id,
        event_id=event.id,
        establishment=submission.notice.establishment_code,
    )
    RELEASE_NOTICES.labels("accepted").inc()
    return answer


async def notice_status(*, database: Database, notice_id: str) -> NoticeStatus | None:
    async with database.session() as session:
        notice = await session.get(ReleaseNoticeRecord, notice_id)
        if notice is None:
            return None
        published_at = (
            await session.exec(select(OutboxMessage.published_at).where(OutboxMessage.event_id == notice.event_id))
        ).first()
        revisions = (
            await session.exec(
                select(NoticeRevision, OutboxMessage.published_at)
                .join(OutboxMessage, col(OutboxMessage.event_id) == col(NoticeRevision.event_id))
                .where(NoticeRevision.notice_id == notice_id)
                .order_by(col(NoticeRevision.revision))
            )
        ).all()
        current = next((row.body for row, _ in revisions if row.revision == notice.revision), notice.body)
        return NoticeStatus(
            notice_id=notice.id,
            establishment_code=notice.establishment_code,
            received_at=notice.received_at,
            published_at=published_at,
            revision=notice.revision,
            amendments=tuple(
                RevisionStatus(row.amendment_id, row.revision, row.received_at, published)
                for row, published in revisions
            ),
            body=current,
        )


async def purge_idempotency_records(*, database: Database, older_than: datetime) -> int:
    """Delete idempotency records past their window; they are ignored already, this keeps the table small."""
    async with database.transaction() as session:
        result = await session.exec(  # type: ignore[call-overload]
            delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) <= older_than)
        )
    return int(result.rowcount or 0)
