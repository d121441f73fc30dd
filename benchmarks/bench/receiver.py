"""The agencies' side of a benchmark: a small aiohttp server in its own process, so that it is never what limits the
system (a thread of the benchmark's own process would share its interpreter lock with the load generator).

It verifies nothing in the hot path (the chaos harness and the acceptance tests verify signatures); it records,
per webhook, the arrival time on CLOCK_MONOTONIC (``time.monotonic()``, one clock for every process of the machine,
so the benchmark compares it with the time it sent a notice), the agency code, the webhook type and the synthetic
prison number the pack names. ``POST /modes`` makes an agency's endpoint hang or answer 500 (P5).

    python -m benchmarks.bench.receiver PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from aiohttp import web

NORMAL, HANG, FAIL = "normal", "hang", "fail"
Arrival = tuple[float, str, str, str]  # (monotonic seconds, agency code, webhook type, prison number or "")


class Recorder:
    """What arrived, and how each agency's endpoint answers."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.modes: dict[str, str] = {}
        self.released = asyncio.Event()  # set when the modes change: hanging requests then answer

    async def webhook(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        code = request.match_info["code"]
        body = await request.read()
        mode = self.modes.get(code, NORMAL)
        if mode == HANG:
            await self.released.wait()
            return web.Response(status=503)
        if mode == FAIL:
            return web.Response(status=500)
        kind, person = describe(body)
        self.arrivals.append((arrived, code, kind, person))
        return web.Response(status=204)

    async def list_arrivals(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response({"arrivals": self.arrivals[since:], "next": len(self.arrivals)})

    async def set_modes(self, request: web.Request) -> web.Response:
        self.modes = {str(code): str(mode) for code, mode in (await request.json()).items()}
        self.released.set()
        self.released = asyncio.Event()
        return web.json_response(self.modes)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


def describe(body: bytes) -> tuple[str, str]:
    """The webhook's type and the prison number of the pack it carries ("" when it carries none)."""
    try:
        payload: dict[str, Any] = json.loads(body)
    except ValueError:
        return "unreadable", ""
    data = payload.get("data") or {}
    pack = data.get("pack") or {}
    person = (pack.get("patient_demographics") or {}).get("prison_number") or ""
    return str(payload.get("type", "")), str(person)


def application() -> web.Application:
    recorder = Recorder()
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/webhooks/{code}", recorder.webhook)
    app.router.add_get("/arrivals", recorder.list_arrivals)
    app.router.add_post("/modes", recorder.set_modes)
    app.router.add_get("/healthz", recorder.health)
    return app


def main() -> None:
    web.run_app(application(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
