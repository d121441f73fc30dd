"""Custody events: every kind, and sequences that repeat or arrive out of order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.custody import CustodyEventKind, CustodyEventV1
from services.handover.domain.custody import Action, OpenHandover, Outcome, decide

OPEN = OpenHandover(release_date=date(2026, 12, 10), establishment_code="DMI")
CONTACT = {
    "name": "New contact",
    "role": "Healthcare",
    "phone": "0300 000 0002",
    "email": "hc.hhi@example.org",
}


def event(kind: str, sequence: int = 2, **fields: Any) -> CustodyEventV1:
    return CustodyEventV1.model_validate(
        {
            "prison_number": "A1234BC",
            "sequence": sequence,
            "kind": kind,
            "establishment_code": "DMI",
            "occurred_at": datetime(2026, 12, 1, tzinfo=UTC).isoformat(),
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("custody", "action"),
    [
        (event("release_date_changed", release_date="2026-12-07"), Action.AMEND_RELEASE_DATE),
        (event("release_date_changed", release_date="2026-12-10"), Action.NONE),
        (event("release_cancelled", detail="Further charges"), Action.WITHDRAW),
        (event("recalled"), Action.CLOSE_RECALLED),
        (
            event(
                "transfer", establishment_code="HHI", from_establishment_code="DMI", prison_contact=CONTACT
            ),
            Action.MOVE_ESTABLISHMENT,
        ),
        (event("reception", reason="transfer_in", establishment_code="HHI"), Action.MOVE_ESTABLISHMENT),
        (event("reception", reason="return_from_court"), Action.NONE),
        (event("released", reason="released"), Action.MARK_RELEASED),
        (event("released", reason="released_to_hospital"), Action.MARK_RELEASED),
        (event("released", reason="temporary_absence"), Action.NONE),
    ],
)
@pytest.mark.hazard("H22")
def test_what_each_kind_does_to_an_open_handover(custody: CustodyEventV1, action: Action) -> None:
    decision = decide(custody, last_sequence=1, handover=OPEN)
    assert decision.outcome == Outcome.APPLIED and decision.action == action and decision.detail


def test_every_kind_is_covered() -> None:
    covered = {"release_date_changed", "release_cancelled", "recalled", "transfer", "reception", "released"}
    assert covered == {kind.value for kind in CustodyEventKind}


@pytest.mark.hazard("H21")
def test_the_date_change_says_from_and_to() -> None:
    decision = decide(
        event("release_date_changed", release_date="2026-12-07"), last_sequence=None, handover=OPEN
    )
    assert "2026-12-10" in decision.detail and "2026-12-07" in decision.detail


def test_without_an_open_handover_an_event_is_recorded_only() -> None:
    decision = decide(event("release_cancelled"), last_sequence=None, handover=None)
    assert decision.outcome == Outcome.APPLIED and decision.action == Action.NONE


@pytest.mark.hazard("H17")
def test_a_repeated_sequence_is_applied_once() -> None:
    first = decide(event("release_cancelled", sequence=4), last_sequence=3, handover=OPEN)
    again = decide(event("release_cancelled", sequence=4), last_sequence=4, handover=OPEN)
    assert first.action == Action.WITHDRAW
    assert again.outcome == Outcome.DUPLICATE and again.action == Action.NONE


@pytest.mark.hazard("H21")
def test_an_older_event_arriving_late_is_recorded_and_ignored_with_the_reason() -> None:
    late = decide(
        event("release_date_changed", sequence=2, release_date="2026-12-20"), last_sequence=5, handover=OPEN
    )
    assert late.outcome == Outcome.STALE and late.action == Action.NONE
    assert "older than the last applied (5)" in late.detail


@pytest.mark.hazard("H26")
def test_out_of_order_events_end_in_the_state_of_the_latest() -> None:
    """Sequence 3 arrives before 2: 3 is applied, 2 is ignored, so the release keeps 3's date."""
    applied, last, state = [], None, OPEN
    for custody in (
        event("release_date_changed", sequence=3, release_date="2026-12-05"),
        event("release_date_changed", sequence=2, release_date="2026-12-20"),
    ):
        decision = decide(custody, last_sequence=last, handover=state)
        if decision.outcome == Outcome.APPLIED:
            applied.append(custody.sequence)
            last = custody.sequence
            state = OpenHandover(custody.release_date or state.release_date, state.establishment_code)
    assert applied == [3] and state.release_date == date(2026, 12, 5)


def test_gaps_in_the_sequence_are_allowed() -> None:
    assert decide(event("recalled", sequence=9), last_sequence=2, handover=OPEN).outcome == Outcome.APPLIED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "release_date_changed"}, "needs release_date"),
        ({"kind": "recalled", "release_date": "2026-12-01"}, "only for release_date_changed"),
        ({"kind": "reception"}, "reason of a reception"),
        ({"kind": "released", "reason": "escaped"}, "reason of a released"),
        ({"kind": "recalled", "reason": "breach"}, "takes no reason"),
        ({"kind": "transfer"}, "from_establishment_code"),
        ({"kind": "teleported"}, "kind"),
        ({"kind": "recalled", "sequence": 0}, "sequence"),
        ({"kind": "recalled", "prison_number": "123"}, "prison number"),
    ],
)
def test_invalid_custody_events_are_refused(fields: dict[str, Any], message: str) -> None:
    raw = {
        "prison_number": "A1234BC",
        "sequence": 1,
        "establishment_code": "DMI",
        "occurred_at": "2026-12-01T00:00:00Z",
        **fields,
    }
    with pytest.raises(ValidationError, match=message):
        CustodyEventV1.model_validate(raw)
