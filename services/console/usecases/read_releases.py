"""Use cases of prison healthcare's pages: the departure lounge (releases of its establishments with readiness
per item) and one release (its current pack, what each agency was sent, the person's custody events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.common.delegation import Person
from services.console.adapters.backend import NotFound
from services.console.domain.lounge_rules import LoungeView, in_lounge_order, matches, release_query, timeline
from services.console.usecases.ports import Services


async def departure_lounge(
    *, services: Services, person: Person, codes: list[str], days: int, q: str, view: LoungeView, today: date
) -> list[dict[str, Any]]:
    """The releases of each establishment in ``codes`` that match ``q``, in the lounge's order."""
    params = release_query(view, today=today, days=days, q=q)
    found: list[dict[str, Any]] = []
    for code in codes:
        answer = await services.get_json(person, "handover", f"/v1/establishments/{code}/releases", params=params)
        items = answer.get("items", []) if isinstance(answer, dict) else answer
        found.extend(release | {"establishment_code": code} for release in items if matches(release, q))
    return in_lounge_order(found, view)


@dataclass(frozen=True)
class Release:
    handover: dict[str, Any]
    deliveries: list[dict[str, Any]]
    timeline: list[dict[str, str]]

    @property
    def pack(self) -> dict[str, Any]:
        pack: dict[str, Any] = self.handover["pack"]
        return pack

    @property
    def name(self) -> str:
        person = self.pack["patient_demographics"]
        return f"{person['given_name']} {person['family_name']}"


async def release_of(*, services: Services, person: Person, handover_id: str) -> Release:
    """One release as its establishment sees it; raises :class:`NotFound` for none it may see."""
    handover = await services.get_json(person, "handover", f"/v1/handovers/{handover_id}")
    deliveries = await services.get_json(person, "notifier", "/v1/deliveries", params={"handover_id": handover_id})
    prison_number = handover["pack"]["patient_demographics"]["prison_number"]
    try:
        custody = await services.get_json(person, "handover", f"/v1/people/{prison_number}/custody-events")
    except NotFound:
        custody = []
    return Release(handover, deliveries, timeline(handover, deliveries, custody))
