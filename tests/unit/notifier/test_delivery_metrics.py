"""Deliveries are counted by outcome and agency code as each round concludes."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from services.common.db import Database
from services.notifier.domain.agencies import Directory
from tests.unit.notifier.test_dispatcher import directory, run_round  # noqa: F401 - the fixture is used

DELIVERIES = "ttg_webhook_deliveries_total"


def count(**labels: str) -> float:
    return REGISTRY.get_sample_value(DELIVERIES, labels) or 0.0


@pytest.mark.hazard("H72")
@pytest.mark.parametrize(("status", "outcome"), [(204, "delivered"), (503, "retry_scheduled"), (422, "failed")])
async def test_each_outcome_is_counted_for_its_agency(
    database: Database,
    directory: Directory,  # noqa: F811 - the fixture imported above
    status: int,
    outcome: str,
) -> None:
    others = {other: count(outcome=other, agency="A") for other in ("delivered", "retry_scheduled", "failed")}
    await run_round(database, directory, lambda request: httpx.Response(status))
    after = {other: count(outcome=other, agency="A") for other in others}
    assert after == {other: others[other] + (1 if other == outcome else 0) for other in others}
