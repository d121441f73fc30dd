"""Journeys of the security acceptance tests: a synthetic person from Durham prison and one from Birmingham,
each with names found nowhere else (so a leak cannot hide among other text), released and delivered to the
agencies of their area."""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from typing import Any

from contracts.handover import HandoverPack
from services.handover.domain.disclosure import disclose
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem
from ttg.synthetic import release_notice

PROBLEM_JSON = "application/problem+json"
DURHAM = {"A99001", "CMHT-DUR", "PDU-DUR"}
BIRMINGHAM = {"A99003", "CMHT-BHM", "PDU-BHM"}


def distinctive_person(place: str) -> dict[str, Any]:
    """A synthetic person whose names appear nowhere else, so a leak of them cannot hide among other text."""
    rng = seeded_rng()
    notice = release_notice(rng, place=place)
    tag = "".join(rng.choice(string.ascii_lowercase) for _ in range(6))
    notice["given_name"] = f"Quillon{tag}"
    notice["family_name"] = f"Vexmoor{tag}"
    notice["release"]["destination"]["address"]["lines"] = [f"{rng.randint(100, 999)} Nowhere Mews {tag}"]
    return notice


@dataclass
class Journey:
    notice: dict[str, Any]
    notice_id: str
    handover_id: str


def run_journey(system: RunningSystem, notice: dict[str, Any], client: str, recipients: set[str]) -> Journey:
    with system.client("release_events", client) as http:
        response = http.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]

    def handover() -> dict[str, Any] | None:
        with system.client("handover", client) as http:
            found = http.get("/v1/handovers", params={"notice_id": notice_id}).json()
        return found[0] if found else None

    handover_id = eventually(handover, what="the handover")["handover_id"]

    def delivered() -> bool | None:
        with system.client("notifier", client) as http:
            found = http.get("/v1/deliveries", params={"handover_id": handover_id}).json()
        return True if {item["agency_code"] for item in found if item["status"] == "delivered"} == recipients else None

    eventually(delivered, what="every delivery")
    return Journey(notice, notice_id, handover_id)


def both_journeys(system: RunningSystem) -> dict[str, Journey]:
    """One release from Durham prison (DMI) and one from Birmingham (BMI), each delivered to its agencies."""
    return {
        "dmi": run_journey(system, distinctive_person("durham"), "prison-dmi", DURHAM),
        "bmi": run_journey(system, distinctive_person("birmingham"), "prison-bmi", BIRMINGHAM),
    }


# The kind of agency each agency caller is.
KIND_OF = {
    "gp-A99001": "gp_practice",
    "gp-A99003": "gp_practice",
    "cmht-dur": "community_mental_health_team",
    "cmht-bhm": "community_mental_health_team",
    "probation-dur": "probation_delivery_unit",
}


def expected_sections(system: RunningSystem, journey: Journey, caller: str) -> set[str]:
    """The whole pack for prison healthcare; for an agency, the sections of its kind (data minimisation)."""
    prison = "prison-dmi" if journey.notice["establishment_code"] == "DMI" else "prison-bmi"
    with system.client("handover", prison) as http:
        whole = http.get(f"/v1/handovers/{journey.handover_id}").json()["pack"]
    if caller == prison:
        return set(whole)
    return set(disclose(HandoverPack.model_validate(whole), KIND_OF[caller]))


def identifiers(notice: dict[str, Any]) -> list[str]:
    address = notice["release"]["destination"]["address"]
    return [
        notice["prison_number"],
        notice["nhs_number"],
        notice["given_name"],
        notice["family_name"],
        notice["date_of_birth"],
        *address["lines"],
        address["postcode"],
    ]
