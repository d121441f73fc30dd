"""Escalation of unanswered referrals: watch each delivered referral, note answers, and when a deadline passes
without one, tell the prison healthcare team of the establishment and the area's RECONNECT service, once per
deadline, audited, with an event on ``delivery.events.v1``.

Entry points: ``remember_handover`` (pack events), ``watch_if_referral`` (inside the transaction that records a
delivery as delivered), ``record_answer`` (answer events), ``escalate_due`` (the periodic scan).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.answers import ReferralAnsweredV1
from contracts.delivery import (
    REFERRAL_ESCALATED_SCHEMA,
    DeliveryEventType,
    EscalationDeadline,
    OutstandingReferral,
    ReferralEscalatedV1,
)
from contracts.envelope import CloudEvent, EventType
from services.common.clock import Clock
from services.common.db import Database
from services.common.outbox import add_to_outbox
from services.common.topics import DELIVERY_EVENTS
from services.notifier.adapters.sql import insert_ignore
from services.notifier.adapters.tables import Delivery, Escalation, HandoverFact, ReferralWatch
from services.notifier.domain.agencies import Agency, AgencyKind, Directory
from services.notifier.domain.escalation_rules import (
    Deadlines,
    Due,
    answer_counts,
    awaits_answer_again,
    deadlines,
    is_referral,
    one_message_per_deadline,
    outstanding_item,
    release_facts,
    withdrawn_from_agency,
)
from services.notifier.usecases import endpoint_state as endpoints
from services.notifier.usecases.notices import notice_delivery

log = structlog.get_logger(__name__)

ESCALATION_WEBHOOK_TYPE = "handover.referral.escalated"


async def remember_handover(*, database: Database, event: CloudEvent, clock: Clock) -> None:
    """Keep what escalation needs from a pack event (idempotent: a replayed event rewrites the same facts)."""
    handover_id = event.data.get("handover_id")
    if not isinstance(handover_id, str):
        return
    facts = release_facts(event.data)
    now = clock.now()
    withdrawn = event.type == EventType.HANDOVER_PACK_WITHDRAWN.value
    values: dict[str, object] = {
        "subject": event.subject or "",
        "establishment_code": facts.establishment_code,
        "release_date": facts.release_date,
        "district": facts.district,
        "local_authority": facts.local_authority,
        "updated_at": now,
    }
    async with database.transaction() as session:
        inserted = await insert_ignore(
            session, HandoverFact, {"handover_id": handover_id, "withdrawn": withdrawn, **values}
        )
        if not inserted:
            changes = {key: value for key, value in values.items() if value is not None}
            if withdrawn:
                changes["withdrawn"] = True
            await session.exec(
                update(HandoverFact)
                .where(  # type: ignore[call-overload]
                    col(HandoverFact.handover_id) == handover_id
                )
                .values(**changes)
            )


async def watch_if_referral(session: AsyncSession, *, delivery: Delivery, agency_kind: str, now: datetime) -> None:
    """Start the watch of a referral just delivered (in the transaction that records the delivery)."""
    if delivery.handover_id is None:
        return
    payload = json.loads(delivery.payload)
    if await _rearm_or_settle(session, delivery=delivery, agency_kind=agency_kind, payload=payload, now=now):
        return
    if not is_referral(agency_kind=agency_kind, webhook_type=delivery.event_type, payload=payload):
        return
    key = {"handover_id": delivery.handover_id, "agency_code": delivery.agency_code}
    await insert_ignore(
        session, ReferralWatch, {**key, "agency_kind": agency_kind, "subject": delivery.subject, "delivered_at": now}
    )
    await session.exec(
        update(ReferralWatch)
        .where(  # type: ignore[call-overload]
            col(ReferralWatch.handover_id) == delivery.handover_id,
            col(ReferralWatch.agency_code) == delivery.agency_code,
            col(ReferralWatch.delivered_at).is_(None),
        )
        .values(delivered_at=now, agency_kind=agency_kind, subject=delivery.subject)
    )


async def _rearm_or_settle(
    session: AsyncSession, *, delivery: Delivery, agency_kind: str, payload: dict[str, object], now: datetime
) -> bool:
    """An amended entry that invalidates the agency's answer watches the referral again from this delivery (its
    deadlines escalate again); an entry withdrawing the agency's part settles the watch. True when handled."""
    where = (
        col(ReferralWatch.handover_id) == delivery.handover_id,
        col(ReferralWatch.agency_code) == delivery.agency_code,
    )
    if withdrawn_from_agency(payload):
        await session.exec(update(ReferralWatch).where(*where).values(settled=True))  # type: ignore[call-overload]
        return True
    if not awaits_answer_again(payload):
        return False
    key = {"handover_id": delivery.handover_id, "agency_code": delivery.agency_code}
    await insert_ignore(
        session, ReferralWatch, {**key, "agency_kind": agency_kind, "subject": delivery.subject, "delivered_at": now}
    )
    await session.exec(
        update(ReferralWatch)
        .where(*where)
        .values(  # type: ignore[call-overload]
            delivered_at=now, answered_at=None, answer=None, settled=False, agency_kind=agency_kind
        )
    )
    log.info("referral.watch_rearmed", handover_id=delivery.handover_id, agency=delivery.agency_code)
    return True


async def record_answer(*, database: Database, event: CloudEvent, clock: Clock) -> None:
    """An agency answered: its referral no longer escalates (an answer may even arrive before the delivery
    is recorded as delivered; the watch then starts answered)."""
    answered = ReferralAnsweredV1.model_validate(event.data)
    if not answer_counts(answered.answer):
        return
    async with database.transaction() as session:
        key = {"handover_id": answered.handover_id, "agency_code": answered.agency_code}
        await insert_ignore(
            session,
            ReferralWatch,
            {**key, "subject": event.subject, "answered_at": answered.answered_at, "answer": answered.answer.value},
        )
        await session.exec(
            update(ReferralWatch)
            .where(  # type: ignore[call-overload]
                col(ReferralWatch.handover_id) == answered.handover_id,
                col(ReferralWatch.agency_code) == answered.agency_code,
                col(ReferralWatch.answered_at).is_(None),
            )
            .values(answered_at=answered.answered_at, answer=answered.answer.value)
        )
    log.info(
        "referral.answered", handover_id=answered.handover_id, agency=answered.agency_code, answer=answered.answer.value
    )


def _contacts(
    directory: Directory, facts: HandoverFact | None, watch: ReferralWatch, handover_agencies: list[str]
) -> list[Agency]:
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
    *, database: Database, directory: Directory, clock: Clock, rules: Deadlines, source: str, limit: int = 500
) -> int:
    """Escalate every unanswered, delivered referral whose deadline has passed and that was not escalated for it;
    returns how many referrals were escalated.

    Referrals of one handover due at one deadline make one message (``one_message_per_deadline``) naming every
    agency and item outstanding. Only watches with a deadline that may have passed are read (the exact check
    is ``escalation_rules.deadlines``), and a watch whose every deadline was escalated, or whose handover was
    withdrawn, is settled and read no more.
    """
    now = clock.now()
    release_by = (now + rules.before_release + timedelta(days=2)).date()
    async with database.session() as session:
        rows = (
            await session.exec(
                select(ReferralWatch, HandoverFact)
                .join(HandoverFact, col(HandoverFact.handover_id) == col(ReferralWatch.handover_id), isouter=True)
                .where(col(ReferralWatch.settled).is_(False))
                .where(col(ReferralWatch.delivered_at).is_not(None))
                .where(col(ReferralWatch.answered_at).is_(None))
                .where(
                    or_(
                        col(ReferralWatch.delivered_at) <= now - rules.after_delivery,
                        col(HandoverFact.release_date) <= release_by,
                        col(HandoverFact.withdrawn).is_(True),
                    )
                )
                .order_by(col(ReferralWatch.id))
                .limit(limit)
            )
        ).all()
        done = (
            {
                (item.handover_id, item.agency_code, item.deadline)
                for item in (
                    await session.exec(
                        select(Escalation).where(
                            col(Escalation.handover_id).in_({watch.handover_id for watch, _ in rows})
                        )
                    )
                ).all()
            }
            if rows
            else set()
        )
    found: list[Due] = []
    watches: dict[tuple[str, str], tuple[ReferralWatch, HandoverFact | None]] = {}
    settle: list[ReferralWatch] = []
    for watch, facts in rows:
        if facts is not None and facts.withdrawn:
            settle.append(watch)
            continue
        assert watch.delivered_at is not None
        release_date = facts.release_date if facts else None
        watches[(watch.handover_id, watch.agency_code)] = (watch, facts)
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
    made = 0
    for (_, deadline), group in one_message_per_deadline(found).items():
        made += await _escalate(
            database=database,
            directory=directory,
            clock=clock,
            source=source,
            deadline=deadline,
            due=[(watches[(d.handover_id, d.agency_code)], d) for d in group],
        )
    for watch in settle:
        await _settle(database, watch)
    return made


async def _settle(database: Database, watch: ReferralWatch) -> None:
    async with database.transaction() as session:
        await session.exec(
            update(ReferralWatch)
            .where(  # type: ignore[call-overload]
                col(ReferralWatch.id) == watch.id
            )
            .values(settled=True)
        )


async def _escalate(
    *,
    database: Database,
    directory: Directory,
    clock: Clock,
    source: str,
    deadline: EscalationDeadline,
    due: list[tuple[tuple[ReferralWatch, HandoverFact | None], Due]],
) -> int:
    """One message about one handover at one deadline, to each contact, naming every referral outstanding;
    one ``escalation`` row per referral keeps each escalated once (a row another replica wrote first is left
    out of the message). Returns how many referrals it escalated."""
    now = clock.now()
    message_id = str(uuid.uuid4())
    (first_watch, facts), _ = due[0]
    handover_id = first_watch.handover_id
    outstanding: list[tuple[ReferralWatch, Due]] = []
    try:
        async with database.transaction() as session:
            for (watch, _), item in due:
                if await insert_ignore(
                    session,
                    Escalation,
                    {
                        "id": str(uuid.uuid4()),
                        "handover_id": watch.handover_id,
                        "agency_code": watch.agency_code,
                        "deadline": deadline.value,
                        "due_at": item.due_at,
                        "escalated_at": now,
                        "told": "",
                    },
                ):
                    outstanding.append((watch, item))
            if not outstanding:
                return 0  # another replica escalated them first
            handover_agencies = list(
                (
                    await session.exec(
                        select(Delivery.agency_code).where(Delivery.handover_id == handover_id).distinct()
                    )
                ).all()
            )
            contacts = _contacts(directory, facts, first_watch, handover_agencies)
            told = sorted(agency.code for agency in contacts)
            lead, lead_due = outstanding[0]
            assert lead.delivered_at is not None
            escalated = ReferralEscalatedV1(
                escalation_id=message_id,
                handover_id=handover_id,
                agency_code=lead.agency_code,
                agency_kind=lead.agency_kind or "unknown",
                deadline=deadline,
                due_at=min(item.due_at for _, item in outstanding),
                delivered_at=min(watch.delivered_at for watch, _ in outstanding if watch.delivered_at),
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
            subject = lead.subject or (facts.subject if facts else "") or ""
            data = escalated.model_dump(mode="json", exclude_none=True)
            for agency in contacts:
                session.add(
                    notice_delivery(
                        agency=agency,
                        webhook_type=ESCALATION_WEBHOOK_TYPE,
                        source_event_id=message_id,
                        subject=subject,
                        handover_id=handover_id,
                        data={**data, "prison_number": subject},
                        correlation_id=None,
                        now=now,
                    )
                )
            codes = [watch.agency_code for watch, _ in outstanding]
            await session.exec(
                update(Escalation)
                .where(  # type: ignore[call-overload]
                    col(Escalation.handover_id) == handover_id,
                    col(Escalation.deadline) == deadline.value,
                    col(Escalation.agency_code).in_(codes),
                )
                .values(told=",".join(told)[:500])
            )
            add_to_outbox(
                session,
                topic=DELIVERY_EVENTS,
                clock=clock,
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
                await endpoints.audit(
                    session,
                    action="referral_escalated",
                    actor=endpoints.NOTIFIER,
                    now=now,
                    agency_code=watch.agency_code,
                    handover_id=handover_id,
                    subject=subject or None,
                    detail=f"{deadline.value} deadline {item.due_at.isoformat()}; told {told}; message {message_id}",
                )
    except IntegrityError:
        return 0
    if not contacts:
        log.error("escalation.nobody_to_tell", handover_id=handover_id, agencies=codes)
    log.warning(
        "referral.escalated",
        handover_id=handover_id,
        agencies=codes,
        deadline=deadline.value,
        told=told,
        lead_due=lead_due.due_at.isoformat(),
    )
    return len(outstanding)


async def escalations_of(*, database: Database, handover_id: str) -> list[Escalation]:
    async with database.session() as session:
        return list(
            (
                await session.exec(
                    select(Escalation)
                    .where(Escalation.handover_id == handover_id)
                    .order_by(col(Escalation.escalated_at))
                )
            ).all()
        )


async def escalations_with_facts(
    *,
    database: Database,
    handover_id: str | None = None,
    establishments: Collection[str] | None = None,
    limit: int = 500,
) -> list[tuple[Escalation, HandoverFact | None]]:
    """Escalations with what is known of their handover (establishment, person, release date), oldest first;
    ``establishments`` keeps only those of releases from these prisons (what a prison may read)."""
    query = select(Escalation, HandoverFact).join(
        HandoverFact, col(HandoverFact.handover_id) == col(Escalation.handover_id), isouter=True
    )
    if handover_id is not None:
        query = query.where(Escalation.handover_id == handover_id)
    if establishments is not None:
        query = query.where(col(HandoverFact.establishment_code).in_(list(establishments)))
    async with database.session() as session:
        rows = (
            await session.exec(query.order_by(col(Escalation.escalated_at), col(Escalation.agency_code)).limit(limit))
        ).all()
        return [(row[0], row[1]) for row in rows]


async def handover_fact(*, database: Database, handover_id: str) -> HandoverFact | None:
    async with database.session() as session:
        return await session.get(HandoverFact, handover_id)


async def referrals_of(*, database: Database, handover_id: str) -> list[ReferralWatch]:
    """The referrals of a handover the notifier is watching: delivered when, answered when (if yet)."""
    async with database.session() as session:
        return list(
            (
                await session.exec(
                    select(ReferralWatch)
                    .where(ReferralWatch.handover_id == handover_id)
                    .order_by(col(ReferralWatch.id))
                )
            ).all()
        )
