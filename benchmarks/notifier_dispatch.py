"""Benchmark: the notifier's signed-and-recorded webhooks per second, as a ratio to a raw aiohttp loop.

A backlog of ``--deliveries`` pending deliveries (synthetic people, one delivery per person to each of
``--endpoints`` agencies, so per-person order holds them as in service) is drained by the notifier's own
:class:`~services.notifier.entrypoints.dispatcher.Dispatcher` on a fresh database, to a fast receiver in its own
process (``benchmarks/webhook_sink.py``). Then, in the same minutes, a raw aiohttp loop sends as many POSTs of
the same size to the same receiver. It prints the seed, both rates and their ratio (issue 13's P4), and checks
that every delivery was recorded delivered and the audit chain verifies. Figures on a busy machine are noisy:
compare runs made side by side.

    .venv/bin/python -m benchmarks.notifier_dispatch --deliveries 2000 --endpoints 4
    .venv/bin/python -m benchmarks.notifier_dispatch --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m benchmarks.notifier_dispatch --profile var/bench/notifier-profile.txt
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from benchmarks.notifier_support import (
    delivered_count,
    fresh_database,
    raw_loop_rate,
    seed_backlog,
    sink_directory,
)
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.logging import configure_logging
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings


@dataclass(frozen=True)
class Drain:
    deliveries: int
    seconds: float
    cpu_seconds: float
    delivered: int
    chain: str

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


@asynccontextmanager
async def sink() -> AsyncIterator[int]:
    """The receiver in its own process; yields its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.webhook_sink", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if not line.startswith("listening "):
            raise RuntimeError(f"the sink did not start: {line!r}")
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


async def drain(database: Database, port: int, args: argparse.Namespace, rng: random.Random) -> Drain:
    directory = sink_directory(port, args.endpoints)
    await seed_backlog(database, directory, args.deliveries, rng)
    finished = 0
    done = asyncio.Event()

    def on_final() -> None:
        nonlocal finished
        finished += 1
        if finished >= args.deliveries:
            done.set()

    clock = SystemClock()
    dispatcher = Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, clock),
        directory=directory,
        settings=NotifierSettings(),
        clock=clock,
        on_final=on_final,
        **_batching(database),
    )
    profiler = _profiler(args.profile)
    began, cpu_began = time.perf_counter(), time.process_time()
    running = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(args.timeout):
            await done.wait()
    finally:
        seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        if profiler is not None:
            profiler.stop()
            Path(args.profile).parent.mkdir(parents=True, exist_ok=True)
            Path(args.profile).write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    delivered, chain = await delivered_count(database)
    return Drain(args.deliveries, seconds, cpu_seconds, delivered, chain)


def _batching(database: Database) -> dict[str, Any]:
    """The dispatcher's ``batch`` as the service wires it, when this version of the dispatcher has one (so the
    same benchmark measures the versions before it, side by side)."""
    return {"batch": database.batch} if "batch" in inspect.signature(Dispatcher).parameters else {}


def _profiler(path: str | None) -> Profiler | None:
    if not path:
        return None
    profiler = Profiler(async_mode="disabled", interval=0.001)
    profiler.start()
    return profiler


def log_to_file(path: Path) -> None:
    """The service's own JSON logging (its cost is part of a webhook's), into a file rather than the figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shown, sys.stdout = sys.stdout, path.open("w")  # configure_logging writes to whatever stdout is now
    try:
        configure_logging("notifier", "INFO")
    finally:
        sys.stdout = shown


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    log_to_file(Path(args.log))
    async with sink() as port, fresh_database(args.database_url, Path(args.workdir)) as database:
        measured = await drain(database, port, args, rng)
        raw = await raw_loop_rate(port, args.raw_requests, args.raw_concurrency, payload_bytes=measured_payload(rng))
    backend = "postgresql" if args.database_url and args.database_url.startswith("postgres") else "sqlite"
    print(f"seed {args.seed}  backend {backend}  deliveries {args.deliveries}  endpoints {args.endpoints}")
    print(f"notifier: {measured.deliveries} webhooks signed, sent and recorded in {measured.seconds:.2f} s")
    print(f"  = {measured.rate:.1f} webhooks/s; recorded delivered {measured.delivered}; {measured.chain}")
    cpu_ms = 1000 * measured.cpu_seconds / measured.deliveries
    print(f"  CPU of the notifier's process: {measured.cpu_seconds:.1f} s, {cpu_ms:.2f} ms per webhook (less noisy)")
    print(f"raw aiohttp loop ({args.raw_concurrency} concurrent): {raw:.0f} requests/s")
    print(f"ratio (P4): {measured.rate / raw:.3f}")
    if measured.delivered != measured.deliveries:
        raise SystemExit(f"only {measured.delivered} of {measured.deliveries} were recorded delivered")


def measured_payload(rng: random.Random) -> int:
    """The size of a webhook body of this benchmark, for the raw loop to send as much."""
    return 2000 + rng.randrange(200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2000, help="pending deliveries to drain")
    parser.add_argument("--endpoints", type=int, default=4, help="agencies (endpoints) they go to")
    parser.add_argument("--seed", type=int, default=None, help="seed of the synthetic people (printed)")
    parser.add_argument("--database-url", help="PostgreSQL server to make a throwaway database on (else SQLite)")
    parser.add_argument("--workdir", default=tempfile.gettempdir(), help="where the SQLite file goes")
    parser.add_argument("--raw-requests", type=int, default=5000, help="POSTs of the raw aiohttp loop")
    parser.add_argument("--raw-concurrency", type=int, default=20, help="concurrent POSTs of the raw loop")
    parser.add_argument("--timeout", type=float, default=110.0, help="longest drain, seconds")
    parser.add_argument("--profile", help="write a pyinstrument profile of the drain (text) to this file")
    parser.add_argument("--log", default="var/bench/notifier-dispatch.log", help="the notifier's JSON log")
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    args.workdir = str(Path(args.workdir) / f"ttg-notifier-bench-{uuid.uuid4().hex[:8]}")
    os.environ.setdefault("TTG_WEBHOOKS_ALLOW_HTTP", "true")
    os.environ.setdefault("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    print(f"seed {args.seed}", flush=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
