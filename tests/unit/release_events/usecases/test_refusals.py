"""A refused write is recorded as refused, with its rule, in a unit of work of its own."""

from __future__ import annotations

from services.release_events.domain.custody_rules import Refused
from services.release_events.usecases.refusals import record_refusal
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import entry


async def test_the_refusal_is_recorded_with_the_rule_and_without_a_resource_id() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    rule = Refused("held-elsewhere", "held by another establishment", "establishment_code")
    await record_refusal(
        uow=uow, entry=entry(), action="notice.refused", details={"establishment_code": "DMI"}, refused=rule
    )
    assert uow.committed
    [record] = uow.audit.entries
    assert (record.action, record.resource_type, record.outcome, record.resource_id) == (
        "notice.refused",
        "custody_register",
        "refused",
        None,
    )
    assert record.details == {"establishment_code": "DMI", "rule": "held-elsewhere"}
