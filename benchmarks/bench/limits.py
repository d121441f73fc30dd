"""What this machine can do at the two ends of the chain, measured in the same run as the system: a bare FastAPI
app validating the same notice (loaded by wrk as the intake is: P3's limit) and a raw aiohttp client loop posting
webhook-sized bodies to the same receiver the notifier delivers to (P4's limit)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench import wrk

RAW_CONCURRENCY = 32  # more than the notifier's 4 attempts per endpoint x 6 endpoints: the loop is not held back


def bare_fastapi(url: str, script: Path, *, seconds: float, connections: int) -> wrk.WrkResult:
    return wrk.run(url, script, seconds=seconds, connections=connections)


async def _raw_loop(url: str, body: bytes, seconds: float) -> tuple[int, int, float]:
    answered = failed = 0
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json", "webhook-id": "msg_bench_limit"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal answered, failed
        while time.monotonic() < deadline:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status < 300:
                    answered += 1
                else:
                    failed += 1

    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=RAW_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(RAW_CONCURRENCY)))
    return answered, failed, time.monotonic() - began


def raw_aiohttp(receiver_url: str, notice: dict[str, Any], *, seconds: float) -> dict[str, float]:
    """Webhooks/s a bare aiohttp client loop gets from the receiver (a body the size of a pack webhook)."""
    body = json.dumps({"type": "bench.limit", "data": {"pack": notice}}).encode()
    answered, failed, took = asyncio.run(_raw_loop(f"{receiver_url}/webhooks/LIMIT", body, seconds))
    return {"requests_per_second": round(answered / took, 1), "requests": answered, "failed": failed}
