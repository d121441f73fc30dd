"""The medication supply-gap rule."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.release_notice import Medication
from services.handover.domain.medication import prescriber_takes_over, supply_gaps
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from tests.unit.handover.factories import DIRECTORY, notice

RELEASE = date(2026, 12, 10)


def tablets(days: int) -> Medication:
    return Medication(
        name="Sertraline",
        strength="100 mg",
        dose="1",
        frequency="daily",
        route="oral",
        supply_days_given=days,
    )


@pytest.mark.hazard("H23")
def test_supply_that_ends_before_the_first_appointment_is_a_gap() -> None:
    until = prescriber_takes_over(
        release_date=RELEASE,
        registration_needed=False,
        registration_days=3,
        first_appointments=[date(2026, 12, 17)],
    )
    assert until == date(2026, 12, 17)
    assert len(supply_gaps([tablets(6)], release_date=RELEASE, needed_until=until)) == 1
    assert supply_gaps([tablets(7)], release_date=RELEASE, needed_until=until) == []


@pytest.mark.hazard("H23")
def test_supply_that_ends_before_gp_registration_completes_is_a_gap() -> None:
    until = prescriber_takes_over(release_date=RELEASE, registration_needed=True, registration_days=5)
    assert until == date(2026, 12, 15)
    gaps = supply_gaps([tablets(4)], release_date=RELEASE, needed_until=until)
    assert gaps and gaps[0].code == "medication_supply_gap"
    # Read by people (a GP, a pharmacist, the prison's team): dates in words, as the NHS style writes them.
    assert gaps[0].detail == (
        "Sertraline 100 mg: 4 days supplied, runs out 14 December 2026, before a community prescriber takes over on "
        "15 December 2026"
    )
    [one_day] = supply_gaps([tablets(1)], release_date=RELEASE, needed_until=until)
    assert one_day.detail.startswith("Sertraline 100 mg: 1 day supplied, runs out 11 December 2026")
    # Registration and an appointment: the later of the two counts.
    later = prescriber_takes_over(
        release_date=RELEASE,
        registration_needed=True,
        registration_days=5,
        first_appointments=[date(2026, 12, 12)],
    )
    assert later == date(2026, 12, 15)


def test_appointments_before_release_do_not_count() -> None:
    until = prescriber_takes_over(
        release_date=RELEASE,
        registration_needed=False,
        registration_days=3,
        first_appointments=[date(2026, 12, 1)],
    )
    assert until == RELEASE


@pytest.mark.hazard("H23")
def test_a_depot_is_judged_by_its_next_injection_date() -> None:
    depot = Medication(
        name="Paliperidone",
        strength="100 mg",
        dose="1",
        frequency="monthly",
        route="im",
        supply_days_given=0,
        depot=True,
        next_injection_due=date(2026, 12, 20),
    )
    assert supply_gaps([depot], release_date=RELEASE, needed_until=date(2026, 12, 15)) == []
    assert supply_gaps([depot], release_date=RELEASE, needed_until=date(2026, 12, 21))


@pytest.mark.hazard("H23")
def test_the_pack_flags_the_gap_and_missing_opioid_substitution_cover() -> None:
    person = notice()  # methadone: 1 day; no GP yet (3 days to register); no substance-misuse section
    alerts = build_pack(person, route(person, DIRECTORY)).safety_alerts
    codes = [alert.code for alert in alerts]
    gaps = [alert.detail for alert in alerts if alert.code == "medication_supply_gap"]
    assert len(gaps) == 1 and gaps[0].startswith("Methadone")  # sertraline's 7 days outlast registration
    assert "opioid_substitution_continuity" in codes
    covered = notice(supply_days=28, substance_misuse=True)
    assert not build_pack(covered, route(covered, DIRECTORY)).safety_alerts
