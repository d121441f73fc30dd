"""Every field of the new notice sections is validated where it enters."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from contracts.release_notice import ReleaseNoticeV1
from tests.unit.handover.factories import raw_notice


def located(raw: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        ReleaseNoticeV1.model_validate(raw)
    return {".".join(str(part) for part in error["loc"]) for error in raised.value.errors()}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda n: n["legal_information"].update(mental_health_act_status="not_detained"),
            "legal_information",
        ),
        (
            lambda n: n["legal_information"].update(mental_health_act_status="section_99"),
            "legal_information.mental_health_act_status",
        ),
        (lambda n: n["mental_health"].update(care_coordinator=None), "mental_health"),
        (lambda n: n["medications"][0].update(next_injection_due="2027-01-01"), "medications.0"),
        (
            lambda n: n["medications"][0].update(
                last_dose_given="2026-12-02T08:00:00Z", next_dose_due="2026-12-01T08:00:00Z"
            ),
            "medications.0",
        ),
        (
            lambda n: n["reporting_instructions"].update(report_at="2020-01-01T10:00:00Z"),
            "reporting_instructions",
        ),
        (lambda n: n["reporting_instructions"].update(office=""), "reporting_instructions.office"),
        (lambda n: n["substance_misuse"].update(substances=[]), "substance_misuse.substances"),
        (lambda n: n["substance_misuse"].pop("consent_to_refer"), "substance_misuse.consent_to_refer"),
        (lambda n: n["reconnect_navigator"].update(email="nope"), "reconnect_navigator.email"),
        (
            lambda n: n["legal_information"].update(licence_conditions=["x"] * 21),
            "legal_information.licence_conditions",
        ),
    ],
)
def test_bad_values_are_named(change, field: str) -> None:  # type: ignore[no-untyped-def]
    raw = raw_notice(full=True)
    change(raw)
    assert any(place.startswith(field) for place in located(raw)), located(raw)


def test_a_full_notice_is_valid() -> None:
    notice = ReleaseNoticeV1.model_validate(raw_notice(full=True))
    assert notice.legal_information is not None and notice.legal_information.section_117_aftercare
    assert notice.substance_misuse is not None and notice.reporting_instructions is not None
