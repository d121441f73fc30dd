"""release_events on a real SQLite file: idempotency records expire after their window; people already in the
database before the custody register existed are entered in it by the migration; the notice progress
projection ends the same whatever the order of its two topics."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from contracts.envelope import CloudEvent, EventType
from contracts.release_notice import ReleaseNoticeV1
from services.common.clock import Clock, FrozenClock
from services.common.db import Database
from services.common.migrations import _config, upgrade
from services.release_events.adapters.tables import NoticeDelivery, NoticeProgress
from services.release_events.adapters.unit_of_work import SqlReleaseEventsUnitOfWork
from services.release_events.domain.notices import IdempotencyConflict
from services.release_events.usecases.accept_notice import Submission, SubmissionReply, accept_notice
from services.release_events.usecases.follow_progress import (
    apply_delivery_outcome,
    apply_delivery_outcomes,
    apply_handover_event,
    apply_handover_events,
)
from services.release_events.usecases.purge_idempotency import purge_idempotency_records
from services.release_events.usecases.queries import notice_progress
from services.release_events.wiring import MIGRATIONS
from tests.support.scratch_db import migrated_database_url
from ttg.synthetic import release_notice


def submission(body: dict[str, object], key: str) -> Submission:
    return Submission(
        notice=ReleaseNoticeV1.model_validate(body),
        body=body,
        idempotency_key=key,
        scope="prison-dmi",
        correlation_id="c1",
        idempotency_window=timedelta(days=7),
    )


async def submit(*, database: Database, submission: Submission, clock: Clock, source: str) -> SubmissionReply:
    uow = SqlReleaseEventsUnitOfWork(database, clock)
    return await accept_notice(
        uow=uow, submission=submission, notice_id=str(uuid.uuid4()), now=clock.now(), source=source
    )


@pytest.mark.hazard("H35")
def test_an_idempotency_key_is_remembered_for_its_window_then_forgotten_and_purged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'release_events.db'}"
    upgrade(url, MIGRATIONS)
    clock = FrozenClock(datetime(2026, 12, 1, tzinfo=UTC))
    first_body = release_notice(random.Random(1), place="durham")
    other_body = {**first_body, "given_name": "Different"}

    async def run() -> None:
        database = Database(url)
        try:
            first = await submit(database=database, submission=submission(first_body, "k1"), clock=clock, source="t")
            clock.advance(timedelta(days=6))
            replay = await submit(database=database, submission=submission(first_body, "k1"), clock=clock, source="t")
            assert replay.replayed and replay.body == first.body
            with pytest.raises(IdempotencyConflict):
                await submit(database=database, submission=submission(other_body, "k1"), clock=clock, source="t")
            clock.advance(timedelta(days=2))  # the window has passed: the key is free again
            later = await submit(database=database, submission=submission(other_body, "k1"), clock=clock, source="t")
            assert later.status_code == 202 and not later.replayed
            assert later.body["notice_id"] != first.body["notice_id"]
            await submit(database=database, submission=submission(first_body, "k2"), clock=clock, source="t")
            clock.advance(timedelta(days=8))
            purged = await purge_idempotency_records(
                uow=SqlReleaseEventsUnitOfWork(database, clock), older_than=clock.now() - timedelta(days=7)
            )
            assert purged == 2
        finally:
            await database.dispose()

    asyncio.run(run())


@pytest.mark.hazard("H31", "H32")
def test_people_stored_before_the_register_are_entered_in_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'release_events.db'}"
    command.upgrade(_config(url, MIGRATIONS), "0003_security")
    now = datetime(2026, 12, 1, tzinfo=UTC).replace(tzinfo=None)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for notice_id, person, establishment in (("n1", "A1111AA", "DMI"), ("n2", "A2222BB", "HHI")):
            connection.execute(
                sa.text("INSERT INTO release_notice VALUES (:id, :pn, :est, :id, '{}', :now)"),
                {"id": notice_id, "pn": person, "est": establishment, "now": now},
            )
        events = (
            ("e1", "A2222BB", 1, "transfer", "BMI", '{"from_establishment_code": "HHI"}'),
            ("e2", "A3333CC", 4, "released", "DMI", "{}"),
        )
        for event_id, person, sequence, kind, establishment, body in events:
            connection.execute(
                sa.text("INSERT INTO custody_event VALUES (:id, :pn, :seq, :kind, :est, :id, :body, 'h', :now)"),
                {
                    "id": event_id,
                    "pn": person,
                    "seq": sequence,
                    "kind": kind,
                    "est": establishment,
                    "body": body,
                    "now": now,
                },
            )
    engine.dispose()
    upgrade(url, MIGRATIONS)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT prison_number, establishment_code, sequence, released FROM custody_register "
                "ORDER BY prison_number"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("A1111AA", "DMI", None, 0),
        ("A2222BB", "BMI", 1, 0),
        ("A3333CC", None, 4, 1),
    ]


def event(type_: EventType, at: datetime, data: dict[str, object]) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="test",
        type=type_.value,
        time=at,
        subject="A1234BC",
        dataschema="urn:ttg:schema:test:1.0",
        data=data,
    )


@pytest.mark.hazard("H36")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("order", ["in order", "outcome first"])
def test_the_notice_progress_ends_the_same_whatever_order_the_two_topics_arrive_in(
    tmp_path: Path, order: str, backend: str
) -> None:
    clock = FrozenClock(datetime(2026, 12, 1, tzinfo=UTC))
    t0 = clock.now()
    pack = event(
        EventType.HANDOVER_PACK_ISSUED,
        t0,
        {
            "handover_id": "h1",
            "version": 1,
            "notice_id": "n1",
            "distribution": [{"agency_code": "A99001"}, {"agency_code": "PDU-DUR"}],
        },
    )
    outcome = event(
        EventType.DELIVERY_SUCCEEDED,
        t0 + timedelta(seconds=1),
        {
            "webhook_id": "msg_1",
            "source_event_id": pack.id,
            "event_type": "handover.pack.issued",
            "handover_id": "h1",
            "agency_code": "A99001",
            "status": "delivered",
            "attempts": 1,
        },
    )

    older_failure = event(EventType.DELIVERY_FAILED, t0 - timedelta(seconds=1), {**outcome.data, "status": "failed"})

    async def run(url: str) -> None:
        database = Database(url)
        try:
            apply = {pack.id: apply_handover_event, outcome.id: apply_delivery_outcome}
            apply[older_failure.id] = apply_delivery_outcome
            sequence = [pack, outcome] if order == "in order" else [outcome, pack]
            # A redelivery is applied once; an outcome older than what is held (retried, arriving late) is kept
            # out by the newer one, on either backend's upsert.
            for item in [*sequence, sequence[0], older_failure]:
                uow = SqlReleaseEventsUnitOfWork(database, clock)
                await apply[item.id](uow=uow, event=item, now=clock.now())
            uow = SqlReleaseEventsUnitOfWork(database, clock)
            found, deliveries = await notice_progress(uow=uow, notice_id="n1")
            assert found is not None and (found.handover_id, found.version, found.state) == ("h1", 1, "issued")
            assert {(d.agency_code, d.state) for d in deliveries} == {("A99001", "delivered"), ("PDU-DUR", "pending")}
        finally:
            await database.dispose()

    with migrated_database_url(backend, tmp_path, MIGRATIONS, "progress") as url:
        asyncio.run(run(url))


@pytest.mark.hazard("H36")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_of_delivery_outcomes_applied_together_ends_as_applied_one_by_one(tmp_path: Path, backend: str) -> None:
    clock = FrozenClock(datetime(2026, 12, 1, tzinfo=UTC))
    t0 = clock.now()

    def outcomes(handover_id: str) -> list[CloudEvent]:
        def told(agency: str, status: str, seconds: int) -> CloudEvent:
            kind = {"delivered": EventType.DELIVERY_SUCCEEDED, "dead_lettered": EventType.DELIVERY_DEAD_LETTERED}
            data = {
                "webhook_id": f"msg_{agency}",
                "source_event_id": "e-1",
                "event_type": "handover.pack.issued",
                "handover_id": handover_id,
                "agency_code": agency,
                "status": status,
                "attempts": 1,
            }
            return event(kind.get(status, EventType.DELIVERY_FAILED), t0 + timedelta(seconds=seconds), data)

        delivered = told("A99001", "delivered", 2)
        unfollowed = told("SMS-DUR", "delivered", 1)
        unfollowed.data["handover_id"] = None  # a webhook of no handover: nothing to follow
        return [
            delivered,
            told("PDU-DUR", "failed", 3),
            delivered,  # redelivered: applied once
            told("A99001", "failed", 1),  # older than the delivery: kept out
            told("CMHT-DUR", "retrying", 4),  # not an outcome
            told("CMHT-DUR", "dead_lettered", 5),
            unfollowed,
        ]

    async def run(url: str) -> None:
        database = Database(url)
        try:
            async with database.batch_all_or_nothing():
                uow = SqlReleaseEventsUnitOfWork(database, clock)
                assert await apply_delivery_outcomes(uow=uow, events=outcomes("h-together"), now=t0) == 4
            for item in outcomes("h-alone"):
                await apply_delivery_outcome(uow=SqlReleaseEventsUnitOfWork(database, clock), event=item, now=t0)
            async with database.session() as session:
                rows = (await session.execute(sa.select(NoticeDelivery))).scalars().all()
            held = {
                handover: {(r.agency_code, r.message, r.state, r.updated_at) for r in rows if r.handover_id == handover}
                for handover in ("h-together", "h-alone")
            }
            assert held["h-together"] == held["h-alone"]
            assert {(agency, state) for agency, _, state, _ in held["h-together"]} == {
                ("A99001", "delivered"),
                ("PDU-DUR", "failed"),
                ("CMHT-DUR", "dead_lettered"),
            }
        finally:
            await database.dispose()

    with migrated_database_url(backend, tmp_path, MIGRATIONS, "progress") as url:
        asyncio.run(run(url))


@pytest.mark.hazard("H36")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_of_handover_events_keeps_each_packs_newest_state_as_one_by_one(tmp_path: Path, backend: str) -> None:
    clock = FrozenClock(datetime(2026, 12, 1, tzinfo=UTC))
    t0 = clock.now()

    def handover_events(handover_id: str, notice_id: str) -> list[CloudEvent]:
        def pack(kind: EventType, version: int, seconds: int, agencies: list[str]) -> CloudEvent:
            data = {
                "handover_id": handover_id,
                "version": version,
                "notice_id": notice_id,
                "distribution": [{"agency_code": code} for code in agencies],
            }
            return event(kind, t0 + timedelta(seconds=seconds), data)

        amended = pack(EventType.HANDOVER_PACK_AMENDED, 2, 2, ["A99001"])
        return [
            amended,
            pack(EventType.HANDOVER_PACK_WITHDRAWN, 2, 4, ["PDU-DUR"]),
            amended,  # redelivered
            pack(EventType.REFERRAL_REROUTED, 2, 3, ["RECONNECT-DUR"]),  # no pack state of its own
            pack(EventType.HANDOVER_PACK_AMENDED, 2, 1, []),  # late: the same version, older
            pack(EventType.HANDOVER_PACK_ISSUED, 1, 0, ["A99001", "PDU-DUR"]),  # late: an older version
        ]

    async def run(url: str) -> None:
        database = Database(url)
        try:
            async with database.batch_all_or_nothing():
                uow = SqlReleaseEventsUnitOfWork(database, clock)
                assert await apply_handover_events(uow=uow, events=handover_events("h-together", "n-t"), now=t0) == 5
            for item in handover_events("h-alone", "n-a"):
                await apply_handover_event(uow=SqlReleaseEventsUnitOfWork(database, clock), event=item, now=t0)
            async with database.session() as session:
                packs = {
                    row.handover_id: (row.version, row.state, row.updated_at)
                    for row in (await session.execute(sa.select(NoticeProgress))).scalars()
                }
                rows = (await session.execute(sa.select(NoticeDelivery))).scalars().all()
            assert packs["h-together"] == packs["h-alone"] == (2, "withdrawn", t0 + timedelta(seconds=4))
            held = {
                handover: {(r.agency_code, r.message, r.state) for r in rows if r.handover_id == handover}
                for handover in ("h-together", "h-alone")
            }
            assert (
                held["h-together"]
                == held["h-alone"]
                == {
                    ("A99001", "handover.pack.amended", "pending"),
                    ("PDU-DUR", "handover.pack.withdrawn", "pending"),
                    ("RECONNECT-DUR", "handover.referral.rerouted", "pending"),
                }
            )
        finally:
            await database.dispose()

    with migrated_database_url(backend, tmp_path, MIGRATIONS, "packs") as url:
        asyncio.run(run(url))
