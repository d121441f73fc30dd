"""Sending a correction on canned answers of release_events: a change or the same notice again; a refusal a
person can act on is handed back, anything else is an error."""

from __future__ import annotations

import pytest

from services.console.adapters.backend import ServiceError
from services.console.usecases.correct_notice import CorrectionRefused, correct_notice
from tests.unit.console.fakes import NURSE, FakeServices

AMEND = ("release_events", "POST", "/v1/release-notices/n1/amendments")


async def send(services: FakeServices) -> bool:
    return await correct_notice(
        services=services, person=NURSE, notice_id="n1", notice={"given_name": "X"}, reason="typo", correlation_id="c"
    )


async def test_a_correction_says_whether_it_changed_the_notice() -> None:
    assert await send(FakeServices({AMEND: {"status": "accepted"}}))
    assert not await send(FakeServices({AMEND: {"status": "duplicate"}}))


async def test_an_answerable_refusal_is_handed_back_and_any_other_failure_raised() -> None:
    with pytest.raises(CorrectionRefused) as refused:
        await send(FakeServices({AMEND: ServiceError(409, {"type": "notice-superseded"})}))
    assert refused.value.status == 409 and refused.value.problem["type"] == "notice-superseded"
    with pytest.raises(ServiceError):
        await send(FakeServices({AMEND: ServiceError(500, {})}))
