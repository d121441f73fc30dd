"""Use cases of handover: open a handover from a release notice (once), read handovers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlmodel import col, select

from contracts.envelope import CloudEvent, EventType, new_event
from contracts.handover import HANDOVER_PACK_ISSUED_SCHEMA, HandoverPack, HandoverPackIssuedV1
from contracts.release_notice import ReleaseNoticeSubmittedV1
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_delivery
from services.common.outbox import add_to_outbox
from services.common.topics import HANDOVER_EVENTS
from services.handover.domain.pack import build_pack
from services.handover.models import Handover, HandoverVersion

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HandoverView:
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    pack: HandoverPack


async def open_handover(*, database: Database, event: CloudEvent, clock: Clock, source: str) -> bool:
    """Build and issue version 1 of the pack of a newly submitted notice. False when already applied."""
    submitted = ReleaseNoticeSubmittedV1.model_validate(event.data)
    now = clock.now()
    async with database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=now):
            log.info("handover.duplicate_event_skipped")
            return False
        existing = (await session.exec(select(Handover.id).where(Handover.notice_id == submitted.notice_id))).first()
        if existing:
            log.info("handover.already_open", handover_id=existing)
            return False
        notice = submitted.notice
        handover_id = str(uuid.uuid4())
        pack = build_pack(notice)
        issued = HandoverPackIssuedV1(
            handover_id=handover_id, version=1, notice_id=submitted.notice_id, issued_at=now, pack=pack
        )
        outgoing = new_event(
            type=EventType.HANDOVER_PACK_ISSUED,
            source=source,
            subject=notice.prison_number,
            dataschema=HANDOVER_PACK_ISSUED_SCHEMA,
            data=issued,
            correlation_id=event.correlationid,
            time=now,
        )
        session.add(
            Handover(
                id=handover_id,
                notice_id=submitted.notice_id,
                prison_number=notice.prison_number,
                establishment_code=notice.establishment_code,
                release_date=notice.release.date,
                current_version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            HandoverVersion(
                handover_id=handover_id, version=1, pack=pack.model_dump_json(), event_id=outgoing.id, issued_at=now
            )
        )
        add_to_outbox(session, topic=HANDOVER_EVENTS, event=outgoing, clock=clock)
    log.info("handover.pack_issued", handover_id=handover_id, version=1, issued_event_id=outgoing.id)
    return True


async def _view(database: Database, handover: Handover) -> HandoverView:
    async with database.session() as session:
        version = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert version is not None, "a handover always has its current version"
    return HandoverView(
        handover_id=handover.id,
        notice_id=handover.notice_id,
        version=version.version,
        issued_at=version.issued_at,
        pack=HandoverPack.model_validate_json(version.pack),
    )


async def get_handover(*, database: Database, handover_id: str) -> HandoverView | None:
    async with database.session() as session:
        handover = await session.get(Handover, handover_id)
    return None if handover is None else await _view(database, handover)


async def find_handovers(*, database: Database, notice_id: str) -> list[HandoverView]:
    async with database.session() as session:
        handovers = (
            await session.exec(select(Handover).where(Handover.notice_id == notice_id).order_by(col(Handover.created_at)))
        ).all()
    return [await _view(database, handover) for handover in handovers]
