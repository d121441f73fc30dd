"""Use case: send prison healthcare's correction of a release notice to release_events (as the person)."""

from __future__ import annotations

from typing import Any

from services.common.delegation import Person
from services.console.adapters.backend import ServiceError
from services.console.usecases.ports import Services

# release_events' refusals a person can act on (shown in the error summary); anything else is an error page.
ANSWERABLE = (403, 409, 422)


class CorrectionRefused(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.problem = status, problem


async def correct_notice(
    *,
    services: Services,
    person: Person,
    notice_id: str,
    notice: dict[str, Any],
    reason: str,
    correlation_id: str | None,
) -> bool:
    """True when the correction changed the notice; False when it was the same as the current one."""
    try:
        answer = await services.call(
            person,
            "release_events",
            "POST",
            f"/v1/release-notices/{notice_id}/amendments",
            json={"notice": notice, "reason": reason},
            expect=(200, 202),
            correlation_id=correlation_id,
        )
    except ServiceError as refused:
        if refused.status in ANSWERABLE:
            raise CorrectionRefused(refused.status, refused.problem) from None
        raise
    return bool(answer.json().get("status") != "duplicate")
