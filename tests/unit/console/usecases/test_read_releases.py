"""The lounge and a release on canned answers of the services: at risk first, a search filters, released view
most recent first; a release's timeline is newest first and a person without custody events still shows."""

from __future__ import annotations

from datetime import date

import pytest

from services.console.domain.lounge_rules import READINESS_LABELS, READINESS_ORDER, LoungeView, timeline
from services.console.usecases.read_releases import departure_lounge, release_of
from tests.unit.console.fakes import NURSE, FakeServices

TODAY = date(2026, 12, 2)


def release(prison_number: str, family_name: str, day: str, status: str) -> dict[str, object]:
    return {
        "prison_number": prison_number,
        "given_name": "Sam",
        "family_name": family_name,
        "release_date": day,
        "readiness": {"status": status},
    }


RELEASES = [
    release("A1111AA", "Ready", "2026-12-03", "ready"),
    release("A2222BB", "Risky", "2026-12-10", "at_risk"),
    release("A3333CC", "Waiting", "2026-12-04", "pending"),
]


async def test_upcoming_releases_put_those_at_risk_first_and_a_search_filters() -> None:
    services = FakeServices({("handover", "GET", "/v1/establishments/DMI/releases"): {"items": RELEASES}})
    found = await departure_lounge(
        services=services, person=NURSE, codes=["DMI"], days=14, q="", view=LoungeView.UPCOMING, today=TODAY
    )
    assert [item["family_name"] for item in found] == ["Risky", "Waiting", "Ready"]
    assert all(item["establishment_code"] == "DMI" for item in found)
    assert services.calls[0][3]["params"] == {"from": "2026-12-02", "to": "2026-12-16"}
    found = await departure_lounge(
        services=services, person=NURSE, codes=["DMI"], days=14, q="a3333cc", view=LoungeView.RELEASED, today=TODAY
    )
    assert [item["prison_number"] for item in found] == ["A3333CC"]
    assert services.calls[1][3]["params"]["state"] == "released"


async def test_a_release_has_its_timeline_newest_first_even_without_custody_events() -> None:
    handover = {
        "issued_at": "2026-12-01T09:00:00+00:00",
        "version": 1,
        "pack": {"patient_demographics": {"prison_number": "A1111AA", "given_name": "Sam", "family_name": "Ready"}},
        "referrals": [
            {"agency_code": "A99001", "status": "accepted", "updated_at": "2026-12-01T11:00:00+00:00"},
            {"agency_code": "PDU-DUR", "status": "requested", "updated_at": "2026-12-01T09:00:00+00:00"},
        ],
    }
    delivery = {"agency_code": "A99001", "status": "delivered", "created_at": "2026-12-01T10:00:00+00:00"}
    services = FakeServices(
        {("handover", "GET", "/v1/handovers/h1"): handover, ("notifier", "GET", "/v1/deliveries"): [delivery]}
    )
    found = await release_of(services=services, person=NURSE, handover_id="h1")
    assert found.name == "Sam Ready" and found.deliveries == [delivery]
    assert [entry["what"] for entry in found.timeline] == [
        "A99001 accepted",
        "Sent to A99001: delivered",
        "Handover pack version 1 issued",
    ]


@pytest.mark.hazard("H94")
def test_a_first_appointment_in_the_timeline_is_in_uk_words_and_time() -> None:
    handover = {
        "issued_at": "2027-07-01T09:00:00+00:00",
        "version": 1,
        "referrals": [
            {
                "agency_code": "CMHT-DUR",
                "status": "accepted",
                "updated_at": "2027-07-01T11:00:00+00:00",
                "first_appointment_at": "2027-07-05T09:30:00+00:00",
            }
        ],
    }
    assert timeline(handover, [], [])[0]["what"] == "CMHT-DUR accepted: first appointment 5 July 2027 at 10:30"


def test_every_readiness_state_the_lounge_orders_by_has_a_label() -> None:
    assert set(READINESS_ORDER) < set(READINESS_LABELS)
    assert READINESS_LABELS["at_risk"] == ("At risk", "red")
