"""Dead letters: deliveries that did not arrive, whether their schedule was spent (dead-lettered) or they failed
for good (a 4xx answer, 410 Gone, a disabled endpoint), replayed by an operator (one, or all of an endpoint's
since a time, or all that wait for an endpoint when it is resumed). A replay keeps the ``webhook-id`` (it is the
same message, so a receiver that got it after all can de-duplicate) and its place in the person's order (its
``seq``), starts the schedule again, and is audited with who asked for it. Until it is delivered, later messages
about the same person to the same endpoint wait (``HOLDING``)."""

from __future__ import annotations

from datetime import datetime

import structlog

from services.notifier.usecases.actions import Actor, record_action
from services.notifier.usecases.ports import NotifierUow

log = structlog.get_logger(__name__)


async def replay(
    *,
    uow: NotifierUow,
    actor: Actor,
    now: datetime,
    webhook_id: str | None = None,
    agency_code: str | None = None,
    since: datetime | None = None,
) -> list[str]:
    """Put failed or dead-lettered deliveries back on the schedule, in their order; returns the webhook ids."""
    if webhook_id is None and agency_code is None:
        raise ValueError("name a delivery (webhook_id) or an endpoint (agency_code)")
    replayed: list[str] = []
    async with uow:
        for delivery in await uow.deliveries.undelivered(webhook_id=webhook_id, agency_code=agency_code, since=since):
            assert delivery.seq is not None
            # what it was, read before the update (which refreshes the object in the session)
            was, replays, last_error = delivery.status, delivery.replays, delivery.last_error
            if not await uow.deliveries.requeue(delivery.seq, was=was, replays=replays + 1, now=now):
                continue
            replayed.append(delivery.webhook_id)
            await record_action(
                uow,
                action="delivery_replayed",
                actor=actor,
                now=now,
                agency_code=delivery.agency_code,
                subject=delivery.subject,
                webhook_id=delivery.webhook_id,
                handover_id=delivery.handover_id,
                detail=f"replay {replays + 1}; was {was}: {last_error}",
            )
    log.info("dead_letters.replayed", count=len(replayed), agency=agency_code)
    return replayed
