"""Escalation of unanswered referrals: when a deadline passes without an answer, the prison healthcare team of
the establishment and the area's RECONNECT service are told, once per deadline, audited, with an event on
``delivery.events.v1``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError

from contracts.delivery import (
    REFERRAL_ESCALATED_SCHEMA,
    DeliveryEventType,
    EscalationDeadline,
    OutstandingReferral,
    ReferralEscalatedV1,
)
from contracts.envelope import CloudEvent
from services.common.topics import DELIVERY_EVENTS
from services.notifier.adapters.tables import Delivery, Escalation, HandoverFact, ReferralWatch
from services.notifier.domain.agencies import Agency, AgencyKind, Directory
from services.notifier.domain.escalation_rules import (
    Deadlines,
    Due,
    deadlines,
    one_message_per_deadline,
    outstanding_item,
)
from services.notifier.usecases.actions import NOTIFIER, record_action
from services.notifier.usecases.new_deliveries import new_delivery
from services.notifier.usecases.ports import NotifierUow, UowFactory

log = structlog.get_logger(__name__)

ESCALATION_WEBHOOK_TYPE = "handover.referral.escalated"


def _contacts(directory: Directory, facts: HandoverFact | None, handover_agencies: list[str]) -> list[Agency]:
    """Who is told: the prison healthcare team of the establishment and the area's RECONNECT service."""
    found: dict[str, Agency] = {}
    if facts is not None and facts.establishment_code:
        found.update({agency.code: agency for agency in directory.prison_healthcare(facts.establishment_code)})
    reconnect = [directory.by_code(code) for code in handover_agencies]
    area = [agency for agency in reconnect if agency is not None and agency.kind == AgencyKind.RECONNECT]
    if not area and facts is not None:
        area = directory.reconnect_services(district=facts.district, local_authority=facts.local_authority)
    found.update({agency.code: agency for agency in area})
    return list(found.values())


async def escalate_due(
    *, new_uow: UowFactory, directory: Directory, rules: Deadlines, now: datetime, source: str, limit: int = 500
) -> int:
    """Escalate every unanswered, delivered referral whose deadline has passed and that was not escalated for it;
    returns how many referrals were escalated.

    Referrals of one handover due at one deadline make one message (``one_message_per_deadline``) naming every
    agency and item outstanding, each in its own unit of work. Only watches with a deadline that may have passed
    are read (the exact check is ``escalation_rules.deadlines``), and a watch whose every deadline was escalated,
    or whose handover was withdrawn, is settled and read no more.
    """
    release_by = (now + rules.before_release + timedelta(days=2)).date()
    async with new_uow() as uow:
        rows = await uow.watches.unanswered(delivered_by=now - rules.after_delivery, release_by=release_by, limit=limit)
        done = await uow.escalations.done({watch.handover_id for watch, _ in rows})
    found, settle = _sort_out(rows, done, rules, now)
    watches = {(watch.handover_id, watch.agency_code): (watch, facts) for watch, facts in rows}
    made = 0
    for (_, deadline), group in one_message_per_deadline(found).items():
        due = [(watches[(d.handover_id, d.agency_code)], d) for d in group]
        try:
            async with new_uow() as uow:
                made += await _escalate(uow, directory=directory, now=now, source=source, deadline=deadline, due=due)
        except IntegrityError:
            continue  # another replica escalated them at the same moment
    for watch in settle:
        async with new_uow() as uow:
            assert watch.id is not None
            await uow.watches.settle(watch.id)
    return made


Row = tuple[ReferralWatch, HandoverFact | None]


def _sort_out(
    rows: list[Row], done: set[tuple[str, str, str]], rules: Deadlines, now: datetime
) -> tuple[list[Due], list[ReferralWatch]]:
    """The deadlines due and not yet escalated; the watches to settle (withdrawn, or nothing left to escalate)."""
    found: list[Due] = []
    settle: list[ReferralWatch] = []
    for watch, facts in rows:
        if facts is not None and facts.withdrawn:
            settle.append(watch)
            continue
        assert watch.delivered_at is not None
        release_date = facts.release_date if facts else None
        outstanding = 0
        for deadline, due_at in deadlines(delivered_at=watch.delivered_at, release_date=release_date, rules=rules):
            if (watch.handover_id, watch.agency_code, deadline.value) in done:
                continue
            if due_at > now:
                outstanding += 1
                continue
            found.append(Due(watch.handover_id, watch.agency_code, deadline, due_at))
        if not outstanding and release_date is not None:
            settle.append(watch)
    return found, settle


async def _escalate(
    uow: NotifierUow,
    *,
    directory: Directory,
    now: datetime,
    source: str,
    deadline: EscalationDeadline,
    due: list[tuple[Row, Due]],
) -> int:
    """One message about one handover at one deadline, to each contact, naming every referral outstanding;
    one ``escalation`` row per referral keeps each escalated once (a row another replica wrote first is left
    out of the message). Returns how many referrals it escalated."""
    message_id = str(uuid.uuid4())
    (first_watch, facts), _ = due[0]
    handover_id = first_watch.handover_id
    outstanding: list[tuple[ReferralWatch, Due]] = []
    for (watch, _), item in due:
        row = Escalation(
            id=str(uuid.uuid4()),
            handover_id=watch.handover_id,
            agency_code=watch.agency_code,
            deadline=deadline.value,
            due_at=item.due_at,
            escalated_at=now,
            told="",
        )
        if await uow.escalations.claim(row):
            outstanding.append((watch, item))
    if not outstanding:
        return 0  # another replica escalated them first
    contacts = _contacts(directory, facts, await uow.deliveries.agencies_of_handover(handover_id))
    told = sorted(agency.code for agency in contacts)
    escalated = _message(message_id, handover_id, deadline, outstanding, facts, told, now)
    lead = outstanding[0][0]
    subject = lead.subject or (facts.subject if facts else "") or ""
    data = escalated.model_dump(mode="json", exclude_none=True)
    for agency in contacts:
        notice = {**data, "prison_number": subject}
        uow.deliveries.add(_notice(agency.code, message_id, subject, handover_id, notice, now))
    codes = [watch.agency_code for watch, _ in outstanding]
    await uow.escalations.set_told(handover_id, deadline.value, codes, ",".join(told))
    uow.outbox.add(
        topic=DELIVERY_EVENTS,
        event=CloudEvent(
            id=message_id,
            source=source,
            type=DeliveryEventType.REFERRAL_ESCALATED.value,
            time=now,
            subject=subject or None,
            partitionkey=subject or None,
            dataschema=REFERRAL_ESCALATED_SCHEMA,
            data=data,
        ),
    )
    for watch, item in outstanding:
        await record_action(
            uow,
            action="referral_escalated",
            actor=NOTIFIER,
            now=now,
            agency_code=watch.agency_code,
            handover_id=handover_id,
            subject=subject or None,
            detail=f"{deadline.value} deadline {item.due_at.isoformat()}; told {told}; message {message_id}",
        )
    if not contacts:
        log.error("escalation.nobody_to_tell", handover_id=handover_id, agencies=codes)
    log.warning("referral.escalated", handover_id=handover_id, agencies=codes, deadline=deadline.value, told=told)
    return len(outstanding)


def _message(
    message_id: str,
    handover_id: str,
    deadline: EscalationDeadline,
    outstanding: list[tuple[ReferralWatch, Due]],
    facts: HandoverFact | None,
    told: list[str],
    now: datetime,
) -> ReferralEscalatedV1:
    lead = outstanding[0][0]
    return ReferralEscalatedV1(
        escalation_id=message_id,
        handover_id=handover_id,
        agency_code=lead.agency_code,
        agency_kind=lead.agency_kind or "unknown",
        deadline=deadline,
        due_at=min(item.due_at for _, item in outstanding),
        delivered_at=min(watch.delivered_at or now for watch, _ in outstanding),
        release_date=facts.release_date if facts else None,
        escalated_at=now,
        told=told,
        outstanding=[
            OutstandingReferral(
                agency_code=watch.agency_code,
                agency_kind=watch.agency_kind or "unknown",
                item=outstanding_item(watch.agency_kind),
                delivered_at=watch.delivered_at or now,
                due_at=item.due_at,
            )
            for watch, item in outstanding
        ],
    )


def _notice(
    agency_code: str, message_id: str, subject: str, handover_id: str, data: dict[str, object], now: datetime
) -> Delivery:
    return new_delivery(
        agency_code=agency_code,
        webhook_type=ESCALATION_WEBHOOK_TYPE,
        source_event_id=message_id,
        subject=subject,
        handover_id=handover_id,
        data=data,
        correlation_id=None,
        now=now,
    )
