"""Benchmark: accept -> every agency notified, on the embedded defaults (Tansu, SQLite files, real HTTP).

Submits release notices at a steady rate for a bounded time, and measures for each the time from sending the
POST to the arrival of its last webhook (three Durham recipients each) at a real receiver on 127.0.0.1.
Prints throughput and latency percentiles. Bounded in count and time; traffic stays on loopback.

    .venv/bin/python -m benchmarks.accept_to_notified --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.support.receiver import WebhookReceiver
from tests.support.system import start_system, stop_system
from ttg.synthetic import release_notice

RECIPIENTS = 3  # a Durham release with consent: GP practice, mental-health team, probation


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def submit_all(base_url: str, key: str, rate: float, seconds: float) -> dict[str, float]:
    """POST notices at ``rate`` per second for ``seconds``; prison number -> monotonic time of sending."""
    sent: dict[str, float] = {}
    rng = random.Random(1)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30.0) as client:
        tasks = []
        start = time.monotonic()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            notice = release_notice(rng, place="durham")
            sent[notice["prison_number"]] = time.monotonic()
            tasks.append(
                asyncio.create_task(
                    client.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
                )
            )
        for response in await asyncio.gather(*tasks):
            response.raise_for_status()
    return sent


def arrivals(receiver: WebhookReceiver) -> dict[str, list[float]]:
    by_person: dict[str, list[float]] = {}
    for item in receiver.matching(lambda item: item.json.get("type") == "handover.pack.issued"):
        person = item.json["data"]["pack"]["patient_demographics"]["prison_number"]
        by_person.setdefault(person, []).append(item.at)
    return by_person


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="notices per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to submit")
    parser.add_argument("--drain", type=float, default=120.0, help="longest wait for the last webhooks")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep-logs", type=Path, help="copy the services' logs here, to see where time goes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        system = start_system(Path(tmp), args.backend)
        try:
            began = time.monotonic()
            sent = asyncio.run(
                submit_all(system.stack.url("release_events"), system.api_keys["prison-all"], args.rate, args.seconds)
            )
            submitted = time.monotonic() - began
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                done = {p: t for p, t in arrivals(system.receiver).items() if p in sent and len(t) >= RECIPIENTS}
                if len(done) == len(sent):
                    break
                time.sleep(0.2)
            latencies = [max(times) - sent[person] for person, times in done.items()]
            finished = max((max(times) for times in done.values()), default=began) - began
        finally:
            stop_system(system)
            if args.keep_logs:
                shutil.copytree(Path(tmp) / "logs", args.keep_logs, dirs_exist_ok=True)

    print(f"backend: {args.backend}")
    print(f"notices sent: {len(sent)} in {submitted:.1f} s ({len(sent) / submitted:.1f}/s offered {args.rate}/s)")
    print(f"fully notified: {len(latencies)} ({len(latencies) * RECIPIENTS} webhooks) in {finished:.1f} s")
    if latencies:
        print(
            "accept -> every agency notified: "
            f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
            f"mean {statistics.fmean(latencies) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
