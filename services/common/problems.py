"""RFC 9457 problem details for every error a service returns over HTTP.

Validation errors name every bad field, each with a JSON pointer into the request body. A database that does
not answer (PostgreSQL restarting, SQLite locked past its busy timeout, the pool exhausted) is a 503 with
Retry-After, not a 500: the caller sends the same request again (with the same Idempotency-Key, so that one
whose commit was cut off in flight is still applied once).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://ttg.example.nhs.uk/problems/"
# The database did not answer: a connection refused or cut, a server starting up, a pool with no free connection,
# or SQLite still locked by another writer after the busy timeout. The transaction was rolled back and nothing was
# stored, so the same request later will work: a 503 with Retry-After says exactly that (a 500 says "our bug").
DATABASE_AWAY: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeoutError)
DATABASE_RETRY_AFTER_SECONDS = 5


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        kind: str,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.headers = headers
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind
        self.extensions = extensions


def problem_response(
    status: int,
    title: str,
    detail: str,
    kind: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extensions)
    headers = dict(headers or {})
    if "retry_after" in extensions:
        headers["Retry-After"] = str(extensions["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location[1:]] if location and location[0] == "body" else map(str, location)
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _field(location: tuple[Any, ...]) -> str:
    parts = location[1:] if location and location[0] == "body" else location
    return ".".join(str(part) for part in parts) or "body"


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "field": _field(tuple(error["loc"])),
            "pointer": _pointer(tuple(error["loc"])),
            "detail": error["msg"].removeprefix("Value error, "),
        }
        for error in errors
    ]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status,
            error.title,
            error.detail,
            error.kind,
            request.url.path,
            error.headers,
            **error.extensions,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        raw = list(error.errors())
        if any(item.get("type") == "json_invalid" for item in raw):
            return problem_response(
                400, "Malformed JSON", "The request body is not valid JSON.", "malformed-json", request.url.path
            )
        errors = validation_errors(raw)
        fields = ", ".join(sorted({item["field"] for item in errors}))
        return problem_response(
            422,
            "Invalid request",
            f"These fields are invalid: {fields}.",
            "validation",
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, "HTTP error")
        return problem_response(
            error.status_code, title, str(error.detail), f"http-{error.status_code}", request.url.path
        )

    async def _database_away(request: Request, error: Exception) -> JSONResponse:
        # The type only: a driver's message can quote the statement's parameters (personal data).
        log.warning("http.database_unavailable", error=type(getattr(error, "orig", None) or error).__name__)
        return problem_response(
            503,
            "Service unavailable",
            "The service's database is busy or not answering; nothing was stored. Send the request again "
            "shortly, with the same Idempotency-Key where it has one.",
            "database-unavailable",
            request.url.path,
            retry_after=DATABASE_RETRY_AFTER_SECONDS,
        )

    for kind in DATABASE_AWAY:
        app.add_exception_handler(kind, _database_away)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _: Exception) -> JSONResponse:
        return problem_response(
            500, "Internal error", "The server could not complete the request.", "internal", request.url.path
        )
