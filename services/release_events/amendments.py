"""Use case: correct an accepted notice without tearing the case down.

The corrected notice keeps the notice's id and gets the next revision (the original is revision 1); its
``release-notice.amended`` event lets handover amend the pack for the agencies whose sections changed rather
than withdraw and reissue it everywhere. Only the establishment that holds the person corrects, only the
person's latest notice, and only with the same person and establishment. The same correction twice (the
content of the current revision) publishes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog
from sqlmodel import col, select

from contracts.envelope import EventType, new_event
from contracts.release_notice import RELEASE_NOTICE_AMENDED_SCHEMA, ReleaseNoticeAmendedV1, ReleaseNoticeV1
from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.common.outbox import add_to_outbox
from services.common.topics import CUSTODY_EVENTS
from services.release_events import register
from services.release_events.domain.custody_rules import Refused, decide_amendment
from services.release_events.models import NoticeRevision, ReleaseNoticeRecord
from services.release_events.service import content_hash, status_url

log = structlog.get_logger(__name__)


class NoticeNotFound(Exception):
    """No such notice, or not one the caller may see (the same answer for both)."""


class NotTheSameRelease(Exception):
    """The correction names another person or establishment than the notice."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class Superseded(Exception):
    """A later notice replaced this one; it is that one that can be corrected."""


@dataclass(frozen=True)
class Amendment:
    notice_id: str
    notice: ReleaseNoticeV1
    reason: str | None
    correlation_id: str
    audit_entry: audit.AuditEntry


@dataclass(frozen=True)
class AmendAnswer:
    status_code: int
    body: dict[str, object]
    duplicate: bool = False


class _Duplicate(Exception):
    def __init__(self, answer: AmendAnswer) -> None:
        self.answer = answer


def _answer(status_code: int, notice_id: str, amendment_id: str | None, revision: int, status: str) -> AmendAnswer:
    body: dict[str, object] = {
        "notice_id": notice_id,
        "amendment_id": amendment_id,
        "revision": revision,
        "status": status,
        "status_url": status_url(notice_id),
    }
    return AmendAnswer(status_code, body, duplicate=status == "duplicate")


async def amend_notice(
    *,
    database: Database,
    amendment: Amendment,
    may_see: Callable[[str], bool],
    clock: Clock,
    source: str,
) -> AmendAnswer:
    """Store the correction and its event in one transaction after the register's check.

    ``may_see(establishment_code)`` says whether the caller may see notices of that establishment."""
    corrected = amendment.notice
    now = clock.now()
    amendment_id = str(uuid.uuid4())
    try:
        async with database.transaction() as session:
            record = await session.get(ReleaseNoticeRecord, amendment.notice_id)
            if record is None or not may_see(record.establishment_code):
                raise NoticeNotFound
            for field in ("prison_number", "establishment_code"):
                if getattr(corrected, field) != getattr(record, field):
                    raise NotTheSameRelease(field)
            custody = await register.lock(session, record.prison_number, now)
            await session.refresh(record)  # a concurrent correction may have committed while we waited
            decision = decide_amendment(custody, record.establishment_code)
            if isinstance(decision, Refused):
                raise register.CustodyRefused(decision)
            latest = (
                await session.exec(
                    select(ReleaseNoticeRecord.id)
                    .where(ReleaseNoticeRecord.prison_number == record.prison_number)
                    .order_by(col(ReleaseNoticeRecord.received_at).desc())
                    .limit(1)
                )
            ).first()
            if latest != record.id:
                raise Superseded
            if record.content_hash == content_hash(corrected):
                current = (
                    await session.exec(
                        select(NoticeRevision.amendment_id).where(
                            NoticeRevision.notice_id == record.id, NoticeRevision.revision == record.revision
                        )
                    )
                ).first()
                raise _Duplicate(_answer(200, record.id, current, record.revision, "duplicate"))
            revision = record.revision + 1
            event = new_event(
                type=EventType.RELEASE_NOTICE_AMENDED,
                source=source,
                subject=record.prison_number,
                dataschema=RELEASE_NOTICE_AMENDED_SCHEMA,
                data=ReleaseNoticeAmendedV1(
                    notice_id=record.id,
                    amendment_id=amendment_id,
                    revision=revision,
                    received_at=now,
                    reason=amendment.reason,
                    notice=corrected,
                ),
                correlation_id=amendment.correlation_id,
                time=now,
            )
            session.add(
                NoticeRevision(
                    amendment_id=amendment_id,
                    notice_id=record.id,
                    revision=revision,
                    event_id=event.id,
                    body=corrected.model_dump_json(),
                    content_hash=content_hash(corrected),
                    reason=amendment.reason,
                    received_at=now,
                )
            )
            record.revision = revision
            record.content_hash = content_hash(corrected)
            session.add(record)
            add_to_outbox(session, topic=CUSTODY_EVENTS, event=event, clock=clock)
            entry = replace(
                amendment.audit_entry,
                resource_id=record.id,
                details={**amendment.audit_entry.details, "revision": revision, "amendment_id": amendment_id},
            )
            await audit.record(session, entry, now)
    except _Duplicate as duplicate:
        log.info("release_notice.amendment_duplicate", notice_id=amendment.notice_id)
        return duplicate.answer
    log.info("release_notice.amended", notice_id=amendment.notice_id, amendment_id=amendment_id, revision=revision)
    return _answer(202, amendment.notice_id, amendment_id, revision, "accepted")
