"""Benchmark: handover applying release notices alone, per notice and per group (no HTTP, no broker).

Opens a handover (route, build, minimise, issue version 1 with each entry's FHIR form) for each of ``--notices``
synthetic notices on a fresh SQLite file seeded with the demo directory, as the custody
consumer does: once with each notice in its own transaction, once with groups of ``--group`` notices sharing one
(``Database.batch``, as ``consumer_events_per_transaction`` does, H93). Prints notices/s, CPU milliseconds and SQL
statements per notice; ``--profile FILE`` writes where the grouped run's time went.

    .venv/bin/python -m benchmarks.handover_apply --notices 400 --group 50
    .venv/bin/python -m benchmarks.handover_apply --profile var/bench/handover-profile.txt
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path

from pyinstrument import Profiler
from sqlalchemy import event

from contracts.envelope import CloudEvent, EventType, new_event
from contracts.release_notice import ReleaseNoticeSubmittedV1, ReleaseNoticeV1
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.logging import configure_logging
from services.common.migrations import upgrade
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.settings import HandoverSettings
from services.handover.usecases.open_handover import open_handover
from services.handover.wiring import MIGRATIONS, seed_directory_once
from ttg.synthetic import release_notice


def submitted_events(seed: int, count: int) -> list[CloudEvent]:
    rng, seen, made = random.Random(seed), set[str](), list[CloudEvent]()
    clock = SystemClock()
    while len(made) < count:
        notice = ReleaseNoticeV1.model_validate(release_notice(rng, place=("durham", "teesside")[len(made) % 2]))
        if notice.prison_number in seen:
            continue
        seen.add(notice.prison_number)
        data = ReleaseNoticeSubmittedV1(notice_id=str(uuid.uuid4()), received_at=clock.now(), notice=notice)
        made.append(
            new_event(
                type=EventType.RELEASE_NOTICE_SUBMITTED,
                source="urn:bench",
                subject=notice.prison_number,
                dataschema="urn:ttg:schema:release-notice-submitted:1.0",
                data=data,
                correlation_id=None,
            )
        )
    return made


async def measure(url: str, events: list[CloudEvent], *, group: int, profile: Path | None) -> tuple[float, ...]:
    """Notices per second, CPU milliseconds and SQL statements per notice."""
    database, clock, settings = Database(url), SystemClock(), HandoverSettings(database_url=url)
    await seed_directory_once(database, clock, settings)
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    together: Callable[[], AbstractAsyncContextManager[object]] = (
        database.batch_all_or_nothing if group > 1 else nullcontext
    )
    profiler = Profiler(async_mode="disabled", interval=0.001) if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.start()
    for start in range(0, len(events), group):
        async with together():
            for item in events[start : start + group]:
                uow = HandoverSqlUnitOfWork(database, clock, settings.gp_registration_days)
                opened = await open_handover(
                    uow=uow, event=item, source="urn:bench", now=clock.now(), registration_days=3
                )
                assert opened, item.id
    if profiler:
        assert profile is not None
        profiler.stop()
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await database.dispose()
    return len(events) / elapsed, 1000 * cpu / len(events), statements / len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=400)
    parser.add_argument("--group", type=int, default=50, help="notices per transaction in the grouped run (>1)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    # The demo directory's agencies are local receivers (http, loopback), as in `./run up`.
    os.environ.setdefault("TTG_WEBHOOKS_ALLOW_HTTP", "1")
    os.environ.setdefault("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "1")
    configure_logging("handover", "WARNING")  # a log line per notice would measure the terminal
    print(f"seed {args.seed}; {args.notices} notices, SQLite")
    for group in (1, args.group):
        events = submitted_events(args.seed, args.notices)
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'handover.db'}"
            upgrade(url, MIGRATIONS)
            profile = args.profile if group > 1 else None
            rate, cpu_ms, sql = asyncio.run(measure(url, events, group=group, profile=profile))
        print(
            f"{group:3d} per transaction: {rate:7.1f} notices/s, {cpu_ms:5.2f} ms CPU, {sql:4.1f} SQL statements each"
        )


if __name__ == "__main__":
    main()
