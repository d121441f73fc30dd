"""What every service process shares: correlation ids on HTTP, supervised background tasks, serving."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
import uvicorn
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"


def install_correlation_ids(app: FastAPI) -> None:
    """Take the caller's correlation id (or make one), bind it to every log line, echo it back."""
    app.add_middleware(CorrelationIds)


class CorrelationIds:
    """Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the rest of the
    request in a task of its own and streams the answer back through a memory channel, a cost every request paid
    (issue 13's intake profile) for a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(CORRELATION_HEADER, "")
        correlation_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id  # request.state.correlation_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        await self.app(scope, receive, send_with_id)


FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# A loop that ran this long before failing had recovered: its failure is a new one, retried from the first step.
STEADY_SECONDS = 60.0


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.monotonic,
) -> None:
    """Run a background loop for the life of the process, restarting it with backoff when it fails.

    The backoff starts again from its first step once the loop has run steadily: otherwise one database outage
    would leave every later failure of the process (a blip days after) waiting the longest step before the
    dispatcher, the relay or a consumer resumes."""
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        started = now()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if now() - started >= STEADY_SECONDS:
                backoff = FIRST_BACKOFF_SECONDS
            log.exception("task.crashed", task=name, restart_in=backoff)
            await sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


# How long an idle kept-alive connection stays open. uvicorn's default (5 s) equals httpx's default pool expiry,
# so a client could send its next request on a connection the server was closing at that instant and get
# "server disconnected" instead of an answer (seen as a console page failing under load). Servers keep idle
# connections longer than any of our clients pools them (the console's: CLIENT_KEEPALIVE_SECONDS).
SERVER_KEEPALIVE_SECONDS = 65
CLIENT_KEEPALIVE_SECONDS = 30


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; uvicorn's own log lines go through the JSON logging setup."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )
    uvicorn.Server(config).run()
