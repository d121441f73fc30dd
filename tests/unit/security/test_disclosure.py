"""Data minimisation on reads: each agency kind sees only its sections; unknown ones see nothing."""

from __future__ import annotations

import random

import pytest

from contracts.release_notice import ReleaseNoticeV1
from services.handover.domain.disclosure import disclose
from services.handover.domain.pack import build_pack
from ttg.synthetic import release_notice


def pack() -> dict:  # type: ignore[type-arg]
    notice = ReleaseNoticeV1.model_validate(release_notice(random.Random(3)))
    return build_pack(notice).model_dump(mode="json", exclude_none=True)


def test_probation_sees_reporting_risk_and_contacts_but_no_clinical_detail() -> None:
    seen = disclose(pack(), "probation_delivery_unit")
    assert set(seen) == {"patient_demographics", "release", "mental_health", "person_completing_record"}
    assert seen["mental_health"] == {"risk_flags": ["self_harm", "suicide"]}


def test_a_gp_practice_sees_medication_and_a_mental_health_summary_only() -> None:
    seen = disclose(pack(), "gp_practice")
    assert {"medications", "gp_practice", "allergies_and_adverse_reactions"} <= set(seen)
    assert set(seen["mental_health"]) <= {"urgency", "diagnoses", "risk_flags", "summary", "consent_to_share"}
    assert "crisis_plan" not in seen["mental_health"]


def test_mental_health_teams_and_reconnect_see_the_full_mental_health_section() -> None:
    full = pack()
    for kind in ("community_mental_health_team", "reconnect"):
        seen = disclose(full, kind)
        assert seen["mental_health"] == full["mental_health"] and seen["medications"] == full["medications"]


def test_a_substance_misuse_service_sees_no_mental_health_section() -> None:
    seen = disclose(pack(), "substance_misuse_service")
    assert "mental_health" not in seen and "medications" in seen


def test_unknown_sections_and_unknown_kinds_are_withheld() -> None:
    full = {**pack(), "new_secret_section": {"x": 1}}
    assert "new_secret_section" not in disclose(full, "community_mental_health_team")
    assert disclose(full, "someone_new") == {}


def test_addressees_follow_the_notifiers_routing_over_the_same_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seam must agree with the notifier: an agency reads exactly the handovers it is sent."""
    from pathlib import Path

    from services.handover.addressees import Addressees
    from services.notifier.directory import load_directory
    from services.notifier.routing import recipients

    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_HTTP", "true")  # the demo directory points at a local receiver
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    directory = Path(__file__).resolve().parents[3] / "deploy" / "directory"
    for place in ("durham", "teesside", "birmingham"):
        for no_fixed_abode in (False, True):
            notice = ReleaseNoticeV1.model_validate(
                release_notice(place=place, no_fixed_abode=no_fixed_abode)
            )
            pack = build_pack(notice)
            routed = {a.code: a.kind.value for a in recipients(pack, load_directory(directory))}
            assert Addressees(directory).of(pack) == routed and routed
