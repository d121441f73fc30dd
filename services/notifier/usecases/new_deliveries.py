"""A new delivery: one signed webhook to one agency, durable and retried like any other, whether it carries a
handover event's entry or a notice of the notifier's own (an escalation, a paused endpoint)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from services.common.tracing import current_traceparent
from services.notifier.adapters.tables import Delivery
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.webhooks import webhook_payload


def new_delivery(
    *,
    agency_code: str,
    webhook_type: str,
    source_event_id: str,
    subject: str,
    handover_id: str | None,
    data: dict[str, Any],
    correlation_id: str | None,
    now: datetime,
) -> Delivery:
    """A pending delivery due at once, with a new ``webhook-id``."""
    payload = webhook_payload(event_type=webhook_type, entry=data, at=now)
    return Delivery(
        webhook_id=f"msg_{uuid.uuid4().hex}",
        source_event_id=source_event_id,
        event_type=webhook_type,
        agency_code=agency_code,
        subject=subject,
        handover_id=handover_id,
        payload=json.dumps(payload, separators=(",", ":")),
        correlation_id=correlation_id,
        traceparent=current_traceparent(),
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
