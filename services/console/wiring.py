"""The console process: server-rendered pages (FastAPI, Jinja2, NHS.UK frontend), its own database of
accounts and sessions, and the services reached only through their public HTTP APIs."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.db import Database
from services.common.logging import configure_logging
from services.common.migrations import upgrade
from services.common.runtime import install_correlation_ids, serve
from services.common.tracing import instrument
from services.console.adapters.backend import Backend, NotFound, ServiceError, ServiceUnavailable
from services.console.adapters.offset_clock import console_clock
from services.console.entrypoints.pages import (
    auth,
    corrections,
    custody,
    desk,
    directory,
    home,
    inbox,
    lounge,
    notices,
    outcomes,
    people,
    replays,
    summary,
)
from services.console.entrypoints.web import CsrfRefused, PageNotFound, SignInNeeded, redirect, render
from services.console.settings import FRONTEND, ConsoleSettings

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger(__name__)

# Pages are built from the console's own assets only: no inline script but the NHS.UK template's one line
# (allowed by its hash), no third-party origin, no framing.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self' 'sha256-tDOvXJi1PXbg0CWjLCCYSNHRXtps26K4JXkE3M6u/c0='; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def frontend_dist(settings: ConsoleSettings) -> Path:
    return (settings.assets_path or FRONTEND / "node_modules") / "nhsuk-frontend" / "dist" / "nhsuk"


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    dist = frontend_dist(settings)
    if not (dist / "nhsuk-frontend.min.css").exists():
        raise RuntimeError(f"NHS.UK frontend is not installed at {dist}: run ./run up (it runs npm ci)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, settings.database_url, MIGRATIONS)
        app.state.settings = settings
        app.state.database = Database(settings.database_url)
        app.state.clock = console_clock(settings)
        app.state.backend = Backend(settings)
        log.info("service.started", port=settings.port)
        try:
            yield
        finally:
            await app.state.backend.close()
            await app.state.database.dispose()

    app = FastAPI(title="Through-the-Gate console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.mount("/frontend", StaticFiles(directory=dist), name="frontend")
    install_correlation_ids(app)
    instrument(app, "console")  # its calls to the services carry the trace context

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Cache-Control"] = "no-store"  # pages hold personal data: never cached
        return response

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, error: SignInNeeded) -> Response:
        return redirect("/sign-in?timed_out=true" if error.timed_out else "/sign-in")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, error: CsrfRefused) -> HTMLResponse:
        log.warning("console.csrf_refused", path=request.url.path)
        return await render(
            request,
            "error.jinja",
            {"title": "This form has expired", "message": "Nothing was saved. Go back, reload the page and try again."},
            403,
        )

    async def _not_found(request: Request, _: Exception) -> HTMLResponse:
        return await render(
            request,
            "error.jinja",
            {"title": "Page not found", "message": "If you typed the web address, check it is correct."},
            404,
        )

    app.add_exception_handler(PageNotFound, _not_found)
    app.add_exception_handler(NotFound, _not_found)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return await _not_found(request, error)
        return await render(
            request,
            "error.jinja",
            {"title": "Sorry, there is a problem with the service", "message": "Try again later."},
            error.status_code,
        )

    @app.exception_handler(ServiceError)
    async def _service(request: Request, error: ServiceError) -> HTMLResponse:
        problem = error.problem
        log.warning("console.service_error", status=error.status, type=problem.get("type"), title=problem.get("title"))
        if isinstance(error, ServiceUnavailable) and error.uncertain:
            message = "We could not tell whether this was saved. Check the page before you try again."
        else:
            message = "Nothing was changed. Try again later."
        return await render(
            request,
            "error.jinja",
            {"title": "Sorry, there is a problem with the service", "message": message},
            503 if isinstance(error, ServiceUnavailable) else 502,
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str | int]:
        return {"status": "ok", "pid": os.getpid()}

    for page in (
        home,
        auth,
        lounge,
        notices,
        inbox,
        desk,
        replays,
        summary,
        custody,
        corrections,
        directory,
        people,
        outcomes,
    ):
        app.include_router(page.router)
    return app


def main() -> None:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
