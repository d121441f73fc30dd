"""A handover event in: one pending delivery per entry of its distribution (never twice for one event), and
the release facts escalation needs, in one unit of work."""

from __future__ import annotations

from datetime import datetime

import structlog

from contracts.envelope import CloudEvent, EventType
from services.notifier.domain.agencies import Directory
from services.notifier.domain.escalation_rules import release_facts
from services.notifier.domain.webhooks import WEBHOOK_EVENT_TYPES, distribution
from services.notifier.usecases.new_deliveries import new_delivery
from services.notifier.usecases.ports import NotifierUow

log = structlog.get_logger(__name__)


async def plan_deliveries(*, uow: NotifierUow, event: CloudEvent, directory: Directory, now: datetime) -> int:
    """Plan the deliveries of a handover event and remember its release facts; returns how many were planned
    (0 when the event was seen before)."""
    entries = distribution(event)
    handover_id = event.data.get("handover_id")
    async with uow:
        if isinstance(handover_id, str):
            await remember_handover(uow, event=event, handover_id=handover_id, now=now)
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return 0
        for entry in entries:
            if directory.by_code(entry["agency_code"]) is None:
                log.warning("deliveries.agency_without_endpoint", agency=entry["agency_code"])
            uow.deliveries.add(
                new_delivery(
                    agency_code=entry["agency_code"],
                    webhook_type=WEBHOOK_EVENT_TYPES[event.type],
                    source_event_id=event.id,
                    subject=event.subject or "",
                    handover_id=handover_id if isinstance(handover_id, str) else None,
                    data=entry,
                    correlation_id=event.correlationid,
                    now=now,
                )
            )
    log.info("deliveries.planned", handover_id=handover_id, agencies=[e["agency_code"] for e in entries])
    if not entries:
        log.warning("deliveries.no_recipient", handover_id=handover_id)
    return len(entries)


async def remember_handover(uow: NotifierUow, *, event: CloudEvent, handover_id: str, now: datetime) -> None:
    """Keep what escalation needs from a pack event (a replayed event rewrites the same facts)."""
    facts = release_facts(event.data)
    values: dict[str, object] = {
        "subject": event.subject or "",
        "establishment_code": facts.establishment_code,
        "release_date": facts.release_date,
        "district": facts.district,
        "local_authority": facts.local_authority,
        "updated_at": now,
    }
    withdrawn = event.type == EventType.HANDOVER_PACK_WITHDRAWN.value
    await uow.handovers.remember(handover_id, withdrawn=withdrawn, facts=values)
