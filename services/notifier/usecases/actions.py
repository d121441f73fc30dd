"""Who did what to a delivery or an endpoint: one row of the delivery-level view and one record of the
service's hash-chained audit trail, in the unit of work of the change itself."""

from __future__ import annotations

from datetime import datetime

from services.common.audit import AuditEntry
from services.common.auth import Principal
from services.notifier.adapters.tables import DeliveryAudit
from services.notifier.usecases.ports import NotifierUow

NOTIFIER = "notifier"
# Who acted: an authenticated operator, or the name of a system actor (``NOTIFIER`` for its own decisions).
Actor = Principal | str


async def record_action(
    uow: NotifierUow,
    *,
    action: str,
    actor: Actor,
    now: datetime,
    agency_code: str | None = None,
    webhook_id: str | None = None,
    handover_id: str | None = None,
    detail: str | None = None,
    subject: str | None = None,
) -> None:
    name = actor if isinstance(actor, str) else actor.client_id
    uow.delivery_audit.add(
        DeliveryAudit(
            at=now,
            action=action,
            actor=name,
            agency_code=agency_code,
            webhook_id=webhook_id,
            handover_id=handover_id,
            detail=detail[:1000] if detail else None,
        )
    )
    what = {
        "action": f"notifier.{action}",
        "resource_type": "delivery" if webhook_id else "endpoint",
        "resource_id": webhook_id or agency_code,
        "subject": subject,
        "details": {"agency_code": agency_code, "handover_id": handover_id, "detail": detail},
    }
    entry = AuditEntry.system(name, **what) if isinstance(actor, str) else AuditEntry.by(actor, **what)
    await uow.audit.record(entry)
