"""The rules that read a case from its referrals, over plain data: confirmed reporting, the stale-reporting rule,
routing as it stands, the report-at check, escalation recipients, what a correction may change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from contracts.handover import ReferralKind
from contracts.release_notice import ReportingInstructions
from services.handover.domain.case import (
    PRISON_ACTION_ALERTS,
    HandoverState,
    check_report_at,
    confirmed_reporting,
    custody_fields_kept,
    effective_notice,
    escalation_note,
    escalation_recipients,
    plan_from_referrals,
)
from services.handover.domain.custody import Decides
from services.handover.domain.referral_routing import area_of, prison_healthcare_of
from services.handover.domain.referrals import AnswerRefused
from tests.unit.handover.factories import DIRECTORY, notice


@dataclass(frozen=True)
class Ref:
    agency_code: str
    referral_kind: str
    status: str
    reason: str = "routed"
    reporting: str | None = None


def reporting_at(moment: datetime) -> ReportingInstructions:
    return ReportingInstructions(office="Durham Probation Office", report_at=moment, practitioner="Duty")


def test_probations_confirmed_instructions_replace_the_draft_unless_they_are_before_the_release() -> None:
    release = notice(full=True, establishment="DMI")
    day = datetime.combine(release.release.date, datetime.min.time(), tzinfo=UTC)
    confirmed = reporting_at(day + timedelta(days=1, hours=10))
    probation = Ref("PDU-DUR", "reporting_instructions", "accepted", reporting=confirmed.model_dump_json())

    assert confirmed_reporting([probation]) == confirmed
    assert confirmed_reporting([Ref("PDU-DUR", "reporting_instructions", "requested")]) is None
    assert effective_notice(release, [probation]).reporting_instructions == confirmed
    stale = Ref(
        "PDU-DUR",
        "reporting_instructions",
        "accepted",
        reporting=reporting_at(day - timedelta(days=1)).model_dump_json(),
    )
    assert effective_notice(release, [stale]).reporting_instructions is None, "stale: asked again, not kept"


def test_live_referrals_keep_their_agency_and_the_rest_is_routed_afresh() -> None:
    release = notice(establishment="DMI")
    plan = plan_from_referrals(release, DIRECTORY, [Ref("RECONNECT-DUR", "mental_health", "received")])
    chosen = {item.kind: item.agency.code for item in plan.routed}
    assert chosen[ReferralKind.MENTAL_HEALTH] == "RECONNECT-DUR" and chosen[ReferralKind.GP_REGISTRATION] == "A99001"
    fresh = plan_from_referrals(release, DIRECTORY, [Ref("RECONNECT-DUR", "mental_health", "rejected")])
    assert {item.kind: item.agency.code for item in fresh.routed}[ReferralKind.MENTAL_HEALTH] == "CMHT-DUR"


def test_a_reporting_time_before_the_release_is_refused() -> None:
    release_date = notice().release.date
    check_report_at(None, release_date)
    check_report_at(reporting_at(datetime.combine(release_date, datetime.min.time(), tzinfo=UTC)), release_date)
    with pytest.raises(AnswerRefused):
        check_report_at(reporting_at(datetime(2020, 1, 1, tzinfo=UTC)), release_date)


def test_an_escalation_goes_to_the_prison_and_every_other_reconnect_covering_the_area() -> None:
    release = notice(establishment="DMI")
    area = area_of(release, DIRECTORY)
    prison = prison_healthcare_of("DMI", DIRECTORY)

    told = escalation_recipients(
        why="CMHT-DUR rejected", area=area, directory=DIRECTORY, prison=prison, rejected_by="CMHT-DUR"
    )
    assert [(r.agency_code, r.referral_kind) for r in told] == [
        ("PH-DMI", ReferralKind.NOTIFICATION),
        ("RECONNECT-DUR", ReferralKind.NOTIFICATION),
    ]
    again = escalation_recipients(why="x", area=area, directory=DIRECTORY, prison=None, rejected_by="RECONNECT-DUR")
    assert again == []
    assert "could not be delivered (gone)" in escalation_note(ReferralKind.MENTAL_HEALTH, "CMHT-DUR", "gone")
    assert "was rejected by CMHT-DUR" in escalation_note(ReferralKind.MENTAL_HEALTH, "CMHT-DUR", None)


def test_a_correction_keeps_what_the_custody_log_decided() -> None:
    before = notice(establishment="DMI")
    later = before.release.model_copy(update={"date": before.release.date + timedelta(days=9)})
    corrected = before.model_copy(update={"release": later, "given_name": "Alex"})

    kept = custody_fields_kept(before, corrected, {Decides.RELEASE_DATE})
    assert kept.release.date == before.release.date and kept.given_name == "Alex"
    assert custody_fields_kept(before, corrected, set()).release.date == later.date


def test_the_alerts_that_need_the_prison_and_the_states_agencies_still_answer_in() -> None:
    assert PRISON_ACTION_ALERTS == {"mental_health_referral_withheld", "no_agency_covers", "registered_gp_unreachable"}
    assert HandoverState("released") == HandoverState.RELEASED
