"""Waiting for something to become true, with a deadline: the only way tests wait here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.25, what: str = "condition") -> T:
    """Return ``probe()``'s first truthy result; fail with ``what`` if none comes within ``timeout`` seconds.

    Four looks a second: a probe is often a read of a running system, and every read is audited (a write), so
    looking ten times a second cost the services' CPU that the rest of a parallel test run needed."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = probe()
    return last


async def eventually_async(
    probe: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.01, what: str = "condition"
) -> T:
    """:func:`eventually` for a test that shares its event loop with what it waits for: it yields to the loop
    between looks instead of blocking it."""

    async def looked() -> T:
        return probe()

    return await eventually_awaited(looked, timeout=timeout, interval=interval, what=what)


async def eventually_awaited(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.01, what: str = "condition"
) -> T:
    """:func:`eventually_async` for a probe that must itself await (a database query)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: T = await probe()
    while not last:
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(interval)  # the one place an async test waits: between looks, within the deadline
        last = await probe()
    return last
