"""What the notifier's API answers with: public shapes, never the tables themselves."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.notifier.adapters.tables import Delivery, DeliveryAttempt, Escalation, HandoverFact


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None = None


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
    replays: int = 0
    attempts: list[AttemptPublic] = Field(default_factory=list)

    @classmethod
    def of(cls, delivery: Delivery, attempts: list[DeliveryAttempt] | None = None) -> DeliveryPublic:
        return cls(
            **delivery.model_dump(include=set(cls.model_fields) - {"attempts"}),
            attempts=[
                AttemptPublic(**attempt.model_dump(include=set(AttemptPublic.model_fields)))
                for attempt in attempts or []
            ],
        )


class Replayed(BaseModel):
    replayed: list[str]


class ReplayRequest(BaseModel):
    # refuses fields it does not define, like every request body: a misspelt ``since`` must not replay everything
    model_config = ConfigDict(extra="forbid")

    agency_code: str = Field(min_length=1, max_length=20)
    since: datetime | None = Field(None, description="Only those dead-lettered at or after this time")


class EndpointPublic(BaseModel):
    agency_code: str
    name: str
    kind: str
    status: str
    reason: str | None = None
    changed_at: datetime | None = None
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    owner_contact: str | None = None
    revision: int = Field(0, description="The directory revision of the entry the notifier delivers with")


class EndpointChanged(BaseModel):
    agency_code: str
    status: str
    waiting: list[DeliveryPublic] = Field(
        default_factory=list,
        description="Deliveries to this endpoint that did not arrive (failed or dead-lettered), oldest first: "
        "resume with resend=true to send them again, in order, with their original webhook-ids",
    )
    resent: list[str] = Field(default_factory=list, description="Webhook ids put back on the schedule")


class EscalationPublic(BaseModel):
    id: str
    handover_id: str
    agency_code: str
    deadline: str
    due_at: datetime
    escalated_at: datetime
    told: list[str]
    establishment_code: str | None = None
    prison_number: str | None = None
    release_date: date | None = None

    @classmethod
    def of(cls, item: Escalation, fact: HandoverFact | None) -> EscalationPublic:
        """An escalation with what is known of its release; ``told`` is stored as comma-separated agency codes."""
        return cls(
            **item.model_dump(exclude={"told"}),
            told=[code for code in item.told.split(",") if code],
            establishment_code=fact.establishment_code if fact else None,
            prison_number=fact.subject if fact else None,
            release_date=fact.release_date if fact else None,
        )


class ReferralPublic(BaseModel):
    handover_id: str
    agency_code: str
    agency_kind: str | None
    delivered_at: datetime | None
    answered_at: datetime | None
    answer: str | None


class AuditPublic(BaseModel):
    at: datetime
    action: str
    actor: str
    agency_code: str | None
    webhook_id: str | None
    handover_id: str | None
    detail: str | None
