"""The notifier's request and answer shapes: unknown fields refused, escalations shown with their release."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.notifier.adapters.tables import Escalation, HandoverFact
from services.notifier.entrypoints.api.schemas import EscalationPublic, ReplayRequest


def test_a_replay_request_refuses_a_field_it_does_not_define() -> None:
    with pytest.raises(ValidationError) as raised:
        ReplayRequest.model_validate({"agency_code": "GP-A", "sence": "2026-01-01T00:00:00Z"})
    assert [error["loc"] for error in raised.value.errors()] == [("sence",)]
    assert ReplayRequest.model_validate({"agency_code": "GP-A"}).since is None


def test_an_escalation_is_shown_with_its_release_and_the_agencies_told() -> None:
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    item = Escalation(
        id="e1", handover_id="h1", agency_code="GP-A", deadline="received", due_at=at, escalated_at=at, told="PHC,,CMHT"
    )
    fact = HandoverFact(
        handover_id="h1", subject="A1234BC", establishment_code="DMI", release_date=date(2026, 3, 5), updated_at=at
    )
    shown = EscalationPublic.of(item, fact)
    assert (shown.told, shown.establishment_code, shown.prison_number) == (["PHC", "CMHT"], "DMI", "A1234BC")
    assert shown.release_date == date(2026, 3, 5)
    unknown = EscalationPublic.of(item, None)
    assert (unknown.establishment_code, unknown.prison_number, unknown.release_date) == (None, None, None)
