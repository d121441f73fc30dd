"""A new delivery is due at once, with its own webhook id and the Standard Webhooks body."""

from __future__ import annotations

import json

from services.notifier.domain.states import DeliveryStatus
from services.notifier.usecases.new_deliveries import new_delivery
from tests.unit.notifier.usecases.conftest import T0


def test_a_new_delivery_is_pending_now_with_a_body_of_type_timestamp_and_data() -> None:
    made = [
        new_delivery(
            agency_code="HCC",
            webhook_type="endpoint.paused",
            source_event_id="e",
            subject="A1234BC",
            handover_id="h",
            data={"agency_code": "CMHT"},
            correlation_id=None,
            now=T0,
        )
        for _ in range(2)
    ]
    assert made[0].webhook_id != made[1].webhook_id and made[0].webhook_id.startswith("msg_")
    assert (made[0].status, made[0].next_attempt_at, made[0].created_at) == (DeliveryStatus.PENDING, T0, T0)
    assert json.loads(made[0].payload) == {
        "type": "endpoint.paused",
        "timestamp": T0.isoformat(),
        "data": {"agency_code": "CMHT"},
    }
