"""Which deliveries are referrals, which answers count, and when deadlines fall (pure)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.delivery import EscalationDeadline
from contracts.handover import HandoverPackIssuedV1
from contracts.release_notice import ReleaseNoticeV1
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from services.notifier.domain.escalation_rules import (
    Deadlines,
    answer_counts,
    deadlines,
    due,
    is_referral,
    release_facts,
)
from tests.unit.handover.factories import DIRECTORY
from ttg.synthetic import release_notice

RULES = Deadlines(after_delivery=timedelta(hours=72), before_release=timedelta(hours=24))


def _issued(**changes: object) -> dict[str, object]:
    notice = ReleaseNoticeV1.model_validate({**release_notice(random.Random(3), place="teesside"), **changes})
    return HandoverPackIssuedV1(
        handover_id="h1",
        version=1,
        notice_id="n1",
        issued_at=datetime.now(UTC),
        pack=build_pack(notice, route(notice, DIRECTORY)),
    ).model_dump(mode="json")


def test_referral_kinds_are_referrals_and_gp_only_when_registration_is_asked() -> None:
    payload = {"type": "handover.pack.issued", "data": {"pack": _issued()["pack"]}}
    for kind in ("community_mental_health_team", "reconnect", "substance_misuse_service", "probation_delivery_unit"):
        assert is_referral(agency_kind=kind, webhook_type="handover.pack.issued", payload=payload)
    assert is_referral(agency_kind="gp_practice", webhook_type="handover.pack.issued", payload=payload)
    registered = {"data": {"pack": _issued(registered_gp={"ods_code": "A99001"})["pack"]}}
    assert not is_referral(agency_kind="gp_practice", webhook_type="handover.pack.issued", payload=registered)
    assert not is_referral(agency_kind="prison_healthcare", webhook_type="handover.pack.issued", payload=payload)
    assert not is_referral(agency_kind="reconnect", webhook_type="handover.pack.withdrawn", payload=payload)


def test_a_distribution_entry_says_itself_whether_it_awaits_an_answer() -> None:
    def entry(kind: str, **sections: object) -> dict[str, object]:
        return {"type": "handover.pack.issued", "data": {"referral_kind": kind, "pack": sections}}

    rerouted = entry("mental_health")
    assert is_referral(agency_kind="reconnect", webhook_type="handover.referral.rerouted", payload=rerouted)
    assert not is_referral(agency_kind="reconnect", webhook_type="handover.pack.issued", payload=entry("notification"))
    assert not is_referral(
        agency_kind="prison_healthcare", webhook_type="handover.referral.escalated", payload=entry("notification")
    )
    needed = entry("gp_registration", gp_practice={"registration_needed": True})
    known = entry("gp_registration", gp_practice={"registration_needed": False})
    assert is_referral(agency_kind="gp_practice", webhook_type="handover.pack.issued", payload=needed)
    assert not is_referral(agency_kind="gp_practice", webhook_type="handover.pack.issued", payload=known)


def test_a_gp_registration_request_is_found_in_a_minimised_distribution_entry_too() -> None:
    payload = {
        "data": {
            "distribution": [{"agency_code": "A99002", "sections": {"gp_practice": {"registration_needed": True}}}]
        }
    }
    assert is_referral(agency_kind="gp_practice", webhook_type="handover.pack.issued", payload=payload)


@pytest.mark.hazard("H27")
def test_only_real_answers_stop_escalation() -> None:
    assert answer_counts("accepted") and answer_counts("rejected") and answer_counts("confirmed")
    assert not answer_counts("received")


def test_release_facts_from_the_pack_event_and_from_a_distribution_list() -> None:
    facts = release_facts(_issued())
    assert facts.establishment_code == "HHI"
    assert facts.district in ("TS1", "TS3") and facts.local_authority == "Middlesbrough"
    assert isinstance(facts.release_date, date)
    later = release_facts(
        {
            "handover_id": "h",
            "distribution": [
                {
                    "agency_code": "X",
                    "sections": {
                        "release": {
                            "date": "2026-12-01",
                            "establishment_code": "DMI",
                            "destination": {"kind": "no_fixed_abode", "last_known_local_authority": "Durham"},
                        }
                    },
                }
            ],
        }
    )
    assert later.release_date == date(2026, 12, 1) and later.establishment_code == "DMI"
    assert later.district is None and later.local_authority == "Durham"
    assert release_facts({"handover_id": "h"}).release_date is None


@pytest.mark.hazard("H27")
def test_deadlines_72_hours_after_delivery_and_24_hours_before_the_release_day_in_london() -> None:
    delivered = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    found = dict(deadlines(delivered_at=delivered, release_date=date(2026, 12, 1), rules=RULES))
    assert found[EscalationDeadline.AFTER_DELIVERY] == delivered + timedelta(hours=72)
    assert found[EscalationDeadline.BEFORE_RELEASE] == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # GMT in winter
    in_june = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    summer = dict(deadlines(delivered_at=in_june, release_date=date(2026, 7, 1), rules=RULES))
    assert summer[EscalationDeadline.BEFORE_RELEASE] == datetime(2026, 6, 29, 23, 0, tzinfo=UTC)  # BST


def test_only_passed_deadlines_are_due() -> None:
    delivered = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    release = date(2026, 12, 10)
    assert due(delivered_at=delivered, release_date=release, rules=RULES, now=delivered + timedelta(hours=71)) == []
    [(kind, _)] = due(delivered_at=delivered, release_date=release, rules=RULES, now=delivered + timedelta(hours=73))
    assert kind == EscalationDeadline.AFTER_DELIVERY
    assert (
        len(due(delivered_at=delivered, release_date=release, rules=RULES, now=datetime(2026, 12, 9, 1, 0, tzinfo=UTC)))
        == 2
    )
    assert len(due(delivered_at=delivered, release_date=None, rules=RULES, now=delivered + timedelta(days=30))) == 1
