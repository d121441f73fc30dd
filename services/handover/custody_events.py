"""Use case: apply custody events to a person's case in their sequence order, whatever the arrival order.

Every event is written to the custody-event log with its content and what became of it; the decision is the
pure rule of ``domain/custody.py`` over what the log already says about the person. Held events (they came
before the notice) are applied by ``apply_held`` when the notice opens the case.
"""

from __future__ import annotations

import uuid

import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.custody import CustodyEventKind, CustodyEventRecordedV1, CustodyEventV1
from contracts.envelope import CloudEvent, EventType
from contracts.handover import (
    HANDOVER_PACK_WITHDRAWN_SCHEMA,
    HandoverPack,
    HandoverPackWithdrawnV1,
    ReferralKind,
    WithdrawalReason,
)
from contracts.release_notice import ReleaseNoticeV1
from services.common.inbox import first_delivery
from services.handover.adapters.outcome_repository import joined
from services.handover.directory import active_agencies
from services.handover.domain.custody import (
    Action,
    Applied,
    Decision,
    Ended,
    History,
    OpenHandover,
    Outcome,
    decide,
    decides,
    reclassified,
)
from services.handover.domain.distribution import Recipient, entry
from services.handover.domain.outcomes import Ending
from services.handover.domain.referrals import ReferralStatus
from services.handover.domain.routing import prison_healthcare_of
from services.handover.fhir_webhooks import with_fhir
from services.handover.messages import publish
from services.handover.models import CustodyEventRecord, Handover, HandoverVersion, Person
from services.handover.service import Context, amend, new_referral, withdraw
from services.handover.usecases.outcomes import keep_outcome

log = structlog.get_logger(__name__)

ENDING_ACTIONS = {Action.WITHDRAW.value, Action.CLOSE_RECALLED.value, Action.MARK_RELEASED.value}


async def apply_custody_event(*, ctx: Context, event: CloudEvent) -> bool:
    """Decide a custody event in the person's sequence and carry it out; True when something was published."""
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
                .where(Handover.prison_number == custody.prison_number)
                .order_by(col(Handover.created_at).desc())
                .with_for_update()  # answers to its referrals wait until this event is applied
            )
        ).first()
        history = await _history(session, custody.prison_number, handover)
        decision = decide(custody, history)
        row = CustodyEventRecord(
            event_id=event.id,
            custody_event_id=recorded.custody_event_id,
            prison_number=custody.prison_number,
            sequence=custody.sequence,
            kind=custody.kind.value,
            outcome=decision.outcome.value,
            action=decision.action.value,
            detail=decision.detail[:1000],
            handover_id=handover.id if handover is not None and decision.outcome != Outcome.HELD else None,
            event=custody.model_dump_json(),
            occurred_at=custody.occurred_at,
            recorded_at=now,
        )
        session.add(row)
        published = False
        if decision.outcome == Outcome.APPLIED:
            if person.last_sequence is None or custody.sequence > person.last_sequence:
                person.last_sequence, person.establishment_code = custody.sequence, custody.establishment_code
            person.updated_at = now
            if handover is not None and handover.state == "open":
                published = await _carry_out(session, ctx, handover, decision, custody, event.correlationid)
        elif decision.outcome == Outcome.NEEDS_NEW_NOTICE and handover is not None:
            await _ask_for_new_notice(session, ctx, handover, [row], event.correlationid)
            published = True
        session.add(person)
    log.info(
        "custody_event.recorded",
        kind=custody.kind.value,
        sequence=custody.sequence,
        outcome=decision.outcome.value,
        action=decision.action.value,
    )
    return published


async def apply_held(session: AsyncSession, ctx: Context, handover: Handover, correlation_id: str | None) -> None:
    """Apply, in sequence order, the person's events held for want of an open case (inside the transaction
    that opened ``handover``): each is decided as if it had arrived just after the notice."""
    held = (
        await session.exec(
            select(CustodyEventRecord)
            .where(
                CustodyEventRecord.prison_number == handover.prison_number,
                CustodyEventRecord.outcome == Outcome.HELD.value,
            )
            .order_by(col(CustodyEventRecord.sequence))
        )
    ).all()
    for row in held:
        if row.event is None:
            continue
        custody = CustodyEventV1.model_validate_json(row.event)
        history = await _history(session, handover.prison_number, handover, without=row.event_id)
        decision = decide(custody, history)
        row.outcome, row.action, row.handover_id = decision.outcome.value, decision.action.value, handover.id
        row.detail = f"held until notice {handover.notice_id} opened the case; then {decision.detail}"[:1000]
        session.add(row)
        if decision.outcome == Outcome.APPLIED and handover.state == "open":
            await _carry_out(session, ctx, handover, decision, custody, correlation_id)
        log.info("custody_event.held_applied", sequence=custody.sequence, outcome=decision.outcome.value)


async def _history(
    session: AsyncSession, prison_number: str, handover: Handover | None, without: str | None = None
) -> History:
    rows = [
        row
        for row in (
            await session.exec(select(CustodyEventRecord).where(CustodyEventRecord.prison_number == prison_number))
        ).all()
        if row.event_id != without
    ]
    seen = frozenset(row.sequence for row in rows if row.outcome != Outcome.DUPLICATE.value)
    if handover is None:
        return History(seen=seen)
    mine = [row for row in rows if row.handover_id == handover.id and row.outcome == Outcome.APPLIED.value]
    earlier = [row.sequence for row in rows if row.handover_id is not None and row.handover_id != handover.id]
    if handover.state == "open":
        applied = tuple(
            Applied(row.sequence, decides(CustodyEventV1.model_validate_json(row.event)) if row.event else None)
            for row in mine
        )
        return History(
            seen=seen,
            handover=OpenHandover(handover.release_date, handover.establishment_code),
            applied=applied,
            earlier_case_until=max(earlier, default=None),
        )
    ending = [row for row in mine if row.action in ENDING_ACTIONS]
    ended_by = max(ending, key=lambda row: row.sequence) if ending else None
    return History(
        seen=seen,
        ended=Ended(
            state=handover.state,
            sequence=ended_by.sequence if ended_by else None,
            cancelled=ended_by is not None and ended_by.action == Action.WITHDRAW.value,
        ),
    )


async def _carry_out(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    decision: Decision,
    custody: CustodyEventV1,
    correlation_id: str | None,
) -> bool:
    notice = ReleaseNoticeV1.model_validate_json(handover.notice)
    if decision.action == Action.AMEND_RELEASE_DATE:
        assert custody.release_date is not None
        changed = notice.model_copy(
            update={"release": notice.release.model_copy(update={"date": custody.release_date})}
        )
        return await amend(session, ctx, handover, changed, decision.detail, correlation_id) is not None
    if decision.action == Action.MOVE_ESTABLISHMENT:
        update: dict[str, object] = {"establishment_code": custody.establishment_code}
        if custody.prison_contact is not None:
            update["prison_contact"] = custody.prison_contact
        moved = notice.model_copy(update=update)
        return await amend(session, ctx, handover, moved, decision.detail, correlation_id) is not None
    if decision.action in (Action.WITHDRAW, Action.CLOSE_RECALLED):
        cancelled = decision.action == Action.WITHDRAW
        await withdraw(
            session,
            ctx,
            handover,
            WithdrawalReason.RELEASE_CANCELLED if cancelled else WithdrawalReason.RECALLED,
            decision.detail,
            "withdrawn" if cancelled else "closed",
            correlation_id,
        )
        if decision.overrides:
            await _reclassify(session, ctx, handover, custody.sequence, decision.overrides, correlation_id)
        return True
    if decision.action == Action.MARK_RELEASED:
        now = ctx.clock.now()
        handover.state, handover.state_reason, handover.updated_at = "released", decision.detail, now
        session.add(handover)
        await keep_outcome(uow=joined(session, ctx), handover_id=handover.id, ending=Ending.RELEASED, now=now)
    return False


async def _reclassify(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    ended_by: int,
    overridden: tuple[int, ...],
    correlation_id: str | None,
) -> None:
    """A late cancellation or recall ended the case: the later events it overrides say so in the log, and a
    date change after a cancellation asks the prison for a new notice, as it would have in sequence order."""
    rows = (
        await session.exec(
            select(CustodyEventRecord).where(
                CustodyEventRecord.handover_id == handover.id,
                col(CustodyEventRecord.sequence).in_(overridden),
                CustodyEventRecord.outcome == Outcome.APPLIED.value,
            )
        )
    ).all()
    asking = []
    for row in rows:
        outcome, detail = reclassified(CustodyEventKind(row.kind), ended_by, handover.state)
        row.outcome, row.detail = outcome.value, f"{detail} (was: {row.detail})"[:1000]
        session.add(row)
        if outcome == Outcome.NEEDS_NEW_NOTICE:
            asking.append(row)
    if asking:
        await _ask_for_new_notice(session, ctx, handover, asking, correlation_id)


async def _ask_for_new_notice(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    rows: list[CustodyEventRecord],
    correlation_id: str | None,
) -> None:
    """Tell prison healthcare of the establishment that a date change came after the cancellation: the case
    stays withdrawn and a new notice is needed if the release goes ahead (intake has already answered 202)."""
    directory = await active_agencies(database=ctx.database)
    prison = prison_healthcare_of(handover.establishment_code, directory)
    sequences = ", ".join(str(row.sequence) for row in sorted(rows, key=lambda r: r.sequence))
    note = (
        f"A release date change (sequence {sequences}) arrived for a release that was cancelled. The "
        "cancelled release was not reinstated and agencies were not told: if the person is now to be "
        "released, submit a new release notice."
    )
    if prison is None:
        log.error("custody_event.new_notice_needed_nobody_to_tell", handover_id=handover.id)
        return
    now = ctx.clock.now()
    recipient = Recipient(
        prison.code,
        prison.kind,
        prison.name,
        ReferralKind.NOTIFICATION,
        f"prison healthcare of {handover.establishment_code}: a new notice is needed",
        str(uuid.uuid4()),
    )
    referral = new_referral(handover.id, recipient, now)
    referral.status, referral.reason_text = ReferralStatus.CANCELLED.value, note  # told, nothing to answer
    version = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert version is not None
    sent = entry(
        "withdrawn",
        handover_id=handover.id,
        version=handover.current_version,
        recipient=recipient,
        pack=HandoverPack.model_validate_json(version.pack),
        note=note,
    )
    referral.sections = sent.model_dump_json(exclude_none=True)
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
            reason_code=WithdrawalReason.NEW_NOTICE_NEEDED,
            reason=note,
            distribution=await with_fhir(session, [sent], at=now),
        ),
        subject=handover.prison_number,
        source=ctx.source,
        correlation_id=correlation_id,
        clock=ctx.clock,
    )
    log.warning("custody_event.new_notice_needed", handover_id=handover.id, told=prison.code)
