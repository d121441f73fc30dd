"""What the notifier's store tests share: a directory of local agencies, deliveries added and claimed, rounds
recorded, the outbox read back; a real (SQLite file) database on a frozen clock."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlmodel import col, select, update

from contracts.envelope import CloudEvent, EventType
from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.outbox import OutboxMessage
from services.notifier.adapters.directory_file import load_directory
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.domain.agencies import Directory
from services.notifier.domain.escalation_rules import Deadlines
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.verdict import AttemptResult, RetryPolicy, RoundVerdict
from services.notifier.usecases import dead_letters
from services.notifier.usecases.dispatch_round import claim_due, record_round
from services.notifier.usecases.escalations import escalate_due
from services.notifier.usecases.new_deliveries import new_delivery
from services.notifier.usecases.plan_deliveries import remember_handover

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = Deadlines(after_delivery=timedelta(hours=72), before_release=timedelta(hours=24))


def local_directory(tmp_path: Path) -> Directory:
    """Agencies of each kind the store tests route to, their webhooks at a closed local port."""

    def agency(code: str, kind: str, **extra: object) -> dict[str, object]:
        return {
            "code": code,
            "kind": kind,
            "name": code,
            "contact_email": f"{code.lower()}@example.org",
            "webhook": {"url": f"http://127.0.0.1:9/{code}", "secret_ref": "literal:whsec_AA=="},
            **extra,
        }

    path = tmp_path / "directory.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "agencies": [
                    agency("A", "gp_practice"),
                    agency("B", "community_mental_health_team"),
                    agency("CMHT", "community_mental_health_team"),
                    agency("REC", "reconnect", coverage={"postcode_districts": ["TS1"]}),
                    agency("HCC", "prison_healthcare", establishments=["HHI"]),
                ]
            }
        )
    )
    return load_directory(path)


def uow(database: Database, clock: FrozenClock) -> NotifierUnitOfWork:
    return NotifierUnitOfWork(database, clock)


async def add(
    database: Database,
    directory: Directory,
    code: str,
    subject: str,
    now: datetime,
    handover_id: str = "h",
    webhook_type: str = "handover.pack.issued",
    data: dict[str, object] | None = None,
) -> Delivery:
    assert directory.by_code(code) is not None
    delivery = new_delivery(
        agency_code=code,
        webhook_type=webhook_type,
        source_event_id=str(uuid.uuid4()),
        subject=subject,
        handover_id=handover_id,
        data=data or {},
        correlation_id=None,
        now=now,
    )
    async with database.transaction() as session:
        session.add(delivery)
    return delivery


async def claim(database: Database, clock: FrozenClock, **kwargs: object) -> list[str]:
    found = await claim_due(uow=uow(database, clock), now=clock.now(), limit=100, lease_seconds=60, **kwargs)  # type: ignore[arg-type]
    return [delivery.webhook_id for delivery in found]


# A schedule that is spent at once dead-letters the first failure; a long one schedules a retry.
SPENT = RetryPolicy(schedule=[], pause_after=timedelta(hours=1))
LONG = RetryPolicy(schedule=[0.0] + [300.0] * 9, pause_after=timedelta(hours=1))


async def lease(database: Database, delivery: Delivery, until: datetime) -> None:
    """Lease ``delivery`` (stored and on the object) whatever its claimability: a round is recorded only under
    the lease its claim set."""
    async with database.transaction() as session:
        await session.exec(update(Delivery).where(col(Delivery.seq) == delivery.seq).values(lease_expires_at=until))
    delivery.lease_expires_at = until


async def finish(
    database: Database,
    clock: FrozenClock,
    directory: Directory,
    delivery: Delivery,
    status: DeliveryStatus,
    code: int = 204,
) -> RoundVerdict:
    """Lease ``delivery`` as a claim would, record a round answered with ``code`` and check that it ends as
    ``status``."""
    await lease(database, delivery, clock.now() + timedelta(seconds=60))
    verdict = await record_round(
        uow=uow(database, clock),
        delivery=delivery,
        agency=directory.by_code(delivery.agency_code),
        directory=directory,
        attempts=[(clock.now(), AttemptResult(code, 5, None, None))],
        retry_after=None,
        policy=SPENT if status == DeliveryStatus.DEAD_LETTERED else LONG,
        now=clock.now(),
        source="urn:test",
    )
    assert verdict.status == status
    return verdict


async def replay(database: Database, clock: FrozenClock, **which: str | datetime) -> list[str]:
    return await dead_letters.replay(uow=uow(database, clock), actor="op", now=clock.now(), **which)  # type: ignore[arg-type]


async def remember(
    database: Database,
    clock: FrozenClock,
    data: dict[str, object],
    kind: EventType = EventType.HANDOVER_PACK_ISSUED,
) -> None:
    """The notifier learns of a handover event of ``kind`` about A1234BC, carrying ``data``."""
    event = CloudEvent(id=str(uuid.uuid4()), source="s", type=kind.value, time=T0, subject="A1234BC", data=data)
    async with uow(database, clock) as unit:
        await remember_handover(unit, event=event, handover_id=str(event.data["handover_id"]), now=clock.now())


async def scan(database: Database, clock: FrozenClock, directory: Directory) -> int:
    return await escalate_due(
        new_uow=lambda: uow(database, clock), directory=directory, rules=RULES, now=clock.now(), source="urn:test"
    )


async def outbox(database: Database) -> list[dict[str, object]]:
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [json.loads(row.payload) for row in rows]
