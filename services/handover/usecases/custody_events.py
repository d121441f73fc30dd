"""Apply custody events to a person's case in their sequence order, whatever the arrival order.

Every event is written to the custody-event log with its content and what became of it; the decision is the
pure rule of ``domain/custody.py`` over what the log already says about the person. Held events (they came
before the notice) are applied by :func:`apply_held` when the notice opens the case.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from contracts.custody import CustodyEventKind, CustodyEventRecordedV1, CustodyEventV1
from contracts.envelope import CloudEvent
from contracts.handover import ReferralKind, WithdrawalReason
from contracts.release_notice import ReleaseNoticeV1
from services.handover.adapters.tables import CustodyEventRecord, Handover, Person
from services.handover.domain import custody as rules
from services.handover.domain.case import HandoverState
from services.handover.domain.distribution import Recipient
from services.handover.domain.outcomes import Ending
from services.handover.domain.referral_routing import prison_healthcare_of
from services.handover.domain.referrals import ReferralStatus
from services.handover.usecases.amend import amend
from services.handover.usecases.issuing import Stamp, new_referral, record_sent, tell_withdrawal
from services.handover.usecases.outcomes import record_outcome
from services.handover.usecases.ports import HandoverUnitOfWork
from services.handover.usecases.withdraw import withdraw

log = structlog.get_logger(__name__)

ENDING_ACTIONS = {rules.Action.WITHDRAW.value, rules.Action.CLOSE_RECALLED.value, rules.Action.MARK_RELEASED.value}


async def apply_custody_event(
    *, uow: HandoverUnitOfWork, event: CloudEvent, source: str, now: datetime, registration_days: int
) -> bool:
    """Decide a custody event in the person's sequence and carry it out; True when something was published."""
    recorded = CustodyEventRecordedV1.model_validate(event.data)
    custody = recorded.event
    stamp = Stamp(source, now, event.correlationid)
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return False
        person = await uow.custody.person(custody.prison_number) or Person(
            prison_number=custody.prison_number, updated_at=now
        )
        handover = await uow.handovers.latest_of_person(custody.prison_number)
        decision = rules.decide(custody, await _history(uow, custody.prison_number, handover))
        row = CustodyEventRecord(
            event_id=event.id,
            custody_event_id=recorded.custody_event_id,
            prison_number=custody.prison_number,
            sequence=custody.sequence,
            kind=custody.kind.value,
            outcome=decision.outcome.value,
            action=decision.action.value,
            detail=decision.detail[:1000],
            handover_id=handover.id if handover is not None and decision.outcome != rules.CustodyOutcome.HELD else None,
            event=custody.model_dump_json(),
            occurred_at=custody.occurred_at,
            recorded_at=now,
        )
        await uow.custody.add(row)
        published = False
        if decision.outcome == rules.CustodyOutcome.APPLIED:
            if person.last_sequence is None or custody.sequence > person.last_sequence:
                person.last_sequence, person.establishment_code = custody.sequence, custody.establishment_code
            person.updated_at = now
            if handover is not None and handover.state == HandoverState.OPEN:
                published = await _carry_out(uow, stamp, handover, decision, custody, registration_days)
        elif decision.outcome == rules.CustodyOutcome.NEEDS_NEW_NOTICE and handover is not None:
            await _ask_for_new_notice(uow, stamp, handover, [row])
            published = True
        await uow.custody.save_person(person)
    log.info(
        "custody_event.recorded",
        kind=custody.kind.value,
        sequence=custody.sequence,
        outcome=decision.outcome.value,
        action=decision.action.value,
    )
    return published


async def apply_held(uow: HandoverUnitOfWork, stamp: Stamp, handover: Handover, registration_days: int) -> None:
    """Apply, in sequence order, the person's events held for want of an open case (inside the transaction
    that opened ``handover``): each is decided as if it had arrived just after the notice."""
    for row in await uow.custody.held_of_person(handover.prison_number):
        if row.event is None:
            continue
        custody = CustodyEventV1.model_validate_json(row.event)
        decision = rules.decide(custody, await _history(uow, handover.prison_number, handover, without=row.event_id))
        row.outcome, row.action, row.handover_id = decision.outcome.value, decision.action.value, handover.id
        row.detail = f"held until notice {handover.notice_id} opened the case; then {decision.detail}"[:1000]
        if decision.outcome == rules.CustodyOutcome.APPLIED and handover.state == HandoverState.OPEN:
            await _carry_out(uow, stamp, handover, decision, custody, registration_days)
        log.info("custody_event.held_applied", sequence=custody.sequence, outcome=decision.outcome.value)


async def _history(
    uow: HandoverUnitOfWork, prison_number: str, handover: Handover | None, without: str | None = None
) -> rules.History:
    rows = [row for row in await uow.custody.of_person(prison_number) if row.event_id != without]
    seen = frozenset(row.sequence for row in rows if row.outcome != rules.CustodyOutcome.DUPLICATE.value)
    if handover is None:
        return rules.History(seen=seen)
    mine = [row for row in rows if row.handover_id == handover.id and row.outcome == rules.CustodyOutcome.APPLIED.value]
    earlier = [row.sequence for row in rows if row.handover_id is not None and row.handover_id != handover.id]
    if handover.state == HandoverState.OPEN:
        applied = tuple(
            rules.Applied(
                row.sequence, rules.decides(CustodyEventV1.model_validate_json(row.event)) if row.event else None
            )
            for row in mine
        )
        return rules.History(
            seen=seen,
            handover=rules.OpenHandover(handover.release_date, handover.establishment_code),
            applied=applied,
            earlier_case_until=max(earlier, default=None),
        )
    ending = [row for row in mine if row.action in ENDING_ACTIONS]
    ended_by = max(ending, key=lambda row: row.sequence) if ending else None
    return rules.History(
        seen=seen,
        ended=rules.Ended(
            state=handover.state,
            sequence=ended_by.sequence if ended_by else None,
            cancelled=ended_by is not None and ended_by.action == rules.Action.WITHDRAW.value,
        ),
    )


def _changed_notice(
    notice: ReleaseNoticeV1, decision: rules.Decision, custody: CustodyEventV1
) -> ReleaseNoticeV1 | None:
    """The notice as the event leaves it, for the events that amend the pack."""
    if decision.action == rules.Action.AMEND_RELEASE_DATE:
        assert custody.release_date is not None
        return notice.model_copy(update={"release": notice.release.model_copy(update={"date": custody.release_date})})
    if decision.action == rules.Action.MOVE_ESTABLISHMENT:
        update: dict[str, object] = {"establishment_code": custody.establishment_code}
        if custody.prison_contact is not None:
            update["prison_contact"] = custody.prison_contact
        return notice.model_copy(update=update)
    return None


async def _carry_out(
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    handover: Handover,
    decision: rules.Decision,
    custody: CustodyEventV1,
    registration_days: int,
) -> bool:
    changed = _changed_notice(ReleaseNoticeV1.model_validate_json(handover.notice), decision, custody)
    if changed is not None:
        version = await amend(
            uow=uow,
            stamp=stamp,
            handover=handover,
            notice=changed,
            reason=decision.detail,
            registration_days=registration_days,
        )
        return version is not None
    if decision.action in (rules.Action.WITHDRAW, rules.Action.CLOSE_RECALLED):
        cancelled = decision.action == rules.Action.WITHDRAW
        await withdraw(
            uow=uow,
            stamp=stamp,
            handover=handover,
            reason_code=WithdrawalReason.RELEASE_CANCELLED if cancelled else WithdrawalReason.RECALLED,
            reason=decision.detail,
            state=HandoverState.WITHDRAWN if cancelled else HandoverState.CLOSED,
        )
        if decision.overrides:
            await _reclassify(uow, stamp, handover, custody.sequence, decision.overrides)
        return True
    if decision.action == rules.Action.MARK_RELEASED:
        handover.state, handover.state_reason = HandoverState.RELEASED.value, decision.detail
        handover.updated_at = stamp.now
        await record_outcome(outcomes=uow.outcomes, handover_id=handover.id, ending=Ending.RELEASED, now=stamp.now)
    return False


async def _reclassify(
    uow: HandoverUnitOfWork, stamp: Stamp, handover: Handover, ended_by: int, overridden: tuple[int, ...]
) -> None:
    """A late cancellation or recall ended the case: the later events it overrides say so in the log, and a
    date change after a cancellation asks the prison for a new notice, as it would have in sequence order."""
    asking = []
    for row in await uow.custody.applied_to(handover.id, overridden):
        outcome, detail = rules.reclassified(CustodyEventKind(row.kind), ended_by, handover.state)
        row.outcome, row.detail = outcome.value, f"{detail} (was: {row.detail})"[:1000]
        if outcome == rules.CustodyOutcome.NEEDS_NEW_NOTICE:
            asking.append(row)
    if asking:
        await _ask_for_new_notice(uow, stamp, handover, asking)


async def _ask_for_new_notice(
    uow: HandoverUnitOfWork, stamp: Stamp, handover: Handover, rows: list[CustodyEventRecord]
) -> None:
    """Tell prison healthcare of the establishment that a date change came after the cancellation: the case
    stays withdrawn and a new notice is needed if the release goes ahead (intake has already answered 202)."""
    prison = prison_healthcare_of(handover.establishment_code, await uow.directory.active())
    if prison is None:
        log.error("custody_event.new_notice_needed_nobody_to_tell", handover_id=handover.id)
        return
    sequences = ", ".join(str(row.sequence) for row in sorted(rows, key=lambda r: r.sequence))
    note = (
        f"A release date change (sequence {sequences}) arrived for a release that was cancelled. The "
        "cancelled release was not reinstated and agencies were not told: if the person is now to be "
        "released, submit a new release notice."
    )
    recipient = Recipient(
        prison.code,
        prison.kind,
        prison.name,
        ReferralKind.NOTIFICATION,
        f"prison healthcare of {handover.establishment_code}: a new notice is needed",
        str(uuid.uuid4()),
    )
    referral = new_referral(handover.id, recipient, stamp.now)
    referral.status, referral.reason_text = ReferralStatus.CANCELLED.value, note  # told, nothing to answer
    await uow.referrals.add(referral)
    (sent,) = await tell_withdrawal(
        uow, stamp, handover, recipients=[recipient], reason_code=WithdrawalReason.NEW_NOTICE_NEEDED, reason=note
    )
    record_sent(referral, sent, stamp.now)
    log.warning("custody_event.new_notice_needed", handover_id=handover.id, told=prison.code)
