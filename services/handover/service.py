"""Use cases of handover: open a handover from a release notice (once), follow it through custody events
(amend, withdraw, close), and read it. Decisions are the pure rules of :mod:`services.handover.domain`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import CloudEvent, EventType
from contracts.handover import (
    HANDOVER_PACK_AMENDED_SCHEMA,
    HANDOVER_PACK_ISSUED_SCHEMA,
    HANDOVER_PACK_WITHDRAWN_SCHEMA,
    AgencyKind,
    Change,
    HandoverPack,
    HandoverPackAmendedV1,
    HandoverPackIssuedV1,
    HandoverPackWithdrawnV1,
    Invalidation,
    MessageKind,
    ReferralKind,
    WithdrawalReason,
)
from contracts.release_notice import ReleaseNoticeSubmittedV1, ReleaseNoticeV1, ReportingInstructions
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_delivery
from services.handover.adapters.outcome_repository import joined
from services.handover.directory import active_agencies
from services.handover.domain.changes import pack_changes
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.distribution import Recipient, changes_for, distribution_list, entry
from services.handover.domain.invalidation import AnsweredReferral, ReleaseChange, invalidation
from services.handover.domain.outcomes import Ending
from services.handover.domain.pack import build_pack
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.domain.routing import (
    Routed,
    RoutingPlan,
    area_of,
    moved_out_of_area,
    prison_healthcare_of,
    route,
)
from services.handover.fhir_webhooks import with_fhir
from services.handover.messages import publish
from services.handover.models import CustodyEventRecord, Handover, HandoverVersion, Person, Referral
from services.handover.usecases.outcomes import keep_outcome

log = structlog.get_logger(__name__)

NOTIFY_PRISON_ALERTS = {"mental_health_referral_withheld", "no_agency_covers", "registered_gp_unreachable"}


@dataclass(frozen=True)
class Context:
    """What every use case needs besides its input."""

    database: Database
    clock: Clock
    source: str
    registration_days: int = 3


@dataclass(frozen=True)
class HandoverView:
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    pack: HandoverPack
    state: str
    state_reason: str | None
    referrals: list[Referral]
    notice: ReleaseNoticeV1


# --- helpers ---------------------------------------------------------------------------------------------


def recipient_of(referral: Referral) -> Recipient:
    return Recipient(
        agency_code=referral.agency_code,
        agency_kind=AgencyKind(referral.agency_kind),
        agency_name=referral.agency_name,
        referral_kind=ReferralKind(referral.referral_kind),
        reason=referral.reason,
        referral_id=referral.id,
    )


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


def _recipient(agency: AgencyRecord, kind: ReferralKind, reason: str) -> Recipient:
    return Recipient(
        agency_code=agency.code,
        agency_kind=agency.kind,
        agency_name=agency.name,
        referral_kind=kind,
        reason=reason,
        referral_id=str(uuid.uuid4()),
    )


async def referrals_of(session: AsyncSession, handover_id: str) -> list[Referral]:
    return list(
        (
            await session.exec(
                select(Referral)
                .where(Referral.handover_id == handover_id)
                .order_by(col(Referral.created_at), col(Referral.id))
            )
        ).all()
    )


def confirmed_reporting(referrals: list[Referral]) -> ReportingInstructions | None:
    for referral in referrals:
        if (
            referral.referral_kind == ReferralKind.REPORTING_INSTRUCTIONS
            and referral.reporting
            and referral.status == ReferralStatus.ACCEPTED
        ):
            return ReportingInstructions.model_validate_json(referral.reporting)
    return None


def plan_from_referrals(
    notice: ReleaseNoticeV1, directory: list[AgencyRecord], referrals: list[Referral]
) -> RoutingPlan:
    """The routing as it stands: live referrals keep their agency; kinds without one are routed afresh."""
    fresh = route(notice, directory)
    by_code = {agency.code: agency for agency in directory}
    routed: list[Routed] = []
    for referral in referrals:
        agency = by_code.get(referral.agency_code)
        if referral.status in OPEN and agency is not None and referral.referral_kind != ReferralKind.NOTIFICATION:
            routed.append(Routed(ReferralKind(referral.referral_kind), agency, referral.reason))
    kinds = {item.kind for item in routed}
    routed += [item for item in fresh.routed if item.kind not in kinds]
    unrouted = tuple(item for item in fresh.unrouted if item.kind not in kinds)
    return RoutingPlan(area=fresh.area, routed=tuple(routed), unrouted=unrouted)


# --- issuing a version -----------------------------------------------------------------------------------


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
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    *,
    version: int,
    pack: HandoverPack,
    outgoing: list[Outgoing],
    correlation_id: str | None,
    reason: str = "",
    changes: list[Change] | None = None,
) -> CloudEvent:
    """Issue ``version`` of the pack: each agency's entry (only its sections), the event (``pack.issued`` for
    version 1, ``pack.amended`` after), the immutable version row, and the handover's current version. The one
    place a version is issued, so that every path records and tells the same way."""
    now = ctx.clock.now()
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
            item.referral.sections, item.referral.updated_at = sent.model_dump_json(exclude_none=True), now
            session.add(item.referral)
    if version == 1:
        event = publish(
            session,
            type=EventType.HANDOVER_PACK_ISSUED,
            schema=HANDOVER_PACK_ISSUED_SCHEMA,
            data=HandoverPackIssuedV1(
                handover_id=handover.id,
                version=1,
                notice_id=handover.notice_id,
                issued_at=now,
                pack=pack,
                distribution=await with_fhir(session, entries, at=now),
            ),
            subject=handover.prison_number,
            source=ctx.source,
            correlation_id=correlation_id,
            clock=ctx.clock,
        )
    else:
        event = publish(
            session,
            type=EventType.HANDOVER_PACK_AMENDED,
            schema=HANDOVER_PACK_AMENDED_SCHEMA,
            data=HandoverPackAmendedV1(
                handover_id=handover.id,
                version=version,
                notice_id=handover.notice_id,
                amended_at=now,
                reason=reason,
                changes=changes or [],
                pack=pack,
                distribution=await with_fhir(session, entries, at=now),
            ),
            subject=handover.prison_number,
            source=ctx.source,
            correlation_id=correlation_id,
            clock=ctx.clock,
        )
    session.add(
        HandoverVersion(
            handover_id=handover.id, version=version, pack=pack.model_dump_json(), event_id=event.id, issued_at=now
        )
    )
    handover.current_version, handover.updated_at = version, now
    session.add(handover)
    log.info(
        "handover.pack_issued" if version == 1 else "handover.pack_amended",
        handover_id=handover.id,
        version=version,
        event_id=event.id,
        told={entry.agency_code: entry.message for entry in entries},
        changed=[change.section for change in changes or []],
    )
    return event


# --- opening a handover ------------------------------------------------------------------------------------


async def open_handover(*, ctx: Context, event: CloudEvent) -> bool:
    """Build, route and issue version 1 of the pack of a newly submitted notice. False when already applied.
    An open handover of the same person is withdrawn first (superseded by the new notice). Custody events held
    for the person (they arrived before the notice) are then applied in sequence order, in the same transaction,
    so that agencies end as if the notice had come first."""
    from services.handover.custody_events import apply_held  # the custody use cases build on this module

    submitted = ReleaseNoticeSubmittedV1.model_validate(event.data)
    notice = submitted.notice
    now = ctx.clock.now()
    directory = await active_agencies(database=ctx.database)
    async with ctx.database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=now):
            log.info("handover.duplicate_event_skipped")
            return False
        if (await session.exec(select(Handover.id).where(Handover.notice_id == submitted.notice_id))).first():
            return False
        for previous in (
            await session.exec(
                select(Handover).where(Handover.prison_number == notice.prison_number, Handover.state == "open")
            )
        ).all():
            await withdraw(
                session,
                ctx,
                previous,
                WithdrawalReason.SUPERSEDED,
                f"superseded by release notice {submitted.notice_id}",
                "withdrawn",
                event.correlationid,
            )
        plan = route(notice, directory)
        recipients = [_recipient(item.agency, item.kind, item.reason) for item in plan.routed]
        draft = build_pack(notice, plan, registration_days=ctx.registration_days)
        prison = prison_healthcare_of(notice.establishment_code, directory)
        alerts = [alert for alert in draft.safety_alerts if alert.code in NOTIFY_PRISON_ALERTS]
        note = None
        if alerts and prison is not None:
            note = "Action needed: " + " ".join(alert.detail for alert in alerts)
            recipients.append(
                _recipient(
                    prison,
                    ReferralKind.NOTIFICATION,
                    f"prison healthcare of {notice.establishment_code}: {alerts[0].code}",
                )
            )
        pack = draft.model_copy(update={"distribution_list": distribution_list(recipients, draft)})
        handover = Handover(
            id=str(uuid.uuid4()),
            notice_id=submitted.notice_id,
            prison_number=notice.prison_number,
            establishment_code=notice.establishment_code,
            release_date=notice.release.date,
            current_version=1,
            state="open",
            notice=notice.model_dump_json(),
            created_at=now,
            updated_at=now,
        )
        session.add(handover)
        await session.flush()
        outgoing = []
        for recipient in recipients:
            referral = new_referral(handover.id, recipient, now)
            session.add(referral)
            told = note if recipient.referral_kind == ReferralKind.NOTIFICATION else None
            outgoing.append(Outgoing(recipient, "issued", referral, note=told))
        await session.flush()
        await issue_version(
            session, ctx, handover, version=1, pack=pack, outgoing=outgoing, correlation_id=event.correlationid
        )
        person = await session.get(Person, notice.prison_number)
        if person is None:
            session.add(
                Person(
                    prison_number=notice.prison_number,
                    establishment_code=notice.establishment_code,
                    updated_at=now,
                )
            )
        await apply_held(session, ctx, handover, event.correlationid)
    return True


# --- amending and withdrawing ----------------------------------------------------------------------------


def with_confirmed_reporting(notice: ReleaseNoticeV1, referrals: list[Referral]) -> ReleaseNoticeV1:
    """The notice with probation's confirmed reporting instructions in place of the prison's draft."""
    confirmed = confirmed_reporting(referrals)
    return notice if confirmed is None else notice.model_copy(update={"reporting_instructions": confirmed})


def _effective(notice: ReleaseNoticeV1, referrals: list[Referral]) -> ReleaseNoticeV1:
    """What the pack says: probation's confirmed reporting instructions over the prison's draft; none that
    are before the release date (probation is asked to confirm again, by name, not silently)."""
    effective = with_confirmed_reporting(notice, referrals)
    reporting = effective.reporting_instructions
    if reporting is not None and reporting.report_at.date() < effective.release.date:
        return effective.model_copy(update={"reporting_instructions": None})
    return effective


async def amend(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    notice: ReleaseNoticeV1,
    reason: str,
    correlation_id: str | None,
    *,
    reporting_corrected: bool = False,
) -> int | None:
    """Issue the next version of the pack from ``notice`` (the notice as it now stands).

    Only agencies whose part of the pack changed are told, each only of its changes. An answer the change no
    longer fits (``domain/invalidation.py``) is named in that agency's entry and its referral awaits a new
    answer; other answers and appointments are kept. A referral whose agency no longer covers the release area
    is withdrawn from it and sent to the agency that does. None when nothing changed for anyone."""
    now = ctx.clock.now()
    directory = await active_agencies(database=ctx.database)
    by_code = {agency.code: agency for agency in directory}
    referrals = await referrals_of(session, handover.id)
    before = ReleaseNoticeV1.model_validate_json(handover.notice)
    change = ReleaseChange(before.release.date, notice.release.date, reporting_corrected)
    invalidated: dict[str, Invalidation] = {}
    for referral in referrals:
        if referral.status not in OPEN or referral.referral_kind == ReferralKind.NOTIFICATION:
            continue
        answered = AnsweredReferral(
            ReferralKind(referral.referral_kind),
            ReferralStatus(referral.status),
            referral.first_appointment_at,
            referral.report_at,
        )
        found = invalidation(answered, change)
        if found is not None:
            referral.status, referral.invalidated_reason, referral.updated_at = (
                ReferralStatus.REQUESTED.value,
                found.reason,
                now,
            )
            invalidated[referral.id] = found
    outgoing: list[Outgoing] = []
    previous = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert previous is not None
    old_pack = HandoverPack.model_validate_json(previous.pack)
    fresh = route(notice, directory)
    if area_of(before, directory) != fresh.area:
        for referral in referrals:
            if referral.status not in OPEN or referral.referral_kind == ReferralKind.NOTIFICATION:
                continue
            kind = ReferralKind(referral.referral_kind)
            if moved_out_of_area(by_code.get(referral.agency_code), fresh.area, fresh.agency_for(kind)):
                referral.status, referral.updated_at = ReferralStatus.CANCELLED.value, now
                referral.reason_text = f"the release address moved out of the area of {referral.agency_code}"
                outgoing.append(
                    Outgoing(
                        recipient_of(referral),
                        "withdrawn",
                        referral,
                        note=f"{reason}: the release address is no longer in your area; this referral is "
                        "withdrawn from you and sent to the agency covering the new address",
                        pack=old_pack,  # never the new address: it is no longer theirs to know
                    )
                )
                invalidated.pop(referral.id, None)
    effective = _effective(notice, referrals)
    plan = plan_from_referrals(effective, directory, referrals)
    live = [r for r in referrals if r.status in OPEN]
    kinds = {r.referral_kind for r in live}
    moved = {o.recipient.referral_kind for o in outgoing}
    sent_afresh: set[str] = set()
    for routed in plan.routed:
        if routed.kind.value not in kinds and routed.kind in moved:
            referral = new_referral(
                handover.id, _recipient(routed.agency, routed.kind, f"{reason}; {routed.reason}"), now
            )
            session.add(referral)
            live.append(referral)
            sent_afresh.add(referral.id)
    await session.flush()
    recipients = [recipient_of(r) for r in live]
    draft = build_pack(effective, plan, registration_days=ctx.registration_days)
    pack = draft.model_copy(update={"distribution_list": distribution_list(recipients, draft)})
    changes = pack_changes(old_pack, pack)
    if not changes and not outgoing and not invalidated:
        log.info("handover.amendment_changes_nothing", handover_id=handover.id)
        handover.notice, handover.updated_at = notice.model_dump_json(), now
        session.add(handover)
        return None
    for referral, recipient in zip(live, recipients, strict=True):
        if referral.id in sent_afresh:
            outgoing.append(Outgoing(recipient, "issued", referral, note=reason))
            continue
        mine = changes_for(recipient.agency_kind, old_pack, pack)
        asked_again = invalidated.get(referral.id)
        if mine or asked_again:
            outgoing.append(
                Outgoing(
                    recipient,
                    "amended",
                    referral,
                    note=reason,
                    changes=tuple(mine),
                    invalidated=(asked_again,) if asked_again else (),
                )
            )
    version = handover.current_version + 1
    handover.release_date, handover.establishment_code = notice.release.date, notice.establishment_code
    handover.notice = notice.model_dump_json()
    await issue_version(
        session,
        ctx,
        handover,
        version=version,
        pack=pack,
        outgoing=outgoing,
        correlation_id=correlation_id,
        reason=reason,
        changes=changes,
    )
    return version


async def withdraw(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    reason_code: WithdrawalReason,
    reason: str,
    state: str,
    correlation_id: str | None,
) -> None:
    """Withdraw the pack: every agency that has it (the prison included) is told; live referrals are
    cancelled."""
    now = ctx.clock.now()
    await keep_outcome(uow=joined(session, ctx), handover_id=handover.id, ending=Ending(reason_code.value), now=now)
    referrals = [r for r in await referrals_of(session, handover.id) if r.status in OPEN]
    version = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert version is not None
    pack = HandoverPack.model_validate_json(version.pack)
    entries = [
        entry(
            "withdrawn",
            handover_id=handover.id,
            version=handover.current_version,
            recipient=recipient_of(r),
            pack=pack,
            note=reason,
        )
        for r in referrals
    ]
    for referral in referrals:
        referral.status, referral.reason_text, referral.updated_at = (
            ReferralStatus.CANCELLED.value,
            reason,
            now,
        )
        session.add(referral)
    publish(
        session,
        type=EventType.HANDOVER_PACK_WITHDRAWN,
        schema=HANDOVER_PACK_WITHDRAWN_SCHEMA,
        data=HandoverPackWithdrawnV1(
            handover_id=handover.id,
            version=handover.current_version,
            notice_id=handover.notice_id,
            withdrawn_at=now,
            reason_code=reason_code,
            reason=reason,
            distribution=await with_fhir(session, entries, at=now),
        ),
        subject=handover.prison_number,
        source=ctx.source,
        correlation_id=correlation_id,
        clock=ctx.clock,
    )
    handover.state, handover.state_reason, handover.updated_at = state, reason[:500], now
    session.add(handover)
    log.info(
        "handover.withdrawn",
        handover_id=handover.id,
        reason_code=reason_code.value,
        told=[r.agency_code for r in referrals],
    )


# --- reading -------------------------------------------------------------------------------------------


async def _view(session: AsyncSession, handover: Handover) -> HandoverView:
    version = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert version is not None, "a handover always has its current version"
    return HandoverView(
        handover_id=handover.id,
        notice_id=handover.notice_id,
        version=version.version,
        issued_at=version.issued_at,
        pack=HandoverPack.model_validate_json(version.pack),
        state=handover.state,
        state_reason=handover.state_reason,
        referrals=await referrals_of(session, handover.id),
        notice=ReleaseNoticeV1.model_validate_json(handover.notice),
    )


async def get_handover(*, database: Database, handover_id: str) -> HandoverView | None:
    async with database.session() as session:
        handover = await session.get(Handover, handover_id)
        return None if handover is None else await _view(session, handover)


async def find_handovers(*, database: Database, notice_id: str) -> list[HandoverView]:
    async with database.session() as session:
        handovers = (
            await session.exec(
                select(Handover).where(Handover.notice_id == notice_id).order_by(col(Handover.created_at))
            )
        ).all()
        return [await _view(session, handover) for handover in handovers]


async def custody_log(*, database: Database, prison_number: str) -> list[CustodyEventRecord]:
    async with database.session() as session:
        return list(
            (
                await session.exec(
                    select(CustodyEventRecord)
                    .where(CustodyEventRecord.prison_number == prison_number)
                    .order_by(col(CustodyEventRecord.recorded_at))
                )
            ).all()
        )


def sections_json(referral: Referral) -> dict[str, object]:
    return json.loads(referral.sections) if referral.sections else {}  # type: ignore[no-any-return]


async def establishments_of(*, database: Database, prison_number: str) -> set[str]:
    """The establishments a person's handovers were at: who may read the person's custody log."""
    async with database.session() as session:
        rows = await session.exec(select(Handover.establishment_code).where(Handover.prison_number == prison_number))
        return set(rows.all())
