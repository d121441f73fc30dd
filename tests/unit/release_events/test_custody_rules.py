"""The custody register's rules: who may change whose prisoner, as pure functions."""

from __future__ import annotations

import pytest

from services.release_events.domain.custody_rules import (
    HELD_ELSEWHERE,
    NOT_HELD,
    UNKNOWN,
    Allowed,
    Custody,
    CustodyEvent,
    Kind,
    Refused,
    decide_amendment,
    decide_event,
    decide_notice,
)

HELD_AT_HHI = Custody(holder="HHI", sequence=4)
RELEASED = Custody(holder=None, sequence=7, released=True)


def allowed(decision: Allowed | Refused) -> Custody:
    assert isinstance(decision, Allowed), decision
    return decision.after


def refused(decision: Allowed | Refused) -> Refused:
    assert isinstance(decision, Refused), decision
    return decision


@pytest.mark.hazard("H31")
def test_a_notice_for_someone_held_elsewhere_is_refused_without_naming_where() -> None:
    refusal = refused(decide_notice(HELD_AT_HHI, "DMI"))
    assert refusal.kind == HELD_ELSEWHERE and refusal.field == "establishment_code"
    assert "another establishment" in refusal.detail and "HHI" not in refusal.detail


@pytest.mark.hazard("H31")
def test_a_notice_claims_someone_nobody_holds_and_the_holder_may_send_another() -> None:
    assert allowed(decide_notice(UNKNOWN, "DMI")) == Custody(holder="DMI")
    assert allowed(decide_notice(RELEASED, "BMI")) == Custody(holder="BMI", sequence=7)
    assert allowed(decide_notice(HELD_AT_HHI, "HHI")) == HELD_AT_HHI


@pytest.mark.hazard("H32")
@pytest.mark.parametrize("kind", [k for k in Kind if k != Kind.TRANSFER])
def test_only_the_holder_reports_events_of_any_kind(kind: Kind) -> None:
    refusal = refused(decide_event(HELD_AT_HHI, CustodyEvent(kind, 5, "DMI")))
    assert refusal.kind == HELD_ELSEWHERE and refusal.field == "establishment_code"
    assert "HHI" not in refusal.detail
    assert isinstance(decide_event(HELD_AT_HHI, CustodyEvent(kind, 5, "HHI")), Allowed)


@pytest.mark.hazard("H32")
def test_a_transfer_is_reported_by_the_sender_and_hands_the_person_over() -> None:
    # the receiving establishment cannot take the person by reporting the transfer itself
    pulled = refused(decide_event(HELD_AT_HHI, CustodyEvent(Kind.TRANSFER, 5, "DMI", "DMI")))
    assert pulled.field == "from_establishment_code"
    claimed = refused(decide_event(HELD_AT_HHI, CustodyEvent(Kind.TRANSFER, 5, "DMI", "BMI")))
    assert claimed.kind == HELD_ELSEWHERE
    after = allowed(decide_event(HELD_AT_HHI, CustodyEvent(Kind.TRANSFER, 5, "DMI", "HHI")))
    assert after == Custody(holder="DMI", sequence=5)
    # now the receiver acts and the sender may not
    assert isinstance(decide_event(after, CustodyEvent(Kind.RELEASE_DATE_CHANGED, 6, "DMI")), Allowed)
    assert isinstance(decide_event(after, CustodyEvent(Kind.RELEASE_CANCELLED, 6, "HHI")), Refused)
    assert isinstance(decide_notice(after, "HHI"), Refused) and isinstance(decide_notice(after, "DMI"), Allowed)


@pytest.mark.hazard("H33")
def test_a_late_event_never_moves_the_person() -> None:
    late_transfer = CustodyEvent(Kind.TRANSFER, 3, "BMI", "HHI")
    assert allowed(decide_event(HELD_AT_HHI, late_transfer)) == HELD_AT_HHI
    late_release = CustodyEvent(Kind.RELEASED, 2, "HHI")
    assert allowed(decide_event(HELD_AT_HHI, late_release)) == HELD_AT_HHI
    late_reception = CustodyEvent(Kind.RECEPTION, 5, "DMI")
    assert allowed(decide_event(RELEASED, late_reception)) == RELEASED


def test_a_reception_when_nobody_holds_the_person_makes_the_receiver_the_holder() -> None:
    assert allowed(decide_event(UNKNOWN, CustodyEvent(Kind.RECEPTION, 1, "BMI"))) == Custody("BMI", 1)
    assert allowed(decide_event(RELEASED, CustodyEvent(Kind.RECALLED, 8, "DMI"))) == Custody("DMI", 8)
    assert refused(decide_event(HELD_AT_HHI, CustodyEvent(Kind.RECEPTION, 5, "BMI"))).kind == HELD_ELSEWHERE


def test_released_ends_custody_and_a_cancellation_does_not() -> None:
    assert allowed(decide_event(HELD_AT_HHI, CustodyEvent(Kind.RELEASED, 5, "HHI"))) == Custody(
        holder=None, sequence=5, released=True
    )
    assert allowed(decide_event(HELD_AT_HHI, CustodyEvent(Kind.RELEASE_CANCELLED, 5, "HHI"))) == Custody(
        holder="HHI", sequence=5
    )


@pytest.mark.hazard("H34")
def test_only_the_holder_corrects_a_notice_and_never_after_custody_ended() -> None:
    assert isinstance(decide_amendment(HELD_AT_HHI, "HHI"), Allowed)
    assert refused(decide_amendment(HELD_AT_HHI, "DMI")).kind == HELD_ELSEWHERE
    assert refused(decide_amendment(RELEASED, "HHI")).kind == NOT_HELD
