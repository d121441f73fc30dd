"""The release-notice form: every bad field is named by the form field that holds it, in the form's order;
a valid form becomes a notice the API's contract model accepts."""

from __future__ import annotations

import random
from datetime import date, timedelta

from contracts.release_notice import ReleaseNoticeV1
from services.console.domain.notice_form import errors_from_problem, notice_from_form
from ttg.synthetic import nhs_number

CONTACT = {"name": "Priya Shah", "role": "Prison healthcare", "email": "p@example.org"}


def form(**changes: str) -> dict[str, str]:
    leaves = date.today() + timedelta(days=5)
    values = {
        "prison_number": "a1234bc",
        "nhs_number": nhs_number(random.Random(1)),
        "given_name": "Sam",
        "family_name": "Testperson",
        "date_of_birth[day]": "17",
        "date_of_birth[month]": "4",
        "date_of_birth[year]": "1990",
        "establishment_code": "DMI",
        "release_date[day]": str(leaves.day),
        "release_date[month]": str(leaves.month),
        "release_date[year]": str(leaves.year),
        "release_type": "conditional",
        "destination": "address",
        "address_line_1": "1 Example Street",
        "town": "Durham",
        "postcode": "dh1 1aa",
        "mh_urgency": "routine",
        "mh_consent": "yes",
        "contact_phone": "0191 000 0000",
    }
    return values | changes


def test_a_valid_form_is_a_valid_notice() -> None:
    notice, errors = notice_from_form(form(), contact=CONTACT)
    assert errors == {}
    assert notice is not None
    valid = ReleaseNoticeV1.model_validate(notice)
    assert valid.prison_number == "A1234BC" and valid.mental_health is not None


def test_a_bad_nhs_number_is_named_and_nothing_is_made() -> None:
    good = nhs_number(random.Random(1))
    notice, errors = notice_from_form(form(nhs_number=good[:9] + str((int(good[9]) + 1) % 10)), contact=CONTACT)
    assert notice is None
    assert list(errors) == ["nhs_number"]
    assert "NHS number" in errors["nhs_number"]


def test_every_bad_field_is_named_in_form_order() -> None:
    notice, errors = notice_from_form(
        form(prison_number="12", **{"date_of_birth[month]": "13"}, postcode="nowhere", mh_consent="", contact_phone=""),
        contact=CONTACT,
    )
    assert notice is None
    assert list(errors) == ["prison_number", "date_of_birth-day", "postcode", "mh_consent", "contact_phone"]


def test_the_apis_own_refusals_map_to_fields() -> None:
    problem = {
        "errors": [
            {
                "field": "release.destination.address.postcode",
                "pointer": "#/release/destination/address/postcode",
                "detail": "bad",
            },
            {"field": "establishment_code", "pointer": "#/establishment_code", "detail": "not yours"},
        ]
    }
    assert list(errors_from_problem(problem)) == ["postcode", "establishment_code"]
