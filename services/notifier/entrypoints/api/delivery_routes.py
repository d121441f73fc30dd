"""Where each delivery stands (with its attempts), dead letters and their replay, and the delivery-level audit
view. Operators manage deliveries; an agency or probation reads its own, prison healthcare those of its
establishments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from services.common.auth import DeadLetterAdmin, DeliveriesReader
from services.common.problems import Problem
from services.common.read_audit import audit_read
from services.notifier.domain.access import may_see
from services.notifier.entrypoints.api.deps import ActorDep, NowDep, UowDep
from services.notifier.entrypoints.api.schemas import AuditPublic, DeliveryPublic, Replayed, ReplayRequest
from services.notifier.usecases import queries
from services.notifier.usecases.dead_letters import replay

router = APIRouter(prefix="/v1")


@router.get("/deliveries", response_model=list[DeliveryPublic])
async def list_deliveries(
    caller: DeliveriesReader, request: Request, uow: UowDep, handover_id: str = Query(max_length=36)
) -> list[DeliveryPublic]:
    """The deliveries made for a handover that the caller may see (an agency: its own), oldest first."""
    found = await queries.deliveries_of(uow=uow, handover_id=handover_id)
    found = [(delivery, attempts) for delivery, attempts in found if may_see(caller, delivery)]
    if found:
        webhook_ids = [delivery.webhook_id for delivery, _ in found]
        subject = found[0][0].subject
        await audit_read(
            request,
            caller,
            "deliveries.read",
            "handover",
            resource_id=handover_id,
            subject=subject,
            webhook_ids=webhook_ids,
        )
    return [DeliveryPublic.of(delivery, attempts) for delivery, attempts in found]


@router.get("/deliveries/{webhook_id}", response_model=DeliveryPublic)
async def get_delivery(
    caller: DeliveriesReader, request: Request, uow: UowDep, webhook_id: Annotated[str, Path(max_length=64)]
) -> DeliveryPublic:
    found = await queries.delivery_by_webhook_id(uow=uow, webhook_id=webhook_id)
    if found is None or not may_see(caller, found[0]):
        raise Problem(404, "Not found", f"No delivery has webhook id {webhook_id}.", "delivery-not-found")
    delivery, attempts = found
    resource_id = delivery.handover_id or webhook_id
    await audit_read(
        request,
        caller,
        "deliveries.read",
        "handover",
        resource_id=resource_id,
        subject=delivery.subject,
        webhook_ids=[webhook_id],
    )
    return DeliveryPublic.of(delivery, attempts)


@router.get("/dead-letters", response_model=list[DeliveryPublic])
async def list_dead_letters(
    caller: DeadLetterAdmin,
    request: Request,
    uow: UowDep,
    agency_code: Annotated[str | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[DeliveryPublic]:
    """Deliveries that did not arrive, oldest first: dead-lettered (schedule spent) or failed for good (a 4xx
    answer, 410 Gone, a disabled endpoint). Each can be replayed with its original webhook-id."""
    found = await queries.dead_letters(uow=uow, agency_code=agency_code, since=since, limit=limit)
    await audit_read(request, caller, "dead_letters.read", "delivery", webhook_ids=[d.webhook_id for d in found])
    return [DeliveryPublic.of(delivery) for delivery in found]


@router.post("/dead-letters/{webhook_id}/replay", response_model=Replayed, status_code=202)
async def replay_one(
    uow: UowDep, now: NowDep, actor: ActorDep, webhook_id: Annotated[str, Path(max_length=64)]
) -> Replayed:
    """Send one failed or dead-lettered delivery again, same webhook-id, in its place in the person's order."""
    replayed = await replay(uow=uow, actor=actor, now=now, webhook_id=webhook_id)
    if not replayed:
        detail = f"No failed or dead-lettered delivery has webhook id {webhook_id}."
        raise Problem(404, "Not found", detail, "dead-letter-not-found")
    return Replayed(replayed=replayed)


@router.post("/dead-letters/replay", response_model=Replayed, status_code=202)
async def replay_endpoint(uow: UowDep, now: NowDep, actor: ActorDep, body: ReplayRequest) -> Replayed:
    """Replay every dead letter of one endpoint (since a time, if given)."""
    replayed = await replay(uow=uow, actor=actor, now=now, agency_code=body.agency_code, since=body.since)
    return Replayed(replayed=replayed)


@router.get("/delivery-audit", response_model=list[AuditPublic])
async def delivery_audit(
    caller: DeadLetterAdmin,
    request: Request,
    uow: UowDep,
    webhook_id: Annotated[str | None, Query(max_length=64)] = None,
    agency_code: Annotated[str | None, Query(max_length=20)] = None,
    handover_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[AuditPublic]:
    """What was done to deliveries and endpoints, by whom, oldest first: the operator's view of the
    notifier's part of the audit trail (the hash-chained trail itself is ``GET /v1/audit``)."""
    found = await queries.delivery_audit(
        uow=uow, webhook_id=webhook_id, agency_code=agency_code, handover_id=handover_id
    )
    resource_id = handover_id or webhook_id
    await audit_read(
        request,
        caller,
        "delivery_audit.read",
        "delivery_audit",
        resource_id=resource_id,
        agency_code=agency_code,
        records=len(found),
    )
    return [AuditPublic(**item.model_dump(exclude={"id"})) for item in found]
