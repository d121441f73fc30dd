"""What did not arrive: a delivery that failed for good or was dead-lettered holds the person's later messages
to that endpoint until a replay (same webhook-id, same place) delivers it; escalations make one message per
person per deadline, never due before the referral reached its agency. Real SQLite file, frozen clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.delivery import EscalationDeadline
from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.domain.agencies import Directory
from services.notifier.domain.escalation_rules import (
    Due,
    deadlines,
    one_message_per_deadline,
    outstanding_item,
)
from services.notifier.domain.states import DeliveryStatus
from services.notifier.usecases import queries
from tests.unit.notifier.store_support import RULES, T0, add, claim, finish, replay, uow


@pytest.mark.hazard("H43")
async def test_a_pack_that_failed_for_good_holds_its_amendment_and_withdrawal_until_a_replay_delivers_it(
    database: Database,
    directory: Directory,
) -> None:
    clock = FrozenClock(T0)
    issued = await add(database, directory, "A", "A1234BC", T0)
    amended = await add(database, directory, "A", "A1234BC", T0, webhook_type="handover.pack.amended")
    withdrawn = await add(database, directory, "A", "A1234BC", T0, webhook_type="handover.pack.withdrawn")
    other_person = await add(database, directory, "A", "B1234BC", T0)

    assert await claim(database, clock) == [issued.webhook_id, other_person.webhook_id]
    await finish(database, clock, directory, issued, DeliveryStatus.FAILED, 410)
    await finish(database, clock, directory, other_person, DeliveryStatus.DELIVERED)
    clock.advance(timedelta(hours=1))
    assert await claim(database, clock) == [], "the amendment of a pack the agency does not have waits"

    assert await replay(database, clock, agency_code="A") == [issued.webhook_id]
    assert await claim(database, clock) == [issued.webhook_id], "the replay first, with its original webhook-id"
    await finish(database, clock, directory, issued, DeliveryStatus.DELIVERED)
    assert await claim(database, clock) == [amended.webhook_id], "then the amendment"
    await finish(database, clock, directory, amended, DeliveryStatus.DELIVERED)
    assert await claim(database, clock) == [withdrawn.webhook_id], "then the withdrawal: order restored"


@pytest.mark.hazard("H45")
async def test_a_delivery_that_failed_for_good_is_listed_and_replayed_with_its_original_webhook_id(
    database: Database,
    directory: Directory,
) -> None:
    clock = FrozenClock(T0)
    failed = await add(database, directory, "A", "A1234BC", T0)
    dead = await add(database, directory, "A", "B1234BC", T0)
    delivered = await add(database, directory, "A", "C1234BC", T0)
    await finish(database, clock, directory, failed, DeliveryStatus.FAILED, 401)
    await finish(database, clock, directory, dead, DeliveryStatus.DEAD_LETTERED, 500)
    await finish(database, clock, directory, delivered, DeliveryStatus.DELIVERED)

    waiting = await queries.dead_letters(uow=uow(database, clock), agency_code="A")
    assert [item.webhook_id for item in waiting] == [failed.webhook_id, dead.webhook_id]
    assert [item.status for item in waiting] == [DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED]
    assert await replay(database, clock, webhook_id=delivered.webhook_id) == [], "a delivered one is not sent again"
    assert await replay(database, clock, agency_code="A") == [
        failed.webhook_id,
        dead.webhook_id,
    ], "in their order"
    trail = await queries.delivery_audit(uow=uow(database, clock), webhook_id=failed.webhook_id)
    assert [item.action for item in trail] == ["delivery_replayed"]
    assert trail[0].detail is not None and "was failed" in trail[0].detail
    assert await queries.dead_letters(uow=uow(database, clock), agency_code="A") == []


@pytest.mark.hazard("H47")
def test_no_deadline_falls_before_the_referral_reached_its_agency() -> None:
    release = date(2026, 12, 10)
    late = datetime(2026, 12, 9, 18, 0, tzinfo=UTC)  # received and delivered 6 hours before the release day
    found = dict(deadlines(delivered_at=late, release_date=release, rules=RULES))
    assert found[EscalationDeadline.BEFORE_RELEASE] == late, "due at once, not a day before anyone knew"
    assert found[EscalationDeadline.AFTER_DELIVERY] == late + timedelta(hours=72)
    early = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert dict(deadlines(delivered_at=early, release_date=release, rules=RULES))[
        EscalationDeadline.BEFORE_RELEASE
    ] == datetime(2026, 12, 9, 0, 0, tzinfo=UTC), "unclamped when in time"
    assert all(
        at >= late
        for _, at in deadlines(
            delivered_at=late, release_date=date(2026, 12, 1), rules=RULES, not_before=late - timedelta(hours=1)
        )
    )


@pytest.mark.hazard("H48")
def test_one_message_per_person_per_deadline_names_every_agency_and_item() -> None:
    at = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)
    found = [
        Due("h1", "PDU", EscalationDeadline.BEFORE_RELEASE, at),
        Due("h1", "CMHT", EscalationDeadline.BEFORE_RELEASE, at),
        Due("h1", "CMHT", EscalationDeadline.AFTER_DELIVERY, at - timedelta(days=3)),
        Due("h2", "CMHT", EscalationDeadline.BEFORE_RELEASE, at),
    ]
    groups = one_message_per_deadline(found)
    assert sorted(groups) == [
        ("h1", EscalationDeadline.AFTER_DELIVERY),
        ("h1", EscalationDeadline.BEFORE_RELEASE),
        ("h2", EscalationDeadline.BEFORE_RELEASE),
    ]
    assert [d.agency_code for d in groups[("h1", EscalationDeadline.BEFORE_RELEASE)]] == ["CMHT", "PDU"]
    assert outstanding_item("community_mental_health_team") == "mental_health_referral"
    assert outstanding_item("reconnect") == "mental_health_referral"
    assert outstanding_item("probation_delivery_unit") == "reporting_instructions"
    assert outstanding_item("gp_practice") == "gp"
    assert outstanding_item(None) == outstanding_item("something new") == "referral"
