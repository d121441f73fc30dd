"""Use case: correct an accepted notice without tearing the case down.

The corrected notice keeps the notice's id and gets the next revision (the original is revision 1); its
``release-notice.amended`` event lets handover amend the pack for the agencies whose sections changed rather
than withdraw and reissue it everywhere. Only the establishment that holds the person corrects, only the
person's latest notice, and only with the same person and establishment. The same correction twice (the
content of the current revision) publishes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from contracts.envelope import EventType, new_event
from contracts.release_notice import RELEASE_NOTICE_AMENDED_SCHEMA, ReleaseNoticeAmendedV1, ReleaseNoticeV1
from services.common.audit import AuditEntry
from services.common.topics import CUSTODY_EVENTS
from services.release_events.adapters.tables import NoticeRevision, ReleaseNoticeRecord
from services.release_events.domain.custody_rules import CustodyRefused, Refused, decide_amendment
from services.release_events.domain.notices import (
    NoticeNotFound,
    NotTheSameRelease,
    Superseded,
    changed_identity,
    content_hash,
    status_url,
)
from services.release_events.usecases.ports import ReleaseEventsUnitOfWork
from services.release_events.usecases.refusals import record_refusal

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Amendment:
    notice_id: str
    notice: ReleaseNoticeV1
    reason: str | None
    correlation_id: str
    audit_entry: AuditEntry


@dataclass(frozen=True)
class AmendAnswer:
    status_code: int
    body: dict[str, object]
    duplicate: bool = False


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
    uow: ReleaseEventsUnitOfWork,
    amendment: Amendment,
    amendment_id: str,
    may_see: Callable[[str], bool],
    now: datetime,
    source: str,
) -> AmendAnswer:
    """Store the correction and its event in one unit of work after the register's check.

    ``may_see(establishment_code)`` says whether the caller may see notices of that establishment. Raises
    :class:`NoticeNotFound`, :class:`NotTheSameRelease`, :class:`Superseded` or :class:`CustodyRefused` (audited)."""
    try:
        async with uow:
            record = await uow.notices.get(amendment.notice_id)
            if record is None or not may_see(record.establishment_code):
                raise NoticeNotFound
            mismatch = changed_identity(record.prison_number, record.establishment_code, amendment.notice)
            if mismatch is not None:
                raise NotTheSameRelease(mismatch)
            custody = await uow.register.lock(record.prison_number, now)
            await uow.notices.reload(record)
            decision = decide_amendment(custody, record.establishment_code)
            if isinstance(decision, Refused):
                raise CustodyRefused(decision)
            latest = await uow.notices.latest_of(record.prison_number)
            if latest is None or latest.id != record.id:
                raise Superseded
            if record.content_hash == content_hash(amendment.notice):
                return await _duplicate(uow, record)
            revision = _store(uow, record, amendment, amendment_id, now, source)
            entry = amendment.audit_entry
            details = {**entry.details, "revision": revision, "amendment_id": amendment_id}
            await uow.audit.record(replace(entry, resource_id=record.id, details=details))
    except CustodyRefused as refused:
        await record_refusal(
            uow=uow,
            entry=amendment.audit_entry,
            action="notice.amend_refused",
            details={"notice_id": amendment.notice_id},
            refused=refused.refused,
        )
        raise
    log.info("release_notice.amended", notice_id=amendment.notice_id, amendment_id=amendment_id, revision=revision)
    return _answer(202, amendment.notice_id, amendment_id, revision, "accepted")


async def _duplicate(uow: ReleaseEventsUnitOfWork, record: ReleaseNoticeRecord) -> AmendAnswer:
    """The current revision's content again: its answer, nothing stored."""
    current = next(
        (row.amendment_id for row in await uow.notices.revisions_of(record.id) if row.revision == record.revision),
        None,
    )
    log.info("release_notice.amendment_duplicate", notice_id=record.id)
    return _answer(200, record.id, current, record.revision, "duplicate")


def _store(
    uow: ReleaseEventsUnitOfWork,
    record: ReleaseNoticeRecord,
    amendment: Amendment,
    amendment_id: str,
    now: datetime,
    source: str,
) -> int:
    """Add the next revision, its event and the notice's new current revision; answer the revision number."""
    corrected, revision = amendment.notice, record.revision + 1
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
    uow.notices.add_revision(
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
    uow.notices.add(record)
    uow.outbox.add(topic=CUSTODY_EVENTS, event=event)
    return revision
