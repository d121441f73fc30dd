"""HTTP API of notifier: where each delivery of a handover stands, with its attempts."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.common.audit import AuditEntry, append
from services.common.auth import DeliveriesReader
from services.notifier import service
from services.notifier.access import may_see

router = APIRouter(prefix="/v1")


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryPublic(BaseModel):
    webhook_id: str
    agency_code: str
    event_type: str
    handover_id: str | None
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptPublic]


@router.get("/deliveries", response_model=list[DeliveryPublic])
async def list_deliveries(
    caller: DeliveriesReader, request: Request, handover_id: str = Query(max_length=36)
) -> list[DeliveryPublic]:
    """The deliveries made for a handover that this caller may see, oldest first."""
    found = await service.deliveries_of(database=request.app.state.database, handover_id=handover_id)
    found = [(delivery, attempts) for delivery, attempts in found if may_see(caller, delivery)]
    if found:
        await append(request.app.state.database, AuditEntry.by(
            caller, action="deliveries.read", resource_type="handover", resource_id=handover_id,
            subject=found[0][0].subject,
            details={"webhook_ids": [delivery.webhook_id for delivery, _ in found]},
            correlation_id=request.state.correlation_id), request.app.state.clock.now())
    return [
        DeliveryPublic(
            webhook_id=delivery.webhook_id,
            agency_code=delivery.agency_code,
            event_type=delivery.event_type,
            handover_id=delivery.handover_id,
            status=delivery.status,
            attempt_count=delivery.attempt_count,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            finished_at=delivery.finished_at,
            attempts=[
                AttemptPublic(
                    attempted_at=attempt.attempted_at,
                    status_code=attempt.status_code,
                    latency_ms=attempt.latency_ms,
                    error=attempt.error,
                )
                for attempt in attempts
            ],
        )
        for delivery, attempts in found
    ]
