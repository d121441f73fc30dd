"""Where a notice went after it was published, as pure rules: which handover events set the pack's state, which
delivery outcomes count, and that the newest event by its own time wins, so the projection ends the same
whatever order its two topics arrive in. It holds identifiers and states only, no clinical content."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from contracts.envelope import EventType


class PackState(StrEnum):
    ISSUED = "issued"
    AMENDED = "amended"
    WITHDRAWN = "withdrawn"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"


# A handover event type -> the pack state it sets (None: the pack stays as it is) and the message it sends.
PACK_EVENTS: dict[str, tuple[PackState | None, str]] = {
    EventType.HANDOVER_PACK_ISSUED.value: (PackState.ISSUED, "handover.pack.issued"),
    EventType.HANDOVER_PACK_AMENDED.value: (PackState.AMENDED, "handover.pack.amended"),
    EventType.HANDOVER_PACK_WITHDRAWN.value: (PackState.WITHDRAWN, "handover.pack.withdrawn"),
    EventType.REFERRAL_REROUTED.value: (None, "handover.referral.rerouted"),
}
OUTCOME_EVENTS = (EventType.DELIVERY_SUCCEEDED, EventType.DELIVERY_FAILED, EventType.DELIVERY_DEAD_LETTERED)
OUTCOMES = frozenset({DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.DEAD_LETTERED})


def is_outcome(status: str) -> bool:
    return status in {state.value for state in OUTCOMES}


def pack_moves(*, version: int, at: datetime, current_version: int, current_at: datetime) -> bool:
    """A later version, or the same version's newer event, replaces what the projection holds."""
    return (version, at) >= (current_version, current_at)


def delivery_moves(*, at: datetime, current_at: datetime) -> bool:
    """A delivery's state is the newest event's (by its time), whatever the arrival order."""
    return at >= current_at
