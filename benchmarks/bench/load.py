"""The benchmark's own notices and how they are sent: synthetic (``ttg.synthetic``), Durham and Teesside in
turn, each person new (a prison number never repeats within a run, and never starts with Z: the wrk script's do),
each POST with its own Idempotency-Key, sent again with the same key if the intake answers 503."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.bench.system import AGENCIES, TOWNS
from ttg.synthetic import release_notice

ATTEMPTS = 5  # a 503 (database busy) is answered with Retry-After: send again, with the same key


class Notices:
    """New synthetic people from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.made = 0

    def next(self) -> tuple[dict[str, Any], str]:
        """A new person's notice and the town it is released to."""
        town = TOWNS[self.made % len(TOWNS)]
        while True:
            notice = release_notice(self.rng, place=town)
            if not notice["prison_number"].startswith("Z") and notice["prison_number"] not in self.used:
                break
        self.used.add(notice["prison_number"])
        self.made += 1
        return notice, town


@dataclass
class Sent:
    """When each notice was sent (monotonic seconds) and the agencies it should reach, by prison number; and what
    did not get a 202."""

    at: dict[str, float] = field(default_factory=dict)
    expected: dict[str, frozenset[str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # "status: detail", no personal data


async def _post(session: aiohttp.ClientSession, url: str, notice: dict[str, Any], sent: Sent) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(ATTEMPTS):
        try:
            async with session.post(url, json=notice, headers=headers) as response:
                if response.status == 202:
                    return
                text = (await response.text())[:200]
                if response.status != 503 or attempt == ATTEMPTS - 1:
                    sent.refused.append(f"{response.status}: {text}")
                    return
                delay = float(response.headers.get("Retry-After", "1"))
        except (aiohttp.ClientError, TimeoutError) as error:  # no answer in time: the same key again
            if attempt == ATTEMPTS - 1:
                sent.refused.append(f"{type(error).__name__}")
                return
            delay = 1.0
        await asyncio.sleep(delay)  # the intake's own Retry-After, not synchronisation


async def submit(base_url: str, key: str, notices: Notices, *, count: int, rate: float | None) -> Sent:
    """Send ``count`` notices, at ``rate`` per second or (None) all at once; return when every one is answered."""
    sent = Sent()
    connector = aiohttp.TCPConnector(limit=100)
    # Per request once it has a connection: a burst of 10,000 queues for the pool's 100 connections far longer
    # than any one request may take, and that queueing is the load, not a failure.
    timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=10, sock_read=120)
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{base_url}/v1/release-notices"
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        tasks = []
        start = time.monotonic()
        for n in range(count):
            if rate:
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))  # pacing the offered load
            notice, town = notices.next()
            sent.expected[notice["prison_number"]] = AGENCIES[town]
            sent.at[notice["prison_number"]] = time.monotonic()
            tasks.append(asyncio.create_task(_post(session, url, notice, sent)))
        await asyncio.gather(*tasks)
    return sent


def send(base_url: str, key: str, notices: Notices, *, count: int, rate: float | None = None) -> Sent:
    return asyncio.run(submit(base_url, key, notices, count=count, rate=rate))
