"""The contracts: identifiers validated where they enter, and exported schemas that match the models."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.envelope import major_version
from contracts.export import export_schemas
from contracts.identifiers import nhs_number_is_valid, with_check_digit
from contracts.release_notice import ReleaseNoticeV1
from ttg.synthetic import nhs_number, release_notice


def test_exported_schemas_match_the_models(tmp_path: Path) -> None:
    assert export_schemas(check=True) == [], "run: ./run contracts export"
    assert export_schemas(directory=tmp_path) != [], "a fresh folder has every schema written"


@pytest.mark.parametrize("number", ["9434765919", "9990000018", "4010232137"])
def test_valid_nhs_numbers(number: str) -> None:
    assert nhs_number_is_valid(number)


@pytest.mark.hazard("H04")
@pytest.mark.parametrize("number", ["9434765918", "999000001", "99900000181", "99900000AB", ""])
def test_invalid_nhs_numbers(number: str) -> None:
    assert not nhs_number_is_valid(number)


def test_no_check_digit_exists_when_the_remainder_is_ten() -> None:
    assert with_check_digit("999123456") is None


def test_synthetic_nhs_numbers_are_in_the_test_range_and_valid() -> None:
    rng = random.Random(7)
    for _ in range(200):
        number = nhs_number(rng)
        assert number.startswith("999") and nhs_number_is_valid(number)


def test_a_synthetic_notice_is_valid_and_normalised() -> None:
    raw = release_notice(random.Random(1))
    raw["release"]["destination"]["address"]["postcode"] = "dh11aa"
    notice = ReleaseNoticeV1.model_validate(raw)
    assert notice.release.destination.address is not None
    assert notice.release.destination.address.postcode == "DH1 1AA"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda n: n.update(prison_number="A12BC"), "prison_number"),
        (lambda n: n.update(establishment_code="DURHAM"), "establishment_code"),
        (lambda n: n.update(date_of_birth="2099-01-01"), "release"),
        (lambda n: n["release"]["destination"].update(kind="no_fixed_abode"), "release.destination"),
        (lambda n: n["medications"][0].update(depot=True), "medications.0"),
        (lambda n: n["medications"][0].update(supply_days_given=-1), "medications.0.supply_days_given"),
        (lambda n: n["prison_contact"].update(email="not-an-email"), "prison_contact.email"),
    ],
)
def test_invalid_notices_name_the_field(change: Callable[[dict[str, Any]], object], field: str) -> None:
    raw = release_notice(random.Random(2))
    change(raw)
    with pytest.raises(ValidationError) as raised:
        ReleaseNoticeV1.model_validate(raw)
    located = {".".join(str(part) for part in error["loc"]) for error in raised.value.errors()}
    assert any(place.startswith(field) for place in located), located


@pytest.mark.parametrize(
    ("dataschema", "major"),
    [("urn:ttg:schema:x:1.0", 1), ("urn:ttg:schema:x:2.3", 2), ("urn:ttg:schema:x", None), (None, None)],
)
def test_major_version_is_read_from_the_dataschema(dataschema: str | None, major: int | None) -> None:
    assert major_version(dataschema) == major
