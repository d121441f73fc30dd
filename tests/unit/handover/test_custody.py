"""Custody events: every kind, and sequences that repeat or arrive out of order."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.custody import CustodyEventKind, CustodyEventV1
from services.handover.domain.custody import (
    Action,
    Applied,
    CustodyOutcome,
    Decides,
    Ended,
    History,
    OpenHandover,
    decide,
    decides,
    reclassified,
)

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
            event("transfer", establishment_code="HHI", from_establishment_code="DMI", prison_contact=CONTACT),
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
    decision = decide(custody, History(seen=frozenset({1}), handover=OPEN, applied=(Applied(1, None),)))
    assert decision.outcome == CustodyOutcome.APPLIED and decision.action == action and decision.detail


def test_every_kind_is_covered() -> None:
    covered = {"release_date_changed", "release_cancelled", "recalled", "transfer", "reception", "released"}
    assert covered == {kind.value for kind in CustodyEventKind}


@pytest.mark.hazard("H21")
def test_the_date_change_says_from_and_to() -> None:
    decision = decide(event("release_date_changed", release_date="2026-12-07"), History(handover=OPEN))
    assert "2026-12-10" in decision.detail and "2026-12-07" in decision.detail


@pytest.mark.hazard("H17")
def test_a_repeated_sequence_is_applied_once() -> None:
    first = decide(event("release_cancelled", sequence=4), History(seen=frozenset({3}), handover=OPEN))
    again = decide(event("release_cancelled", sequence=4), History(seen=frozenset({3, 4}), handover=OPEN))
    assert first.action == Action.WITHDRAW
    assert again.outcome == CustodyOutcome.DUPLICATE and again.action == Action.NONE


def test_gaps_in_the_sequence_are_allowed() -> None:
    history = History(seen=frozenset({2}), handover=OPEN, applied=(Applied(2, Decides.RELEASE_DATE),))
    assert decide(event("recalled", sequence=9), history).outcome == CustodyOutcome.APPLIED


# --- out of order: the ordered log decides -----------------------------------------------------------------


def _run(events: list[CustodyEventV1]) -> tuple[OpenHandover | None, str, list[CustodyOutcome]]:
    """Apply ``events`` in arrival order the way the service does; the case's final facts and state."""
    case: OpenHandover | None = OPEN
    state, seen, applied, outcomes = "open", set(), [], []
    ended: Ended | None = None
    for custody in events:
        history = History(frozenset(seen), case if state == "open" else None, tuple(applied), ended)
        decision = decide(custody, history)
        outcomes.append(decision.outcome)
        seen.add(custody.sequence)
        if decision.outcome != CustodyOutcome.APPLIED:
            continue
        applied.append(Applied(custody.sequence, decides(custody)))
        if state != "open":
            continue
        assert case is not None
        if decision.action == Action.AMEND_RELEASE_DATE:
            case = OpenHandover(custody.release_date or case.release_date, case.establishment_code)
        elif decision.action == Action.MOVE_ESTABLISHMENT:
            case = OpenHandover(case.release_date, custody.establishment_code)
        elif decision.action in (Action.WITHDRAW, Action.CLOSE_RECALLED):
            state = "withdrawn" if decision.action == Action.WITHDRAW else "closed"
            ended = Ended(state, custody.sequence, decision.action == Action.WITHDRAW)
    return (case if state == "open" else None), state, outcomes  # a withdrawn pack's facts no longer matter


MOVE = {"establishment_code": "HHI", "from_establishment_code": "DMI"}
SEQUENCES = [
    [
        event("release_date_changed", sequence=1, release_date="2026-12-12"),
        event("release_date_changed", sequence=2, release_date="2026-12-14"),
        event("release_date_changed", sequence=3, release_date="2026-12-20"),
    ],
    [
        event("release_date_changed", sequence=1, release_date="2026-12-12"),
        event("transfer", sequence=2, **MOVE),
        event("release_date_changed", sequence=3, release_date="2026-12-20"),
    ],
    [
        event("transfer", sequence=1, **MOVE),
        event("release_date_changed", sequence=2, release_date="2026-12-14"),
        event("release_cancelled", sequence=3),
    ],
]


@pytest.mark.hazard("H26", "H37")
@pytest.mark.parametrize("in_order", SEQUENCES)
def test_any_arrival_order_ends_in_the_state_of_the_sequence_order(in_order: list[CustodyEventV1]) -> None:
    """3 before 2, and every other order: the same release date, establishment and state as in order."""
    expected = _run(in_order)[:2]
    for arrival in itertools.permutations(in_order):
        assert _run(list(arrival))[:2] == expected, [e.sequence for e in arrival]


@pytest.mark.hazard("H21", "H37")
def test_a_late_event_a_later_one_decided_is_superseded_with_the_reason() -> None:
    history = History(seen=frozenset({5}), handover=OPEN, applied=(Applied(5, Decides.RELEASE_DATE),))
    late = decide(event("release_date_changed", sequence=2, release_date="2026-12-20"), history)
    assert late.outcome == CustodyOutcome.SUPERSEDED and late.action == Action.NONE
    assert "sequence 5 decided the release date" in late.detail


@pytest.mark.hazard("H37")
def test_a_late_event_nothing_later_decided_is_applied() -> None:
    history = History(seen=frozenset({5}), handover=OPEN, applied=(Applied(5, Decides.RELEASE_DATE),))
    late = decide(event("transfer", sequence=2, **MOVE), history)
    assert late.outcome == CustodyOutcome.APPLIED and late.action == Action.MOVE_ESTABLISHMENT
    assert "arrived after sequence 5" in late.detail


@pytest.mark.hazard("H39")
def test_a_late_cancellation_overrides_the_later_events() -> None:
    history = History(
        seen=frozenset({3, 4}), handover=OPEN, applied=(Applied(3, Decides.RELEASE_DATE), Applied(4, Decides.WHERE))
    )
    late = decide(event("release_cancelled", sequence=2), history)
    assert late.action == Action.WITHDRAW and late.overrides == (3, 4)
    assert reclassified(CustodyEventKind.RELEASE_DATE_CHANGED, 2, "withdrawn")[0] == CustodyOutcome.NEEDS_NEW_NOTICE
    assert reclassified(CustodyEventKind.TRANSFER, 2, "withdrawn")[0] == CustodyOutcome.SUPERSEDED


@pytest.mark.hazard("H38")
@pytest.mark.parametrize("kind", ["release_date_changed", "transfer", "reception"])
def test_an_event_before_any_notice_is_held(kind: str) -> None:
    fields: dict[str, Any] = {
        "release_date_changed": {"release_date": "2026-12-20"},
        "transfer": MOVE,
        "reception": {"reason": "transfer_in"},
    }[kind]
    decision = decide(event(kind, sequence=1, **fields), History())
    assert decision.outcome == CustodyOutcome.HELD and "next notice" in decision.detail


def test_an_ending_event_without_a_case_is_recorded_only() -> None:
    """A cancellation or recall with no case is not held: a notice that comes after it plans a new release."""
    for kind in ("release_cancelled", "recalled"):
        decision = decide(event(kind, sequence=1), History())
        assert decision.outcome == CustodyOutcome.APPLIED and decision.action == Action.NONE


@pytest.mark.hazard("H39")
def test_a_date_change_after_a_cancellation_asks_for_a_new_notice() -> None:
    history = History(seen=frozenset({2}), ended=Ended("withdrawn", 2, cancelled=True))
    decision = decide(event("release_date_changed", sequence=3, release_date="2026-12-20"), history)
    assert decision.outcome == CustodyOutcome.NEEDS_NEW_NOTICE and decision.action == Action.ASK_FOR_NEW_NOTICE
    assert "new notice" in decision.detail


def test_an_event_older_than_the_end_of_the_case_is_superseded() -> None:
    history = History(seen=frozenset({4}), ended=Ended("closed", 4))
    decision = decide(event("release_date_changed", sequence=3, release_date="2026-12-20"), history)
    assert decision.outcome == CustodyOutcome.SUPERSEDED and "sequence 4" in decision.detail


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


@pytest.mark.hazard("H37")
def test_a_late_event_of_an_earlier_case_does_not_change_the_new_one() -> None:
    history = History(seen=frozenset({1, 2, 5}), handover=OPEN, earlier_case_until=5)
    decision = decide(event("release_date_changed", sequence=3, release_date="2026-12-20"), history)
    assert decision.outcome == CustodyOutcome.SUPERSEDED and "earlier case" in decision.detail
    assert decide(event("release_date_changed", sequence=6, release_date="2026-12-20"), history).outcome == (
        CustodyOutcome.APPLIED
    )
