"""The correction form: prefilled from the current notice, and what it does not show is carried over unchanged."""

from __future__ import annotations

import random
from typing import Any

import pytest

from contracts.release_notice import ReleaseNoticeV1
from services.console.domain.notice_form import corrected_notice, form_values_of
from ttg.synthetic import release_notice


def _normal(notice: dict[str, Any]) -> dict[str, Any]:
    return ReleaseNoticeV1.model_validate(notice).model_dump(mode="json")


@pytest.mark.hazard("H73")
@pytest.mark.parametrize("full", [False, True])
def test_the_prefilled_form_sent_as_it_is_gives_back_the_same_notice(full: bool) -> None:
    current = _normal(release_notice(random.Random(7), full=full))
    notice, errors = corrected_notice(current, form_values_of(current))
    assert errors == {}
    assert notice is not None and _normal(notice) == current


@pytest.mark.hazard("H73")
def test_a_new_address_does_not_keep_the_old_local_authority_and_medicines_are_kept() -> None:
    current = _normal(release_notice(random.Random(8), full=True))
    form = form_values_of(current) | {"address_line_1": "1 Other Street", "postcode": "DH7 1AA"}
    notice, errors = corrected_notice(current, form)
    assert errors == {} and notice is not None
    address = notice["release"]["destination"]["address"]
    assert address["lines"] == ["1 Other Street"] and "local_authority" not in address
    assert notice["medications"] == current["medications"] and notice["allergies"] == current["allergies"]


def test_the_person_and_the_prison_stay_the_notices_whatever_the_form_says() -> None:
    current = _normal(release_notice(random.Random(9)))
    form = form_values_of(current) | {"prison_number": "Z9999ZZ", "establishment_code": "BMI"}
    notice, _ = corrected_notice(current, form)
    assert notice is not None
    assert (notice["prison_number"], notice["establishment_code"]) == (
        current["prison_number"],
        current["establishment_code"],
    )


def test_a_release_date_after_the_reporting_date_is_named_on_the_release_date() -> None:
    current = _normal(release_notice(random.Random(10), full=True))
    form = form_values_of(current) | {"release_date[year]": "2099"}
    notice, errors = corrected_notice(current, form)
    assert notice is None and "release_date-day" in errors
