"""Rounds recorded together (``RoundRecorder`` over ``Database.batch``): a poison round is undone alone while the
others commit, a crash between sending and recording leaves the delivery leased and it is sent again under the
same webhook-id, and per-person order to an endpoint holds. A real SQLite file; ``httpx.MockTransport`` in place
of the network; a frozen clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession
from structlog.testing import capture_logs

from contracts.envelope import EventType
from services.common.audit import AuditEntry
from services.common.audit_verify import verify_connection
from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.unit_of_work import SqlAuditTrail
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.verdict import AttemptResult, RetryPolicy, RoundVerdict
from services.notifier.entrypoints import dispatcher as dispatcher_module
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.entrypoints.round_recorder import RoundRecorder
from services.notifier.settings import NotifierSettings
from services.notifier.usecases import queries
from services.notifier.usecases.dispatch_round import LeaseLost, claim_due, record_round
from services.notifier.usecases.new_deliveries import new_delivery
from tests.unit.notifier.store_support import outbox
from tests.unit.notifier.test_dispatcher import T0, directory  # noqa: F401 - the fixture is used

POLICY = RetryPolicy(schedule=[0, 60, 300], pause_after=timedelta(hours=24))


async def add(database: Database, subject: str, event_id: str) -> Delivery:
    delivery = new_delivery(
        agency_code="A",
        webhook_type="handover.pack.issued",
        source_event_id=event_id,
        subject=subject,
        handover_id=f"h-{event_id}",
        data={"event": event_id},
        correlation_id=None,
        now=T0,
    )
    async with database.transaction() as session:
        session.add(delivery)
    return delivery


async def stored(database: Database, delivery: Delivery) -> tuple[Delivery, list[Any]]:
    found = await queries.delivery_by_webhook_id(
        uow=NotifierUnitOfWork(database, FrozenClock(T0)), webhook_id=delivery.webhook_id
    )
    assert found is not None
    return found


class PoisonedAudit(SqlAuditTrail):
    """An audit trail that fails on one delivery's record, after that round has written everything else."""

    poison = ""

    async def record(self, entry: AuditEntry) -> None:
        if entry.resource_id == self.poison:
            raise RuntimeError("poison round")
        await super().record(entry)


class PoisonedUow(NotifierUnitOfWork):
    def _bind(self, session: AsyncSession) -> None:
        super()._bind(session)
        self.audit = PoisonedAudit(session, self.clock)


def counted(database: Database, opened: list[int], *, savepoints: bool = False) -> Any:
    @asynccontextmanager
    async def batch() -> AsyncIterator[AsyncSession]:
        opened.append(1)
        async with database.batch(savepoints=savepoints) as session:
            yield session

    return batch


@pytest.mark.hazard("H89")
@pytest.mark.parametrize("savepoints", [False, True], ids=["all or nothing", "savepoints"])
async def test_a_poison_round_in_a_batch_is_undone_alone_and_the_others_are_recorded(
    database: Database,
    directory: Directory,  # noqa: F811
    savepoints: bool,
) -> None:
    """With savepoints the poison round is undone alone in the batch; all or nothing (as the service records), it
    spoils the batch and every round is recorded alone. Either way the others are recorded once, and nothing of
    the poison round is."""
    clock = FrozenClock(T0)
    added = [await add(database, f"A{n:04d}BC", f"e{n}") for n in range(3)]
    claimed = await claim_due(uow=NotifierUnitOfWork(database, clock), now=T0, limit=10, lease_seconds=60)
    assert [d.webhook_id for d in claimed] == [d.webhook_id for d in added]
    PoisonedAudit.poison = added[1].webhook_id
    opened: list[int] = []
    recorder: RoundRecorder[RoundVerdict] = RoundRecorder(counted(database, opened, savepoints=savepoints))

    def round_of(delivery: Delivery) -> Any:
        return lambda: record_round(
            uow=PoisonedUow(database, clock),
            delivery=delivery,
            agency=directory.by_code("A"),
            directory=directory,
            attempts=[(T0, AttemptResult(204, 5, None, None))],
            retry_after=None,
            policy=POLICY,
            now=T0,
            source="urn:test",
        )

    with capture_logs() as logged:
        results = await asyncio.gather(*(recorder.record(round_of(d)) for d in claimed), return_exceptions=True)

    assert len(opened) == 1, "the three rounds were recorded in one batch"
    events = [line["event"] for line in logged]
    assert events.count("delivery.round_undone_in_batch") == 1, "the poison round; not the rounds it spoiled"
    assert ("delivery.batch_not_committed" in events) is not savepoints
    assert isinstance(results[1], RuntimeError) and str(results[1]) == "poison round"
    assert [r.status for r in (results[0], results[2]) if isinstance(r, RoundVerdict)] == ["delivered"] * 2
    good, bad = [await stored(database, added[n]) for n in (0, 2)], await stored(database, added[1])
    assert [(d.status, len(attempts)) for d, attempts in good] == [(DeliveryStatus.DELIVERED, 1)] * 2
    poisoned, its_attempts = bad
    assert poisoned.status == DeliveryStatus.PENDING and its_attempts == [], "all of the poison round was undone"
    assert poisoned.lease_expires_at is not None, "still leased: it is sent again when the lease runs out"
    async with database.session() as session:
        chain = await session.run_sync(lambda sync: verify_connection(sync.connection()))
    assert chain.intact and chain.records == 2


@pytest.mark.hazard("H89")
async def test_a_crash_between_sending_and_recording_resends_under_the_same_webhook_id_after_the_lease(
    database: Database,
    directory: Directory,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivery = await add(database, "A1234BC", "e1")
    clock = FrozenClock(T0)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["webhook-id"])
        return httpx.Response(204)

    crashing = True  # every recording of the first round fails: in the batch, and alone again after it

    async def crashing_first(**kwargs: Any) -> RoundVerdict:
        if crashing:
            raise RuntimeError("the process died here")
        return await record_round(**kwargs)

    monkeypatch.setattr(dispatcher_module, "record_round", crashing_first)
    settings = NotifierSettings(retry_schedule_seconds=[0, 60, 300], lease_seconds=120)
    dispatcher = Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, clock),
        directory=directory,
        settings=settings,
        clock=clock,
        transport=httpx.MockTransport(handler),
        batch=database.batch_all_or_nothing,
    )
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.settle()
    left, attempts = await stored(database, delivery)
    assert left.status == DeliveryStatus.PENDING and attempts == [] and left.lease_expires_at is not None
    assert await dispatcher.dispatch_once() == 0, "leased: not sent again before the lease ends"

    crashing = False
    clock.advance(timedelta(seconds=121))
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.settle()
    assert seen == [delivery.webhook_id, delivery.webhook_id]
    assert (await stored(database, delivery))[0].status == DeliveryStatus.DELIVERED


@pytest.mark.hazard("H89")
async def test_rounds_recorded_together_keep_each_persons_order_to_the_endpoint(
    database: Database,
    directory: Directory,  # noqa: F811
) -> None:
    people = [f"A{n:04d}BC" for n in range(3)]
    sent_in_order = [await add(database, person, f"{person}-{version}") for version in (1, 2, 3) for person in people]
    clock = FrozenClock(T0)
    arrived: list[str] = []
    answer = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(request.headers["webhook-id"])
        await answer.wait()  # rounds in flight finish together, so they are recorded in one batch
        return httpx.Response(204)

    opened: list[int] = []
    dispatcher = Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, clock),
        directory=directory,
        settings=NotifierSettings(per_endpoint_concurrency=4),
        clock=clock,
        transport=httpx.MockTransport(handler),
        batch=counted(database, opened),
    )
    for _ in range(len(sent_in_order)):  # at most one round per delivery; each round delivers at least one
        if await dispatcher.dispatch_once() == 0:
            break
        answer.set()
        await dispatcher.settle()
        answer.clear()
    assert sorted(arrived) == sorted(d.webhook_id for d in sent_in_order), "each sent once"
    for person in people:
        theirs = [d.webhook_id for d in sent_in_order if d.subject == person]
        assert [webhook for webhook in arrived if webhook in theirs] == theirs
    assert len(opened) < len(sent_in_order), "rounds were recorded together"
    assert all([(await stored(database, d))[0].status == DeliveryStatus.DELIVERED for d in sent_in_order])


def answered(database: Database, clock: FrozenClock, directory: Directory, delivery: Delivery, code: int) -> Any:  # noqa: F811
    """The recording of a round of ``delivery`` answered with ``code``, as the dispatcher hands it over."""
    return lambda: record_round(
        uow=NotifierUnitOfWork(database, clock),
        delivery=delivery,
        agency=directory.by_code(delivery.agency_code),
        directory=directory,
        attempts=[(clock.now(), AttemptResult(code, 5, None, None))],
        retry_after=None,
        policy=POLICY,
        now=clock.now(),
        source="urn:test",
    )


async def audit_records(database: Database) -> int:
    async with database.session() as session:
        chain = await session.run_sync(lambda sync: verify_connection(sync.connection()))
    assert chain.intact
    return chain.records


@pytest.mark.hazard("H89")
async def test_a_batch_whose_commit_succeeded_but_reported_an_error_is_not_recorded_again(
    database: Database,
    directory: Directory,  # noqa: F811
) -> None:
    clock = FrozenClock(T0)
    added = [await add(database, f"A{n:04d}BC", f"e{n}") for n in range(2)]
    claimed = await claim_due(uow=NotifierUnitOfWork(database, clock), now=T0, limit=10, lease_seconds=60)

    @asynccontextmanager
    async def committed_then_dropped() -> AsyncIterator[AsyncSession]:
        async with database.batch() as session:
            yield session
        raise ConnectionError("the connection dropped during COMMIT")  # after the commit had happened

    recorder: RoundRecorder[RoundVerdict] = RoundRecorder(committed_then_dropped)
    results = await asyncio.gather(
        *(recorder.record(answered(database, clock, directory, d, 204)) for d in claimed), return_exceptions=True
    )

    assert [type(result) for result in results] == [LeaseLost, LeaseLost], "each re-recording found it recorded"
    for delivery in added:
        found, attempts = await stored(database, delivery)
        assert (found.status, found.attempt_count, len(attempts)) == (DeliveryStatus.DELIVERED, 1, 1)
    outcomes = [event["data"]["webhook_id"] for event in await outbox(database)]  # type: ignore[index]
    assert sorted(outcomes) == sorted(d.webhook_id for d in added), "one outcome event each, not two"
    assert await audit_records(database) == 2, "one delivery.finished record each, not two"


@pytest.mark.hazard("H89")
async def test_a_late_round_is_not_recorded_over_the_replica_that_took_over_its_lease(
    database: Database,
    directory: Directory,  # noqa: F811
) -> None:
    clock = FrozenClock(T0)
    delivery = await add(database, "A1234BC", "e1")
    [ours] = await claim_due(uow=NotifierUnitOfWork(database, clock), now=T0, limit=10, lease_seconds=60)
    clock.advance(timedelta(seconds=61))  # our round was slow: the lease ran out and another replica claimed it
    [theirs] = await claim_due(uow=NotifierUnitOfWork(database, clock), now=clock.now(), limit=10, lease_seconds=60)

    with pytest.raises(LeaseLost):  # while the other replica's round is in flight
        await answered(database, clock, directory, ours, 503)()
    assert (await answered(database, clock, directory, theirs, 204)()).status == DeliveryStatus.DELIVERED
    with pytest.raises(LeaseLost):  # after it recorded its round
        await answered(database, clock, directory, ours, 503)()

    found, attempts = await stored(database, delivery)
    assert found.status == DeliveryStatus.DELIVERED and [a.status_code for a in attempts] == [204]
    assert [event["type"] for event in await outbox(database)] == [EventType.DELIVERY_SUCCEEDED.value]
    assert await audit_records(database) == 1


async def test_a_batch_records_its_rounds_in_agency_order_so_replicas_lock_endpoints_alike() -> None:
    recorded: list[str] = []
    batches: list[int] = []

    @asynccontextmanager
    async def batch() -> AsyncIterator[None]:
        batches.append(1)
        yield

    recorder: RoundRecorder[str] = RoundRecorder(batch)

    async def record(code: str) -> str:
        recorded.append(code)
        return code

    codes = ["CMHT", "A99001", "PDU", "A99001"]
    results = await asyncio.gather(*(recorder.record(lambda c=c: record(c), order=c) for c in codes))
    assert results == codes, "each round gets its own result"
    assert recorded == sorted(codes) and batches == [1]


async def test_rounds_left_to_record_alone_are_settled_when_the_worker_is_cancelled() -> None:
    started_alone = asyncio.Event()
    tries: dict[str, int] = {}

    @asynccontextmanager
    async def batch() -> AsyncIterator[None]:
        yield

    async def record(name: str) -> str:
        tries[name] = tries.get(name, 0) + 1
        if tries[name] == 1:
            raise RuntimeError("undone in the batch")
        started_alone.set()
        await asyncio.Event().wait()  # recorded alone when the process stops: never finishes
        return name

    recorder: RoundRecorder[str] = RoundRecorder(batch)
    tasks = [asyncio.ensure_future(recorder.record(lambda n=name: record(n), order=name)) for name in "abc"]
    await started_alone.wait()
    await recorder.close()
    _, waiting = await asyncio.wait(tasks, timeout=10)  # a deadline, not a pause: each ends at once when settled
    assert not waiting, "every round's task is settled, not only the one being recorded"
    assert all(task.cancelled() for task in tasks) and tries == {"a": 2, "b": 1, "c": 1}


async def test_an_endpoint_disabled_by_a_round_is_logged_only_once_the_rounds_batch_committed(
    database: Database,
    directory: Directory,  # noqa: F811
) -> None:
    clock = FrozenClock(T0)
    await add(database, "A1234BC", "e1")
    [delivery] = await claim_due(uow=NotifierUnitOfWork(database, clock), now=T0, limit=10, lease_seconds=60)

    with capture_logs() as logged, pytest.raises(RuntimeError):
        async with database.batch():
            await answered(database, clock, directory, delivery, 410)()
            raise RuntimeError("the batch failed before its commit")
    assert "endpoint.disabled" not in [line["event"] for line in logged], "the endpoint was never disabled"

    with capture_logs() as logged:
        async with database.batch():
            await answered(database, clock, directory, delivery, 410)()
            said_in_batch = [line["event"] for line in logged]
    assert "endpoint.disabled" not in said_in_batch, "not while the batch could still fail"
    assert [line["agency"] for line in logged if line["event"] == "endpoint.disabled"] == ["A"]
