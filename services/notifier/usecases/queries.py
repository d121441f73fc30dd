"""What the API reads: deliveries with their attempts, dead letters, endpoint states, referrals, escalations and
the delivery-level audit view. Each read is its own unit of work."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from services.notifier.adapters.tables import (
    Delivery,
    DeliveryAttempt,
    DeliveryAudit,
    EndpointState,
    Escalation,
    HandoverFact,
    ReferralWatch,
)
from services.notifier.usecases.ports import NotifierUow

WithAttempts = tuple[Delivery, list[DeliveryAttempt]]


async def deliveries_of(*, uow: NotifierUow, handover_id: str) -> list[WithAttempts]:
    async with uow:
        found = await uow.deliveries.of_handover(handover_id)
        return [(delivery, await uow.deliveries.attempts_of(delivery.seq or 0)) for delivery in found]


async def delivery_by_webhook_id(*, uow: NotifierUow, webhook_id: str) -> WithAttempts | None:
    async with uow:
        delivery = await uow.deliveries.by_webhook_id(webhook_id)
        return None if delivery is None else (delivery, await uow.deliveries.attempts_of(delivery.seq or 0))


async def dead_letters(
    *, uow: NotifierUow, agency_code: str | None = None, since: datetime | None = None, limit: int = 500
) -> list[Delivery]:
    """Deliveries that did not arrive (failed for good or dead-lettered), oldest first."""
    async with uow:
        return await uow.deliveries.undelivered(agency_code=agency_code, since=since, limit=limit)


async def endpoint_states(*, uow: NotifierUow) -> dict[str, EndpointState]:
    async with uow:
        return await uow.endpoints.all()


async def delivery_audit(
    *, uow: NotifierUow, webhook_id: str | None = None, agency_code: str | None = None, handover_id: str | None = None
) -> list[DeliveryAudit]:
    async with uow:
        return await uow.delivery_audit.find(webhook_id=webhook_id, agency_code=agency_code, handover_id=handover_id)


async def handover_fact(*, uow: NotifierUow, handover_id: str) -> HandoverFact | None:
    async with uow:
        return await uow.handovers.get(handover_id)


async def referrals_of(*, uow: NotifierUow, handover_id: str) -> list[ReferralWatch]:
    """The referrals of a handover the notifier is watching: delivered when, answered when (if yet)."""
    async with uow:
        return await uow.watches.of_handover(handover_id)


async def escalations_with_facts(
    *,
    uow: NotifierUow,
    handover_id: str | None = None,
    establishments: Collection[str] | None = None,
    limit: int = 500,
) -> list[tuple[Escalation, HandoverFact | None]]:
    """Escalations with what is known of their handover (establishment, person, release date), oldest first;
    ``establishments`` keeps only those of releases from these prisons (what a prison may read)."""
    async with uow:
        return await uow.escalations.with_facts(handover_id=handover_id, establishments=establishments, limit=limit)
