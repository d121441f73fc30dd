"""Use cases of the operator's desk: re-send every failed or dead-lettered delivery of one agency, and follow
the re-sent deliveries as the notifier reports them."""

from __future__ import annotations

import asyncio
from typing import Any

from services.common.delegation import Person
from services.console.adapters.backend import NotFound, ServiceError
from services.console.domain.replay_rules import progress_of
from services.console.usecases.ports import Services


class ReplayRefused(Exception):
    """Nothing was re-sent: ``message`` for the error summary, ``status`` for the page."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


async def replay_failed_deliveries(
    *, services: Services, person: Person, agency_code: str, correlation_id: str | None
) -> list[str]:
    """The webhook ids the notifier re-sent for ``agency_code`` (an agency it knows, with failed deliveries)."""
    endpoints = await services.get_json(person, "notifier", "/v1/endpoints")
    if agency_code not in {endpoint["agency_code"] for endpoint in endpoints}:
        raise ReplayRefused("Select the agency whose failed deliveries to re-send", 400)
    try:
        answer = await services.call(
            person,
            "notifier",
            "POST",
            "/v1/dead-letters/replay",
            json={"agency_code": agency_code},
            expect=(200, 202),
            correlation_id=correlation_id,
        )
    except (NotFound, ServiceError):
        raise ReplayRefused(
            f"The deliveries to {agency_code} could not be re-sent. Nothing was changed.", 502
        ) from None
    replayed: list[str] = answer.json()["replayed"]
    if not replayed:
        raise ReplayRefused(f"{agency_code} has no failed deliveries to re-send", 400)
    return replayed


async def _one(services: Services, person: Person, webhook_id: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = await services.get_json(person, "notifier", f"/v1/deliveries/{webhook_id}")
    except NotFound:
        return {"webhook_id": webhook_id, "status": "not_found", "last_error": "The notifier has no such delivery"}
    return found


async def replay_progress(
    *, services: Services, person: Person, agency_code: str, webhook_ids: list[str], total: int
) -> dict[str, Any]:
    deliveries = list(await asyncio.gather(*(_one(services, person, webhook_id) for webhook_id in webhook_ids)))
    return progress_of(agency_code, webhook_ids, deliveries, total)
