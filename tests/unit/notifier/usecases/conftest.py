"""Fixtures of the notifier's use-case tests: an in-memory unit of work, a small directory, a frozen time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.answers import REFERRAL_ANSWERED_SCHEMA, Answer, ReferralAnsweredV1
from contracts.envelope import CloudEvent, EventType, new_event
from services.notifier.adapters.tables import Delivery
from services.notifier.domain.agencies import Agency, Directory
from services.notifier.usecases.new_deliveries import new_delivery
from tests.unit.notifier.usecases.fakes import FakeNotifierUow

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def answer_event(answer: Answer, agency_code: str = "CMHT") -> CloudEvent:
    """The agency's answer to its referral of handover ``h`` (about A1234BC), as handover publishes it."""
    answered = ReferralAnsweredV1(handover_id="h", agency_code=agency_code, answer=answer, answered_at=T0)
    return new_event(
        type=EventType.REFERRAL_ANSWERED,
        source="s",
        subject="A1234BC",
        dataschema=REFERRAL_ANSWERED_SCHEMA,
        data=answered,
        correlation_id=None,
    )


def agency(code: str, kind: str, **extra: Any) -> Agency:
    webhook = {"url": f"https://{code.lower()}.example.org/hook", "secret_ref": "literal:whsec_AA=="}
    return Agency.model_validate(
        {
            "code": code,
            "kind": kind,
            "name": code,
            "contact_email": f"{code.lower()}@example.org",
            "webhook": webhook,
            **extra,
        }
    )


@pytest.fixture
def uow() -> FakeNotifierUow:
    return FakeNotifierUow()


@pytest.fixture
def directory() -> Directory:
    return Directory(
        agencies=[
            agency("GP", "gp_practice"),
            agency("CMHT", "community_mental_health_team"),
            agency("REC", "reconnect", coverage={"postcode_districts": ["TS1"]}),
            agency("HCC", "prison_healthcare", establishments=["HHI"]),
        ]
    )


def pending(uow: FakeNotifierUow, code: str, subject: str = "A1234BC", handover_id: str = "h", **data: Any) -> Delivery:
    """A pending delivery, due at T0, stored in the fake."""
    delivery = new_delivery(
        agency_code=code,
        webhook_type="handover.pack.issued",
        source_event_id=f"e-{len(uow.deliveries.rows)}",
        subject=subject,
        handover_id=handover_id,
        data=data,
        correlation_id=None,
        now=T0,
    )
    uow.deliveries.add(delivery)
    return delivery


def leased(delivery: Delivery) -> Delivery:
    """``delivery`` leased as a claim leases it (a round is recorded only under its claim's lease)."""
    delivery.lease_expires_at = delivery.lease_expires_at or T0 + timedelta(seconds=60)
    return delivery
