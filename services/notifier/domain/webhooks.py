"""What each agency receives about a handover event. Handover chooses the agencies and minimises each one's
sections; the event carries a ``distribution``, one entry per agency, and each entry is that agency's webhook
``data`` as it is. The notifier adds no content and removes none: it only delivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.envelope import CloudEvent, EventType

# CloudEvent type on handover.events.v1 -> Standard Webhooks ``type`` sent to agencies.
WEBHOOK_EVENT_TYPES: dict[str, str] = {
    EventType.HANDOVER_PACK_ISSUED.value: "handover.pack.issued",
    EventType.HANDOVER_PACK_AMENDED.value: "handover.pack.amended",
    EventType.HANDOVER_PACK_WITHDRAWN.value: "handover.pack.withdrawn",
    EventType.REFERRAL_REROUTED.value: "handover.referral.rerouted",
    EventType.REFERRAL_ESCALATED.value: "handover.referral.escalated",
}


def distribution(event: CloudEvent) -> list[dict[str, Any]]:
    """The entries of an event's distribution; each names its ``agency_code``."""
    entries = event.data.get("distribution") or []
    well_formed = isinstance(entries, list) and all(
        isinstance(entry, dict) and entry.get("agency_code") for entry in entries
    )
    if not well_formed:
        raise ValueError("distribution must be a list of entries, each with an agency_code")
    codes = [entry["agency_code"] for entry in entries]
    if len(set(codes)) != len(codes):
        raise ValueError("an agency appears twice in one distribution")
    return entries


def webhook_payload(*, event_type: str, entry: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The Standard Webhooks body (``type``, ``timestamp``, ``data``) one agency receives."""
    return {"type": event_type, "timestamp": at.isoformat(), "data": entry}
