"""What every service process shares: correlation ids on HTTP, supervised background tasks, serving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import structlog
import uvicorn
from fastapi import FastAPI, Request, Response

log = structlog.get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"


def install_correlation_ids(app: FastAPI) -> None:
    """Take the caller's correlation id (or make one), bind it to every log line, echo it back."""

    @app.middleware("http")
    async def _correlate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        correlation_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        response = await call_next(request)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response


async def supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop for the life of the process, restarting it with backoff when it fails."""
    backoff = 0.5
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("task.crashed", task=name, restart_in=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; uvicorn's own log lines go through the JSON logging setup."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run()
