"""RFC 9457 problem details for every error a service returns over HTTP.

Validation errors name every bad field, each with a JSON pointer into the request body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://ttg.example.nhs.uk/problems/"
# Seconds a client is asked to wait when the database was busy (the request already waited the busy timeout).
DATABASE_BUSY_RETRY_AFTER = 5


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

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, _: OperationalError) -> JSONResponse:
        # SQLite locked by another process beyond the busy timeout, or the database server away: the
        # transaction was rolled back, nothing was stored, and the same request later will work. A 503 with
        # Retry-After says exactly that to a client (a prison's system retries; a 500 says "our bug").
        return problem_response(
            503,
            "Service unavailable",
            "The database is busy or unavailable; nothing was stored. Send the same request again later.",
            "database-unavailable",
            request.url.path,
            retry_after=DATABASE_BUSY_RETRY_AFTER,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _: Exception) -> JSONResponse:
        return problem_response(
            500, "Internal error", "The server could not complete the request.", "internal", request.url.path
        )
