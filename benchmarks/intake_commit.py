"""Benchmark: the intake's storage part alone, per notice and per batch (no HTTP, no broker).

Accepts synthetic notices (each a new person with an Idempotency-Key) through ``accept_notice`` on a fresh
SQLite file, ``--concurrency`` at a time, once with each given maximum batch of the group commit (0 = each notice
its own transaction), and prints notices/s and SQL statements per notice. It separates what group commit and
fewer statements save from the HTTP layer's cost, which ``./run bench --only P3`` includes.

    .venv/bin/python -m benchmarks.intake_commit --notices 600 --concurrency 50 --batches 0,32
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from contracts.release_notice import ReleaseNoticeV1
from services.common.audit import AuditEntry
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.logging import configure_logging
from services.common.migrations import upgrade
from services.release_events.adapters.group_commit import GroupCommit
from services.release_events.adapters.unit_of_work import SqlReleaseEventsUnitOfWork
from services.release_events.usecases.accept_notice import Submission, accept_notice
from services.release_events.wiring import MIGRATIONS
from ttg.synthetic import release_notice


def notices(seed: int, count: int) -> list[dict[str, Any]]:
    rng, seen = random.Random(seed), set()
    made: list[dict[str, Any]] = []
    while len(made) < count:
        notice = release_notice(rng, place=("durham", "teesside")[len(made) % 2])
        if notice["prison_number"] not in seen:
            seen.add(notice["prison_number"])
            made.append(notice)
    return made


async def measure(
    url: str, bodies: list[dict[str, Any]], *, max_batch: int, concurrency: int
) -> tuple[float, float, float]:
    """Notices per second, CPU milliseconds (this process, every thread) and SQL statements per notice."""
    database, clock = Database(url), SystemClock()
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    commits = GroupCommit(database, max_batch=max_batch)
    pending = list(bodies)

    async def submit(body: dict[str, Any]) -> None:
        submission = Submission(
            notice=ReleaseNoticeV1.model_validate(body),
            body=body,
            idempotency_key=str(uuid.uuid4()),
            scope="bench",
            correlation_id="bench",
            audit_entry=AuditEntry("bench", "prison_healthcare", "bench", "notice.submitted", "release_notice"),
            idempotency_window=timedelta(days=7),
        )
        uow = SqlReleaseEventsUnitOfWork(database, clock)
        answer = await commits.run(
            lambda: accept_notice(
                uow=uow, submission=submission, notice_id=str(uuid.uuid4()), now=clock.now(), source="bench"
            )
        )
        assert answer.status_code == 202, answer

    async def caller() -> None:
        while pending:
            await submit(pending.pop())

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await database.dispose()
    return len(bodies) / elapsed, 1000 * cpu / len(bodies), statements / len(bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--batches", default="0,32", help="maximum batches to compare, e.g. 0,8,32")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    configure_logging("release_events", "WARNING")  # a log line per notice would measure the terminal
    print(f"seed {args.seed}; {args.notices} notices, {args.concurrency} at a time, SQLite")
    for max_batch in (int(part) for part in args.batches.split(",")):
        bodies = notices(args.seed, args.notices)
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'release_events.db'}"
            upgrade(url, MIGRATIONS)
            rate, cpu_ms, sql = asyncio.run(measure(url, bodies, max_batch=max_batch, concurrency=args.concurrency))
        figures = f"{rate:7.1f} notices/s, {cpu_ms:5.2f} ms CPU and {sql:4.1f} SQL statements per notice"
        print(f"max batch {max_batch:3d}: {figures}")


if __name__ == "__main__":
    main()
