"""What the API reads: deliveries with their attempts, dead letters, and escalations limited to establishments."""

from __future__ import annotations

from services.notifier.adapters.tables import Escalation, HandoverFact
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.verdict import AttemptResult
from services.notifier.usecases import queries
from tests.unit.notifier.usecases.conftest import T0, pending
from tests.unit.notifier.usecases.fakes import FakeNotifierUow


async def test_deliveries_with_attempts_and_what_did_not_arrive(uow: FakeNotifierUow) -> None:
    first, other = pending(uow, "CMHT"), pending(uow, "GP", handover_id="h2")
    uow.deliveries.add_attempts(first.seq or 0, [(T0, AttemptResult(500, 3, None, None))])
    first.status = DeliveryStatus.DEAD_LETTERED
    [(found, attempts)] = await queries.deliveries_of(uow=uow, handover_id="h")
    assert found is first and [a.status_code for a in attempts] == [500]
    assert await queries.delivery_by_webhook_id(uow=uow, webhook_id="msg_none") is None
    assert await queries.dead_letters(uow=uow) == [first] and other not in await queries.dead_letters(uow=uow)


async def test_escalations_of_other_establishments_are_left_out(uow: FakeNotifierUow) -> None:
    for handover_id, establishment in (("h1", "HHI"), ("h2", "DMI")):
        uow.handovers.facts[handover_id] = HandoverFact(
            handover_id=handover_id, subject="A1234BC", establishment_code=establishment, updated_at=T0
        )
        uow.escalations.rows.append(
            Escalation(
                id=handover_id,
                handover_id=handover_id,
                agency_code="CMHT",
                deadline="after_delivery",
                due_at=T0,
                escalated_at=T0,
                told="HCC",
            )
        )
    found = await queries.escalations_with_facts(uow=uow, establishments={"HHI"})
    assert [(item.id, fact.establishment_code if fact else None) for item, fact in found] == [("h1", "HHI")]
    assert len(await queries.escalations_with_facts(uow=uow)) == 2
    assert (await queries.handover_fact(uow=uow, handover_id="h2")) is uow.handovers.facts["h2"]
