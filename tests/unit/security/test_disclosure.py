"""Data minimisation on reads: an agency reads exactly what it is sent; unknown kinds see nothing."""

from __future__ import annotations

import pytest

from contracts.handover import AgencyKind, HandoverPack
from services.handover.domain.disclosure import addressees, disclose
from services.handover.domain.minimise import sections_for
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from tests.unit.handover.factories import DIRECTORY, notice


def pack() -> HandoverPack:
    person = notice(full=True)
    return build_pack(person, route(person, DIRECTORY))


def test_every_kind_reads_exactly_the_sections_it_is_sent() -> None:
    full = pack()
    for kind in AgencyKind:
        assert disclose(full, kind.value) == sections_for(kind, full).model_dump(mode="json", exclude_none=True)


@pytest.mark.hazard("H02")
def test_probation_sees_reporting_risk_and_contacts_but_no_clinical_detail() -> None:
    seen = disclose(pack(), "probation_delivery_unit")
    assert "reporting_instructions" in seen and "risk_flags" in seen
    for clinical in (
        "medications",
        "mental_health",
        "mental_health_summary",
        "allergies_and_adverse_reactions",
        "substance_misuse",
        "gp_practice",
    ):
        assert clinical not in seen


def test_a_gp_practice_sees_medication_and_a_mental_health_summary_only() -> None:
    seen = disclose(pack(), "gp_practice")
    assert {"medications", "gp_practice", "mental_health_summary"} <= set(seen)
    assert "mental_health" not in seen


@pytest.mark.hazard("H02")
def test_unknown_sections_and_unknown_kinds_are_withheld() -> None:
    assert disclose(pack(), "someone_new") == {}


def test_agencies_that_rejected_or_were_cancelled_are_no_longer_addressed() -> None:
    found = addressees(
        [
            ("A1", "gp_practice", "accepted"),
            ("C1", "community_mental_health_team", "rejected"),
            ("R1", "reconnect", "requested"),
            ("P1", "probation_delivery_unit", "cancelled"),
        ]
    )
    assert found == {"A1": "gp_practice", "R1": "reconnect"}
