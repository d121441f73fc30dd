"""How handover tells the agencies: every message about a handover is staged here, in the transaction of the
change it reports, and nowhere else. A version is issued only by :func:`issue_version`; a withdrawal is told only
by :func:`tell_withdrawal`; every event goes through :func:`publish`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import BaseModel

from contracts.envelope import CloudEvent, EventType, new_event
from contracts.handover import (
    HANDOVER_PACK_AMENDED_SCHEMA,
    HANDOVER_PACK_ISSUED_SCHEMA,
    HANDOVER_PACK_WITHDRAWN_SCHEMA,
    AgencyKind,
    Change,
    DistributionEntry,
    HandoverPack,
    HandoverPackAmendedV1,
    HandoverPackIssuedV1,
    HandoverPackWithdrawnV1,
    Invalidation,
    MessageKind,
    ReferralKind,
    WithdrawalReason,
)
from services.common.topics import HANDOVER_EVENTS
from services.handover.adapters.tables import Handover, HandoverVersion, Referral
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.distribution import Recipient, entry
from services.handover.domain.referrals import ReferralStatus
from services.handover.usecases.fhir_entries import with_fhir
from services.handover.usecases.ports import HandoverUnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Stamp:
    """Who publishes, when, and in answer to what (the correlation id of the request or event)."""

    source: str
    now: datetime
    correlation_id: str | None


def publish(
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    *,
    type: EventType,
    schema: str,
    data: BaseModel,
    subject: str,
    topic: str = HANDOVER_EVENTS,
) -> CloudEvent:
    """Stage an event in the outbox (``handover.events.v1`` unless another topic is named)."""
    event = new_event(
        type=type,
        source=stamp.source,
        subject=subject,
        dataschema=schema,
        data=data,
        correlation_id=stamp.correlation_id,
        time=stamp.now,
    )
    uow.outbox.add(topic=topic, event=event)
    return event


def recipient_of(referral: Referral) -> Recipient:
    return Recipient(
        agency_code=referral.agency_code,
        agency_kind=AgencyKind(referral.agency_kind),
        agency_name=referral.agency_name,
        referral_kind=ReferralKind(referral.referral_kind),
        reason=referral.reason,
        referral_id=referral.id,
    )


def recipient_for(agency: AgencyRecord, kind: ReferralKind, reason: str) -> Recipient:
    """A new referral of ``kind`` to ``agency``, with its id."""
    return Recipient(agency.code, agency.kind, agency.name, kind, reason, str(uuid.uuid4()))


def new_referral(handover_id: str, recipient: Recipient, now: datetime) -> Referral:
    return Referral(
        id=recipient.referral_id or str(uuid.uuid4()),
        handover_id=handover_id,
        agency_code=recipient.agency_code,
        agency_kind=recipient.agency_kind.value,
        agency_name=recipient.agency_name,
        referral_kind=recipient.referral_kind.value,
        status=ReferralStatus.REQUESTED.value,
        reason=recipient.reason,
        sections="{}",
        created_at=now,
        updated_at=now,
    )


async def current_pack(uow: HandoverUnitOfWork, handover: Handover) -> HandoverPack:
    version = await uow.handovers.version(handover.id, handover.current_version)
    assert version is not None, "a handover always has its current version"
    return HandoverPack.model_validate_json(version.pack)


def record_sent(referral: Referral, sent: DistributionEntry, now: datetime) -> None:
    """The referral keeps the last entry its agency was sent (its worklist shows it)."""
    referral.sections, referral.updated_at = sent.model_dump_json(exclude_none=True), now


@dataclass(frozen=True)
class Outgoing:
    """One message of a version to one agency; ``referral`` records what it was sent (None: a message that is
    not about one referral)."""

    recipient: Recipient
    message: MessageKind
    referral: Referral | None
    note: str | None = None
    changes: tuple[Change, ...] = ()
    invalidated: tuple[Invalidation, ...] = ()
    pack: HandoverPack | None = None  # the version the agency had, for a withdrawal of its part


async def issue_version(
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    handover: Handover,
    *,
    version: int,
    pack: HandoverPack,
    outgoing: list[Outgoing],
    reason: str = "",
    changes: list[Change] | None = None,
) -> CloudEvent:
    """Issue ``version`` of the pack: each agency's entry (only its sections), the event (``pack.issued`` for
    version 1, ``pack.amended`` after), the immutable version row, and the handover's current version. The one
    place a version is issued, so that every path records and tells the same way."""
    now = stamp.now
    entries = [
        entry(
            item.message,
            handover_id=handover.id,
            version=version,
            recipient=item.recipient,
            pack=item.pack or pack,
            note=item.note,
            changes=item.changes,
            invalidated=item.invalidated,
        )
        for item in outgoing
    ]
    for item, sent in zip(outgoing, entries, strict=True):
        if item.referral is not None:
            record_sent(item.referral, sent, now)
    distribution = await with_fhir(uow, entries, at=now)
    data: BaseModel
    if version == 1:
        kind, schema = EventType.HANDOVER_PACK_ISSUED, HANDOVER_PACK_ISSUED_SCHEMA
        data = HandoverPackIssuedV1(
            handover_id=handover.id,
            version=1,
            notice_id=handover.notice_id,
            issued_at=now,
            pack=pack,
            distribution=distribution,
        )
    else:
        kind, schema = EventType.HANDOVER_PACK_AMENDED, HANDOVER_PACK_AMENDED_SCHEMA
        data = HandoverPackAmendedV1(
            handover_id=handover.id,
            version=version,
            notice_id=handover.notice_id,
            amended_at=now,
            reason=reason,
            changes=changes or [],
            pack=pack,
            distribution=distribution,
        )
    event = publish(uow, stamp, type=kind, schema=schema, data=data, subject=handover.prison_number)
    await uow.handovers.add_version(
        HandoverVersion(
            handover_id=handover.id, version=version, pack=pack.model_dump_json(), event_id=event.id, issued_at=now
        )
    )
    handover.current_version, handover.updated_at = version, now
    log.info(
        "handover.pack_issued" if version == 1 else "handover.pack_amended",
        handover_id=handover.id,
        version=version,
        event_id=event.id,
        told={sent.agency_code: sent.message for sent in entries},
        changed=[change.section for change in changes or []],
    )
    return event


async def tell_withdrawal(
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    handover: Handover,
    *,
    recipients: list[Recipient],
    reason_code: WithdrawalReason,
    reason: str,
) -> list[DistributionEntry]:
    """Tell each recipient that the current version is withdrawn from it (demographics and release only);
    returns what each was sent."""
    pack = await current_pack(uow, handover)
    entries = [
        entry(
            "withdrawn", handover_id=handover.id, version=handover.current_version, recipient=r, pack=pack, note=reason
        )
        for r in recipients
    ]
    data = HandoverPackWithdrawnV1(
        handover_id=handover.id,
        version=handover.current_version,
        notice_id=handover.notice_id,
        withdrawn_at=stamp.now,
        reason_code=reason_code,
        reason=reason,
        distribution=await with_fhir(uow, entries, at=stamp.now),
    )
    publish(
        uow,
        stamp,
        type=EventType.HANDOVER_PACK_WITHDRAWN,
        schema=HANDOVER_PACK_WITHDRAWN_SCHEMA,
        data=data,
        subject=handover.prison_number,
    )
    return entries
