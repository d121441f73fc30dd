"""Group commit of release notices (services/release_events/adapters/group_commit.py) on SQLite and PostgreSQL,
through the real use case and unit of work: concurrent notices commit in one transaction; a poison submission
in a batch fails alone with its own error while the others commit; a repeat of an Idempotency-Key inside one batch
is answered as the first; a batch that fails before its commit answers nobody and keeps nothing."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from structlog.testing import capture_logs

from contracts.release_notice import ReleaseNoticeV1
from services.common.audit import AuditEntry, AuditRecord
from services.common.audit_verify import verify_connection
from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.outbox import OutboxMessage
from services.release_events.adapters.group_commit import GroupCommit
from services.release_events.adapters.tables import IdempotencyRecord, ReleaseNoticeRecord
from services.release_events.adapters.unit_of_work import SqlReleaseEventsUnitOfWork
from services.release_events.domain.custody_rules import CustodyRefused
from services.release_events.domain.notices import IdempotencyConflict
from services.release_events.usecases.accept_notice import Submission, SubmissionReply, accept_notice, announce
from services.release_events.usecases.ports import WriteConflict
from services.release_events.wiring import MIGRATIONS
from tests.support.scratch_db import migrated_database_url
from ttg.synthetic import release_notice

SEED = 92
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    with migrated_database_url(request.param, tmp_path, MIGRATIONS, "group_commit") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


def people(count: int) -> list[dict[str, Any]]:
    """``count`` synthetic notices about different people (seeded; the seed is printed)."""
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    made: dict[str, dict[str, Any]] = {}
    while len(made) < count:
        body = release_notice(rng, place="durham")
        made[body["prison_number"]] = body
    return list(made.values())


def by_prison_number(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``bodies`` in the order a batch runs their submissions (group commit sorts a batch by prison number)."""
    return sorted(bodies, key=lambda body: str(body["prison_number"]))


def submission(body: dict[str, Any], key: str | None) -> Submission:
    notice = ReleaseNoticeV1.model_validate(body)
    entry = AuditEntry("prison-dmi", "prison_healthcare", "HMPPS-HC", "notice.submitted", "release_notice")
    return Submission(
        notice=notice, body=body, idempotency_key=key, scope="prison-dmi", correlation_id="c1", audit_entry=entry
    )


def submit(
    commits: GroupCommit, database: Database, what: Submission, notice_id: str | None = None
) -> asyncio.Task[SubmissionReply]:
    """One request's submission, as the route makes it: accept_notice over a new unit of work, in a batch."""
    uow = SqlReleaseEventsUnitOfWork(database, FrozenClock(NOW))
    chosen = notice_id or str(uuid.uuid4())
    return asyncio.ensure_future(
        commits.run(
            lambda: accept_notice(uow=uow, submission=what, notice_id=chosen, now=NOW, source="test"),
            order=what.notice.prison_number,
        )
    )


async def stored(database: Database) -> tuple[list[str], list[str], list[str | None], bool]:
    """Notice ids, outbox event ids, audited resource ids (in chain order), and whether the chain verifies."""
    async with database.session() as session:
        notices = list((await session.exec(select(ReleaseNoticeRecord.id))).all())
        outbox = list((await session.exec(select(OutboxMessage.event_id).order_by(col(OutboxMessage.id)))).all())
        audited = list((await session.exec(select(AuditRecord.resource_id).order_by(col(AuditRecord.seq)))).all())
    async with database.engine.connect() as connection:
        verdict = await connection.run_sync(verify_connection)
    return sorted(notices), outbox, audited, verdict.intact


def count_commits(database: Database) -> list[int]:
    commits = [0]

    def counted(*_: object) -> None:
        commits[0] += 1

    event.listen(database.engine.sync_engine, "commit", counted)
    return commits


@pytest.mark.hazard("H92")
async def test_concurrent_notices_are_committed_together_and_each_answered_after_the_commit(
    database: Database,
) -> None:
    commits = count_commits(database)
    group = GroupCommit(database, max_batch=32)
    bodies = people(12)
    tasks = [submit(group, database, submission(body, f"key-{n}")) for n, body in enumerate(bodies)]
    answers = await asyncio.gather(*tasks)
    assert [answer.status_code for answer in answers] == [202] * 12
    assert commits[0] == 1  # one transaction for the twelve
    notices, outbox, audited, intact = await stored(database)
    assert notices == sorted(answer.body["notice_id"] for answer in answers)
    assert len(outbox) == 12 and intact
    in_batch_order = sorted(range(12), key=lambda n: bodies[n]["prison_number"])  # as replicas lock the register
    assert audited == [answers[n].body["notice_id"] for n in in_batch_order]


@pytest.mark.hazard("H92")
async def test_a_poison_submission_fails_alone_with_its_own_error_and_its_neighbours_commit(
    database: Database,
) -> None:
    group = GroupCommit(database, max_batch=32)
    first, second, third, fourth = by_prison_number(people(4))  # a batch runs them in this order
    taken = str(uuid.uuid4())
    elsewhere = "HHI" if first["establishment_code"] != "HHI" else "DMI"
    tasks = [
        submit(group, database, submission(first, "k1"), notice_id=taken),
        # the same notice id again: a unique-constraint violation at its flush, inside the batch
        submit(group, database, submission(second, "k2"), notice_id=taken),
        submit(group, database, submission(third, "k3")),
        # the same person from an establishment that does not hold them: refused (and the refusal audited)
        submit(group, database, submission({**first, "establishment_code": elsewhere}, "k4")),
        submit(group, database, submission(fourth, "k5")),
    ]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[1], WriteConflict)
    assert isinstance(outcomes[3], CustodyRefused)
    accepted = [outcome for outcome in outcomes if isinstance(outcome, SubmissionReply)]
    assert [reply.status_code for reply in accepted] == [202, 202, 202]
    notices, outbox, audited, intact = await stored(database)
    assert notices == sorted(reply.body["notice_id"] for reply in accepted)
    assert len(outbox) == 3 and intact
    assert len(audited) == 4  # three submissions and the refusal; nothing of the poison one
    async with database.session() as session:
        keys = sorted((await session.exec(select(IdempotencyRecord.key))).all())
    assert keys == ["k1", "k3", "k5"]


@pytest.mark.hazard("H92")
async def test_an_idempotency_key_repeated_inside_one_batch_is_answered_as_the_first(database: Database) -> None:
    commits = count_commits(database)
    group = GroupCommit(database, max_batch=32)
    body, other = by_prison_number(people(2))  # a batch runs them in this order
    tasks = [
        submit(group, database, submission(body, "same-key")),
        submit(group, database, submission(body, "same-key")),
        submit(group, database, submission(other, "same-key")),  # the key with another body
    ]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    first, repeat, conflict = outcomes
    assert isinstance(first, SubmissionReply) and isinstance(repeat, SubmissionReply)
    assert first.status_code == 202 and not first.replayed
    assert repeat.replayed and repeat.body == first.body
    assert isinstance(conflict, IdempotencyConflict)
    assert commits[0] == 1
    notices, outbox, _, intact = await stored(database)
    assert notices == [first.body["notice_id"]] and len(outbox) == 1 and intact


class CrashBeforeCommit(Database):
    """A database whose batches fail after every unit of work ran and before the commit (a crash there)."""

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[AsyncSession]:
        async with super().batch() as session:
            yield session
            raise RuntimeError("crashed before the commit")


@pytest.mark.hazard("H92")
async def test_a_batch_that_fails_before_its_commit_answers_nobody_202_and_keeps_nothing(database_url: str) -> None:
    database = CrashBeforeCommit(database_url)
    try:
        group = GroupCommit(database, max_batch=32)
        tasks = [submit(group, database, submission(body, f"key-{n}")) for n, body in enumerate(people(5))]
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes
        assert await stored(database) == ([], [], [], True)
    finally:
        await database.dispose()


def notices_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("ttg_release_notices_total", {"outcome": outcome}) or 0.0


async def answered(commits: GroupCommit, database: Database, what: Submission) -> SubmissionReply:
    """A submission as the route answers it: the group commit's answer, then its log line and count."""
    answer = await submit(commits, database, what)
    announce(answer, establishment_code=what.notice.establishment_code)
    return answer


async def test_a_batch_that_fails_before_its_commit_logs_and_counts_no_notice_and_no_refusal(database_url: str) -> None:
    held, *others = people(4)
    elsewhere = "HHI" if held["establishment_code"] != "HHI" else "DMI"
    committing = Database(database_url)
    crashing = CrashBeforeCommit(database_url)
    try:
        await answered(GroupCommit(committing, max_batch=32), committing, submission(held, "held"))
        accepted_before = notices_counted("accepted")
        group = GroupCommit(crashing, max_batch=32)
        with capture_logs() as logged:
            tasks = [answered(group, crashing, submission(body, f"key-{n}")) for n, body in enumerate(others)]
            tasks.append(answered(group, crashing, submission({**held, "establishment_code": elsewhere}, "other")))
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes
        said = [line["event"] for line in logged]
        assert "release_notice.accepted" not in said and "custody.refused" not in said, said
        assert notices_counted("accepted") == accepted_before

        group = GroupCommit(committing, max_batch=32)
        with capture_logs() as logged:
            replies = await asyncio.gather(*(answered(group, committing, submission(body, None)) for body in others))
        lines = [line for line in logged if line["event"] == "release_notice.accepted"]
        assert sorted(line["notice_id"] for line in lines) == sorted(reply.body["notice_id"] for reply in replies)
        assert all(line["event_id"] for line in lines)
        assert notices_counted("accepted") == accepted_before + len(others)
    finally:
        await committing.dispose()
        await crashing.dispose()


async def test_batches_hold_at_most_the_maximum_and_zero_commits_each_alone(database: Database) -> None:
    commits = count_commits(database)
    bodies = people(10)
    batched = GroupCommit(database, max_batch=4)
    await asyncio.gather(*(submit(batched, database, submission(body, f"b-{n}")) for n, body in enumerate(bodies[:8])))
    assert commits[0] == 2  # eight notices, four at a time
    alone = GroupCommit(database, max_batch=0)
    await asyncio.gather(*(submit(alone, database, submission(body, f"a-{n}")) for n, body in enumerate(bodies[8:])))
    assert commits[0] == 4
    notices, outbox, audited, intact = await stored(database)
    assert len(notices) == len(outbox) == len(audited) == 10
    assert intact  # records chained per batch and one at a time follow each other in one chain


async def test_two_establishments_submitting_one_person_at_once_cannot_both_be_accepted(database: Database) -> None:
    """Submissions not batched together still meet at the register's lock: on PostgreSQL the second waits for the
    first's commit and is decided against what it wrote (with the lock taken away this fails on PostgreSQL)."""
    for round_seed in range(3):
        body = release_notice(random.Random(SEED + round_seed), place="durham")
        other = "HHI" if body["establishment_code"] != "HHI" else "DMI"
        async with SqlReleaseEventsUnitOfWork(database, FrozenClock(NOW)) as uow:
            await uow.register.lock(body["prison_number"], NOW)  # the line exists, nobody holds the person
        alone = GroupCommit(database, max_batch=0)  # two transactions side by side, not one batch
        first = submit(alone, database, submission(body, None))
        second = submit(alone, database, submission({**body, "establishment_code": other}, None))
        outcomes = await asyncio.gather(first, second, return_exceptions=True)
        accepted = [outcome for outcome in outcomes if isinstance(outcome, SubmissionReply)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, CustodyRefused)]
        assert len(accepted) == 1 and len(refused) == 1, outcomes
