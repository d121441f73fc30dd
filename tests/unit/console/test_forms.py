"""The custody-event and answer forms: what a person enters becomes what the API takes, or named problems."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.console.domain.answer_form import annotated, answer_from_form, needs_reconfirming
from services.console.domain.custody_form import event_from_form

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HANDOVER = {
    "pack": {
        "patient_demographics": {"prison_number": "A1234BC"},
        "release": {"establishment_code": "DMI", "date": "2026-12-10"},
    }
}


def test_a_release_date_change_carries_the_new_date_and_the_next_sequence() -> None:
    event, errors = event_from_form(
        {
            "kind": "release_date_changed",
            "release_date[day]": "20",
            "release_date[month]": "12",
            "release_date[year]": "2026",
        },
        handover=HANDOVER,
        sequence=4,
        now=NOW,
    )
    assert errors == {}
    assert event is not None
    assert (event["release_date"], event["sequence"], event["establishment_code"]) == ("2026-12-20", 4, "DMI")


def test_missing_pieces_are_named_by_their_field() -> None:
    assert event_from_form({"kind": "release_date_changed"}, handover=HANDOVER, sequence=1, now=NOW)[1] == {
        "release_date-day": "Enter the new release date"
    }
    assert list(
        event_from_form({"kind": "transfer", "to_establishment": "x1"}, handover=HANDOVER, sequence=1, now=NOW)[1]
    ) == ["to_establishment"]
    assert list(event_from_form({}, handover=HANDOVER, sequence=1, now=NOW)[1]) == ["kind"]


def test_a_transfer_names_both_prisons() -> None:
    event, _ = event_from_form({"kind": "transfer", "to_establishment": "hhi"}, handover=HANDOVER, sequence=2, now=NOW)
    assert event is not None and (event["from_establishment_code"], event["establishment_code"]) == ("DMI", "HHI")


def test_an_acceptance_needs_a_time_and_place_and_probation_may_only_confirm() -> None:
    body, errors = answer_from_form({"answer": "accepted"}, probation=False)
    assert body is None and list(errors) == ["appt_date-day", "appt_place"]
    body, errors = answer_from_form(
        {
            "answer": "accepted",
            "appt_date[day]": "12",
            "appt_date[month]": "12",
            "appt_date[year]": "2026",
            "appt_time": "10:30",
            "appt_place": "Hub",
        },
        probation=False,
    )
    assert errors == {} and body == {
        "answer": "accepted",
        "first_appointment": {"at": "2026-12-12T10:30:00+00:00", "place": "Hub"},
    }
    assert answer_from_form({"answer": "accepted"}, probation=True)[1] == {"answer": "Select your answer"}


@pytest.mark.hazard("H94")
def test_a_time_typed_in_summer_is_uk_time_not_utc() -> None:
    """10:00 typed in July is 10:00 BST (09:00 UTC): read as UTC the person would be told to report at 11:00."""
    form = {
        "answer": "confirmed",
        "office": "Durham Probation Office",
        "report_date[day]": "12",
        "report_date[month]": "7",
        "report_date[year]": "2027",
        "report_time": "10:00",
    }
    body, errors = answer_from_form(form, probation=True)
    assert errors == {} and body is not None
    assert body["reporting_instructions"]["report_at"] == "2027-07-12T10:00:00+01:00"
    assert list(answer_from_form({"answer": "rejected"}, probation=False)[1]) == ["reason_code"]


@pytest.mark.hazard("H94")
def test_a_time_the_clocks_skip_is_refused_and_a_time_that_happens_twice_is_the_first() -> None:
    """01:30 on the night the clocks go forward never happens: read quietly it would become 02:30, a time nobody
    typed. 01:30 on the night they go back happens twice: it is the first (BST) one."""
    form = {
        "answer": "accepted",
        "appt_place": "Durham CMHT",
        "appt_date[day]": "28",
        "appt_date[month]": "3",
        "appt_date[year]": "2027",
        "appt_time": "01:30",
    }
    body, errors = answer_from_form(form, probation=False)
    assert body is None
    assert errors == {
        "appt_date-day": "There is no 01:30 on 28 March 2027: the clocks go forward from 01:00 to 02:00 that night. "
        "Enter a time before 01:00 or from 02:00"
    }
    body, errors = answer_from_form(form | {"appt_time": "02:00"}, probation=False)
    assert errors == {} and body is not None and body["first_appointment"]["at"] == "2027-03-28T02:00:00+01:00"
    autumn = form | {"appt_date[day]": "31", "appt_date[month]": "10"}
    body, errors = answer_from_form(autumn, probation=False)
    assert errors == {} and body is not None and body["first_appointment"]["at"] == "2027-10-31T01:30:00+01:00"


def test_confirmed_instructions_dropped_by_a_change_need_confirming_again() -> None:
    item = {"referral_kind": "reporting_instructions", "status": "accepted", "sent": {"pack": {}}}
    assert needs_reconfirming(item)
    assert not needs_reconfirming(item | {"sent": {"pack": {"reporting_instructions": {"office": "x"}}}})
    assert not needs_reconfirming(item | {"status": "requested"})


def test_a_confirmation_the_amended_entry_invalidates_needs_confirming_again() -> None:
    invalidated = {"item": "reporting_instructions_confirmation", "reason": "the release date moved"}
    item = {
        "referral_kind": "reporting_instructions",
        "status": "requested",
        "sent": {"pack": {}, "invalidated": [invalidated]},
    }
    assert needs_reconfirming(item)
    answered = {"pack": {"reporting_instructions": {"office": "x"}}, "invalidated": [invalidated]}
    assert not needs_reconfirming(item | {"status": "accepted", "sent": answered})
    assert not needs_reconfirming(item | {"referral_kind": "mental_health"})
    assert not needs_reconfirming(
        item | {"sent": {"pack": {}, "invalidated": [{"item": "first_appointment", "reason": "x"}]}}
    )


def test_an_inbox_item_names_what_changed_in_words_not_field_paths() -> None:
    item = {
        "referral_kind": "reporting_instructions",
        "release_date": "2026-12-22",
        "status": "requested",
        "sent": {"changes": [{"section": "release.date"}, {"section": "gp_practice"}, {"section": "risk_flags"}]},
    }
    assert annotated(item, date(2026, 12, 3))["changed"] == ["release date", "GP practice", "risk flags"]
