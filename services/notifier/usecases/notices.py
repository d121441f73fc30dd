"""Notices the notifier itself sends (escalations, paused endpoints): durable, signed deliveries like any other,
so they are retried, ordered and audited the same way."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from services.notifier.adapters.tables import Delivery, DeliveryStatus
from services.notifier.domain.agencies import Agency


def notice_delivery(
    *,
    agency: Agency,
    webhook_type: str,
    source_event_id: str,
    subject: str,
    handover_id: str | None,
    data: dict[str, Any],
    correlation_id: str | None,
    now: datetime,
) -> Delivery:
    payload = {"type": webhook_type, "timestamp": now.isoformat(), "data": data}
    return Delivery(
        webhook_id=f"msg_{uuid.uuid4().hex}",
        source_event_id=source_event_id,
        event_type=webhook_type,
        agency_code=agency.code,
        subject=subject,
        handover_id=handover_id,
        payload=json.dumps(payload, separators=(",", ":")),
        correlation_id=correlation_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
