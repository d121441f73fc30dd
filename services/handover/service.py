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

from contracts.custody import CustodyEventRecordedV1
from contracts.envelope import CloudEvent, EventType
from contracts.handover import (
    HANDOVER_PACK_AMENDED_SCHEMA,
    HANDOVER_PACK_ISSUED_SCHEMA,
    HANDOVER_PACK_WITHDRAWN_SCHEMA,
    AgencyKind,
    HandoverPack,
    HandoverPackAmendedV1,
    HandoverPackIssuedV1,
    HandoverPackWithdrawnV1,
    ReferralKind,
    WithdrawalReason,
)
from contracts.release_notice import ReleaseNoticeSubmittedV1, ReleaseNoticeV1, ReportingInstructions
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_delivery
from services.handover.directory import active_agencies
from services.handover.domain.changes import pack_changes
from services.handover.domain.custody import Action, Decision, OpenHandover, Outcome, decide
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.distribution import Recipient, distribution_list, entry
from services.handover.domain.pack import build_pack
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.domain.routing import Routed, RoutingPlan, prison_healthcare_of, route
from services.handover.messages import publish
from services.handover.models import CustodyEventRecord, Handover, HandoverVersion, Person, Referral

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
        if (
            referral.status in OPEN
            and agency is not None
            and referral.referral_kind != ReferralKind.NOTIFICATION
        ):
            routed.append(Routed(ReferralKind(referral.referral_kind), agency, referral.reason))
    kinds = {item.kind for item in routed}
    routed += [item for item in fresh.routed if item.kind not in kinds]
    unrouted = tuple(item for item in fresh.unrouted if item.kind not in kinds)
    return RoutingPlan(area=fresh.area, routed=tuple(routed), unrouted=unrouted)


# --- opening a handover ------------------------------------------------------------------------------------


async def open_handover(*, ctx: Context, event: CloudEvent) -> bool:
    """Build, route and issue version 1 of the pack of a newly submitted notice. False when already applied.
    An open handover of the same person is withdrawn first (superseded by the new notice)."""
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
                select(Handover).where(
                    Handover.prison_number == notice.prison_number, Handover.state == "open"
                )
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
        handover_id = str(uuid.uuid4())
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
        entries = [
            entry(
                "issued",
                handover_id=handover_id,
                version=1,
                recipient=r,
                pack=pack,
                note=note if r.referral_kind == ReferralKind.NOTIFICATION else None,
            )
            for r in recipients
        ]
        session.add(
            Handover(
                id=handover_id,
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
        )
        await session.flush()
        for recipient, sent in zip(recipients, entries, strict=True):
            referral = new_referral(handover_id, recipient, now)
            referral.sections = sent.model_dump_json(exclude_none=True)
            session.add(referral)
        outgoing = publish(
            session,
            type=EventType.HANDOVER_PACK_ISSUED,
            schema=HANDOVER_PACK_ISSUED_SCHEMA,
            data=HandoverPackIssuedV1(
                handover_id=handover_id,
                version=1,
                notice_id=submitted.notice_id,
                issued_at=now,
                pack=pack,
                distribution=entries,
            ),
            subject=notice.prison_number,
            source=ctx.source,
            correlation_id=event.correlationid,
            clock=ctx.clock,
        )
        session.add(
            HandoverVersion(
                handover_id=handover_id,
                version=1,
                pack=pack.model_dump_json(),
                event_id=outgoing.id,
                issued_at=now,
            )
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
    log.info(
        "handover.pack_issued",
        handover_id=handover_id,
        version=1,
        issued_event_id=outgoing.id,
        recipients=[r.agency_code for r in recipients],
    )
    return True


# --- amending and withdrawing ----------------------------------------------------------------------------


async def amend(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    notice: ReleaseNoticeV1,
    reason: str,
    correlation_id: str | None,
) -> int:
    """Issue the next version of the pack from ``notice``; every agency with a live referral is told what
    changed (only in the sections it receives). Returns the new version."""
    now = ctx.clock.now()
    directory = await active_agencies(database=ctx.database)
    referrals = await referrals_of(session, handover.id)
    confirmed = confirmed_reporting(referrals)
    if confirmed is not None:
        notice = notice.model_copy(update={"reporting_instructions": confirmed})
    reporting = notice.reporting_instructions
    if reporting is not None and reporting.report_at.date() < notice.release.date:
        notice = notice.model_copy(update={"reporting_instructions": None})  # stale: probation re-confirms
    previous = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert previous is not None
    old_pack = HandoverPack.model_validate_json(previous.pack)
    plan = plan_from_referrals(notice, directory, referrals)
    live = [r for r in referrals if r.status in OPEN]
    recipients = [recipient_of(r) for r in live]
    draft = build_pack(notice, plan, registration_days=ctx.registration_days)
    pack = draft.model_copy(update={"distribution_list": distribution_list(recipients, draft)})
    changes = pack_changes(old_pack, pack)
    version = handover.current_version + 1
    entries = [
        entry(
            "amended",
            handover_id=handover.id,
            version=version,
            recipient=r,
            pack=pack,
            note=reason,
            changes=changes,
        )
        for r in recipients
    ]
    for referral, sent in zip(live, entries, strict=True):
        referral.sections, referral.updated_at = sent.model_dump_json(exclude_none=True), now
        session.add(referral)
    outgoing = publish(
        session,
        type=EventType.HANDOVER_PACK_AMENDED,
        schema=HANDOVER_PACK_AMENDED_SCHEMA,
        data=HandoverPackAmendedV1(
            handover_id=handover.id,
            version=version,
            notice_id=handover.notice_id,
            amended_at=now,
            reason=reason,
            changes=changes,
            pack=pack,
            distribution=entries,
        ),
        subject=handover.prison_number,
        source=ctx.source,
        correlation_id=correlation_id,
        clock=ctx.clock,
    )
    session.add(
        HandoverVersion(
            handover_id=handover.id,
            version=version,
            pack=pack.model_dump_json(),
            event_id=outgoing.id,
            issued_at=now,
        )
    )
    handover.current_version, handover.updated_at = version, now
    handover.release_date, handover.establishment_code = notice.release.date, notice.establishment_code
    handover.notice = notice.model_dump_json()
    session.add(handover)
    log.info(
        "handover.pack_amended",
        handover_id=handover.id,
        version=version,
        changed=[change.section for change in changes],
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
            distribution=entries,
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


# --- custody events ----------------------------------------------------------------------------------------


async def apply_custody_event(*, ctx: Context, event: CloudEvent) -> bool:
    """Apply a custody event once and in the person's sequence; older ones are recorded and ignored."""
    recorded = CustodyEventRecordedV1.model_validate(event.data)
    custody = recorded.event
    now = ctx.clock.now()
    async with ctx.database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=now):
            return False
        person = await session.get(Person, custody.prison_number)
        if person is None:
            person = Person(prison_number=custody.prison_number, updated_at=now)
        handover = (
            await session.exec(
                select(Handover)
                .where(Handover.prison_number == custody.prison_number, Handover.state == "open")
                .order_by(col(Handover.created_at).desc())
                .with_for_update()  # answers to its referrals wait until this event is applied
            )
        ).first()
        open_state = (
            None if handover is None else OpenHandover(handover.release_date, handover.establishment_code)
        )
        decision = decide(custody, last_sequence=person.last_sequence, handover=open_state)
        session.add(
            CustodyEventRecord(
                event_id=event.id,
                custody_event_id=recorded.custody_event_id,
                prison_number=custody.prison_number,
                sequence=custody.sequence,
                kind=custody.kind.value,
                outcome=decision.outcome.value,
                action=decision.action.value,
                detail=decision.detail,
                handover_id=handover.id if handover else None,
                occurred_at=custody.occurred_at,
                recorded_at=now,
            )
        )
        if decision.outcome == Outcome.APPLIED:
            person.last_sequence, person.establishment_code, person.updated_at = (
                custody.sequence,
                custody.establishment_code,
                now,
            )
            if handover is not None:
                await _carry_out(session, ctx, handover, decision, recorded, event.correlationid)
        session.add(person)
    log.info(
        "custody_event.recorded",
        kind=custody.kind.value,
        sequence=custody.sequence,
        outcome=decision.outcome.value,
        action=decision.action.value,
    )
    return decision.action != Action.NONE


async def _carry_out(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    decision: Decision,
    recorded: CustodyEventRecordedV1,
    correlation_id: str | None,
) -> None:
    custody = recorded.event
    notice = ReleaseNoticeV1.model_validate_json(handover.notice)
    if decision.action == Action.AMEND_RELEASE_DATE:
        assert custody.release_date is not None
        changed = notice.model_copy(
            update={"release": notice.release.model_copy(update={"date": custody.release_date})}
        )
        await amend(session, ctx, handover, changed, decision.detail, correlation_id)
    elif decision.action == Action.MOVE_ESTABLISHMENT:
        update: dict[str, object] = {"establishment_code": custody.establishment_code}
        if custody.prison_contact is not None:
            update["prison_contact"] = custody.prison_contact
        await amend(session, ctx, handover, notice.model_copy(update=update), decision.detail, correlation_id)
    elif decision.action == Action.WITHDRAW:
        await withdraw(
            session,
            ctx,
            handover,
            WithdrawalReason.RELEASE_CANCELLED,
            decision.detail,
            "withdrawn",
            correlation_id,
        )
    elif decision.action == Action.CLOSE_RECALLED:
        await withdraw(
            session, ctx, handover, WithdrawalReason.RECALLED, decision.detail, "closed", correlation_id
        )
    elif decision.action == Action.MARK_RELEASED:
        handover.state, handover.state_reason, handover.updated_at = (
            "released",
            decision.detail,
            ctx.clock.now(),
        )
        session.add(handover)


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
