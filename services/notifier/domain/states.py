"""Where a delivery and an endpoint stand, and which delivery states hold or may be replayed."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # final, not retried: a 4xx answer, 410 Gone, the endpoint disabled or removed
    DEAD_LETTERED = "dead_lettered"  # the schedule was spent; listed, and can be replayed


# What an earlier delivery about the same person to the same endpoint may be while a later one waits for it:
# anything but delivered. A delivery that failed for good or was dead-lettered holds the later ones until a
# replay delivers it (a replay keeps its place: its ``seq`` does not change).
HOLDING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED)

# What did not arrive and can be sent again: both hold the later messages about the person to the endpoint.
REPLAYABLE = (DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED)


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # failing for too long, or paused by an operator: held until resumed
    DISABLED = "disabled"  # the endpoint answered 410 Gone: nothing more is sent until re-enabled


class EndpointEffect(StrEnum):
    """What one round says about its endpoint's health."""

    SUCCESS = "success"
    FAILURE = "failure"
    GONE = "gone"
