"""Re-sending an agency's failed deliveries on canned answers of the notifier: an unknown agency, a refused
replay and nothing to re-send are each refused with their own message; progress counts what arrived."""

from __future__ import annotations

import pytest

from services.console.adapters.backend import ServiceError
from services.console.domain.replay_rules import followable
from services.console.usecases.replay_deliveries import ReplayRefused, replay_failed_deliveries, replay_progress
from tests.unit.console.fakes import OPERATOR, FakeServices

ENDPOINTS = ("notifier", "GET", "/v1/endpoints")
REPLAY = ("notifier", "POST", "/v1/dead-letters/replay")


async def replay(services: FakeServices, agency_code: str) -> list[str]:
    return await replay_failed_deliveries(
        services=services, person=OPERATOR, agency_code=agency_code, correlation_id="c"
    )


async def test_the_replayed_ids_of_a_known_agency_are_answered() -> None:
    services = FakeServices({ENDPOINTS: [{"agency_code": "A99001"}], REPLAY: {"replayed": ["msg_1", "msg_2"]}})
    assert await replay(services, "A99001") == ["msg_1", "msg_2"]
    assert services.calls[-1][3]["json"] == {"agency_code": "A99001"}


@pytest.mark.parametrize(
    ("answers", "status", "words"),
    [
        ({ENDPOINTS: []}, 400, "Select the agency"),
        ({ENDPOINTS: [{"agency_code": "A99001"}], REPLAY: ServiceError(500, {})}, 502, "could not be re-sent"),
        ({ENDPOINTS: [{"agency_code": "A99001"}], REPLAY: {"replayed": []}}, 400, "no failed deliveries"),
    ],
)
async def test_a_replay_that_sends_nothing_is_refused_with_its_reason(
    answers: dict[tuple[str, str, str], object], status: int, words: str
) -> None:
    with pytest.raises(ReplayRefused) as refused:
        await replay(FakeServices(answers), "A99001")
    assert refused.value.status == status and words in refused.value.message


async def test_progress_counts_the_delivered_and_names_the_failing_and_the_unknown() -> None:
    services = FakeServices(
        {
            ("notifier", "GET", "/v1/deliveries/msg_1"): {"webhook_id": "msg_1", "status": "delivered"},
            ("notifier", "GET", "/v1/deliveries/msg_2"): {"webhook_id": "msg_2", "status": "failed"},
        }
    )
    ids = ["msg_1", "msg_2", "msg_3"]
    progress = await replay_progress(services=services, person=OPERATOR, agency_code="A99001", webhook_ids=ids, total=5)
    assert (progress["total"], progress["delivered"]) == (5, 1)
    assert [item["webhook_id"] for item in progress["failing"]] == ["msg_2", "msg_3"]
    assert followable("A99001", ids) and not followable("A99001", []) and not followable("A99001", ["bad id"])
