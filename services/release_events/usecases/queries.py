"""Queries of release_events: where a notice is (to the end: its pack and each agency's delivery) and where a
custody event is. A read that discloses a notice is audited in the same unit of work as it is gathered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts.custody import CustodyEventV1
from services.common.audit import AuditEntry
from services.release_events.adapters.tables import NoticeDelivery, NoticeProgress
from services.release_events.domain.notices import NoticeNotFound, NoticeStage, stage_of
from services.release_events.usecases.ports import ReleaseEventsUnitOfWork
from services.release_events.usecases.record_custody_event import as_rule_input


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
    stage: NoticeStage
    received_at: datetime
    published_at: datetime | None
    revision: int = 1
    amendments: tuple[RevisionStatus, ...] = ()
    body: str = ""  # the current revision's whole notice (JSON), for the establishment's own correction form
    pack: NoticeProgress | None = None
    deliveries: tuple[NoticeDelivery, ...] = field(default=())


async def notice_status(
    *, uow: ReleaseEventsUnitOfWork, notice_id: str, may_read: Callable[[str], bool], audit_entry: AuditEntry
) -> NoticeStatus:
    """The notice, its corrections, pack and deliveries, for a caller that ``may_read`` its establishment's
    notices; raises :class:`NoticeNotFound` otherwise (the same answer as for no such notice)."""
    async with uow:
        notice = await uow.notices.get(notice_id)
        if notice is None or not may_read(notice.establishment_code):
            raise NoticeNotFound
        await uow.audit.record(replace(audit_entry, resource_id=notice_id))
        published_at = await uow.publications.published_at(notice.event_id)
        revisions = await uow.notices.revisions_of(notice_id)
        amendments = [
            RevisionStatus(
                row.amendment_id, row.revision, row.received_at, await uow.publications.published_at(row.event_id)
            )
            for row in revisions
        ]
        pack, deliveries = await _progress(uow, notice_id)
    current = next((row.body for row in revisions if row.revision == notice.revision), notice.body)
    return NoticeStatus(
        notice_id=notice.id,
        establishment_code=notice.establishment_code,
        stage=stage_of(pack_state=pack.state if pack else None, published=published_at is not None),
        received_at=notice.received_at,
        published_at=published_at,
        revision=notice.revision,
        amendments=tuple(amendments),
        body=current,
        pack=pack,
        deliveries=tuple(deliveries),
    )


async def _progress(uow: ReleaseEventsUnitOfWork, notice_id: str) -> tuple[NoticeProgress | None, list[NoticeDelivery]]:
    """The latest handover of the notice and the deliveries of that handover, by agency code."""
    pack = await uow.progress.latest_pack_of(notice_id)
    if pack is None:
        return None, []
    return pack, await uow.progress.deliveries_of(pack.handover_id)


async def notice_progress(
    *, uow: ReleaseEventsUnitOfWork, notice_id: str
) -> tuple[NoticeProgress | None, list[NoticeDelivery]]:
    async with uow:
        return await _progress(uow, notice_id)


@dataclass(frozen=True)
class CustodyEventStatus:
    custody_event_id: str
    sequence: int
    kind: str
    received_at: datetime
    published_at: datetime | None
    establishment_code: str
    reported_by: str

    @property
    def establishments(self) -> frozenset[str]:
        """Who may read it: where it happened and who reported it (a transfer's sender and receiver)."""
        return frozenset({self.establishment_code, self.reported_by})


class CustodyEventNotFound(Exception):
    """No such custody event, or not one the caller may see (the same answer for both)."""


async def custody_event_status(
    *,
    uow: ReleaseEventsUnitOfWork,
    custody_event_id: str,
    may_read: Callable[[frozenset[str]], bool],
    audit_entry: AuditEntry,
) -> CustodyEventStatus:
    """The event for a caller that ``may_read`` one of its establishments; raises :class:`CustodyEventNotFound`."""
    async with uow:
        row = await uow.custody_events.get(custody_event_id)
        if row is None:
            raise CustodyEventNotFound
        published_at = await uow.publications.published_at(row.event_id)
        reported_by = as_rule_input(CustodyEventV1.model_validate_json(row.body)).reporter
        found = CustodyEventStatus(
            row.id, row.sequence, row.kind, row.received_at, published_at, row.establishment_code, reported_by
        )
        if not may_read(found.establishments):
            raise CustodyEventNotFound
        await uow.audit.record(replace(audit_entry, resource_id=custody_event_id))
    return found
