"""Replaying what did not arrive: same webhook id, schedule started again, audited with who asked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifier.domain.states import DeliveryStatus
from services.notifier.usecases.dead_letters import replay
from tests.unit.notifier.usecases.conftest import T0, pending
from tests.unit.notifier.usecases.fakes import FakeNotifierUow


async def test_only_undelivered_ones_are_replayed_in_order_and_audited(uow: FakeNotifierUow) -> None:
    failed, dead, delivered = pending(uow, "CMHT"), pending(uow, "CMHT", "B1234BC"), pending(uow, "CMHT", "C1234BC")
    failed.status, dead.status, delivered.status = (
        DeliveryStatus.FAILED,
        DeliveryStatus.DEAD_LETTERED,
        DeliveryStatus.DELIVERED,
    )
    dead.rounds, dead.finished_at = 10, T0
    later = T0 + timedelta(hours=1)
    assert await replay(uow=uow, actor="op", now=later, webhook_id=delivered.webhook_id) == []
    assert await replay(uow=uow, actor="op", now=later, agency_code="CMHT") == [failed.webhook_id, dead.webhook_id]
    assert (dead.status, dead.rounds, dead.next_attempt_at, dead.replays) == (DeliveryStatus.PENDING, 0, later, 1)
    assert [(row.action, row.actor) for row in uow.delivery_audit.rows] == [("delivery_replayed", "op")] * 2
    assert [entry.actor for entry in uow.audit.entries] == ["system:op"] * 2


async def test_a_replay_must_name_a_delivery_or_an_endpoint(uow: FakeNotifierUow) -> None:
    with pytest.raises(ValueError, match="name a delivery"):
        await replay(uow=uow, actor="op", now=T0)
