"""What the notifier tells the rest of the system on ``delivery.events.v1``, v1.

- Outcomes of a webhook delivery (``DELIVERY_SUCCEEDED``, ``DELIVERY_FAILED``, ``DELIVERY_DEAD_LETTERED``), so
  that readiness knows whether an agency really has the pack, not only that it was sent.
- An endpoint paused after failing for too long (the owner and the prison contacts are told).
- A referral escalated because its agency did not answer by a deadline.

Events carry identifiers only (webhook id, handover id, agency codes, prison number as subject), never clinical
or personal detail: the pack itself stays with the handover service.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from contracts.base import ContractModel
from contracts.envelope import schema_uri

DELIVERY_OUTCOME_SCHEMA = schema_uri("delivery-outcome", "1.0")
ENDPOINT_PAUSED_SCHEMA = schema_uri("endpoint-paused", "1.0")
REFERRAL_ESCALATED_SCHEMA = schema_uri("referral-escalated", "1.1")


class DeliveryEventType(StrEnum):
    """Event types on ``delivery.events.v1`` beyond the three outcomes reserved in ``contracts.envelope``."""

    ENDPOINT_PAUSED = "uk.nhs.ttg.delivery.endpoint.paused"
    REFERRAL_ESCALATED = "uk.nhs.ttg.delivery.referral.escalated"


class DeliveryOutcomeV1(ContractModel):
    webhook_id: str
    source_event_id: str
    event_type: str | None = Field(default=None, description="Webhook type, e.g. handover.pack.issued")
    handover_id: str | None
    agency_code: str
    status: str = Field(description="delivered, failed or dead_lettered")
    attempts: int = Field(ge=0)
    reason: str | None = None
    replays: int = Field(default=0, ge=0, description="How often an operator replayed this delivery")


class EndpointPausedV1(ContractModel):
    agency_code: str
    reason: str
    failing_since: datetime
    paused_at: datetime
    owner_contact: str | None = Field(default=None, description="Who runs the endpoint (directory contact)")
    pending_deliveries: int = Field(ge=0)
    establishments_told: list[str] = Field(default_factory=list)


class EscalationDeadline(StrEnum):
    AFTER_DELIVERY = "after_delivery"
    BEFORE_RELEASE = "before_release"


class OutstandingReferral(ContractModel):
    """One referral still unanswered at a deadline: which agency, and which item of readiness it holds up."""

    agency_code: str
    agency_kind: str
    item: str = Field(description="The readiness item it holds up, e.g. mental_health_referral")
    delivered_at: datetime
    due_at: datetime


class ReferralEscalatedV1(ContractModel):
    """One message per person per deadline: every referral of the handover unanswered at that deadline is in
    ``outstanding`` (since 1.1); ``agency_code`` and ``agency_kind`` name the first of them, as in 1.0."""

    escalation_id: str
    handover_id: str
    agency_code: str = Field(description="The agency that has not answered (the first, when several)")
    agency_kind: str
    deadline: EscalationDeadline
    due_at: datetime
    delivered_at: datetime
    release_date: date | None = None
    escalated_at: datetime
    told: list[str] = Field(description="Agency codes the escalation was sent to")
    outstanding: list[OutstandingReferral] = Field(
        default_factory=list, description="Every referral unanswered at this deadline, with its agency and item"
    )


DELIVERY_CONTRACTS: dict[str, type[ContractModel]] = {
    "delivery-outcome.v1": DeliveryOutcomeV1,
    "endpoint-paused.v1": EndpointPausedV1,
    "referral-escalated.v1": ReferralEscalatedV1,
}
