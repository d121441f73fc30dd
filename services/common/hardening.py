"""Input hardening below the routes: a hard cap on body size (chunked bodies included) and no NUL characters.

:func:`install_body_limit` refuses a body whose ``Content-Length`` is over the cap before reading it; a chunked
request has none, so :class:`InputGuard` counts the bytes as they arrive and refuses the request once the cap
is passed, before any route reads it. NUL characters are refused everywhere (path, query, body): no field of any
contract accepts one, and PostgreSQL cannot store one in text, so letting one through could only end in an
error deep inside.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.problems import problem_response


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Refuse bodies larger than ``max_bytes`` before reading them (413, problem+json)."""
    app.add_middleware(BodyLimit, max_bytes=max_bytes)


class BodyLimit:
    """Plain ASGI (not ``@app.middleware("http")``, whose BaseHTTPMiddleware costs every request a task and a
    memory channel): a declared ``Content-Length`` over the cap, or not a number, is refused unread."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                detail = f"The body may be at most {self.max_bytes} bytes."
                response = problem_response(413, "Request body too large", detail, "body-too-large", scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class InputGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"\x00" in query or b"%00" in query.lower():
            await self._refuse(scope, send, 400, "NUL character", "The request contains a NUL character.", "nul")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(
                    scope,
                    send,
                    413,
                    "Request body too large",
                    f"The body may be at most {self.max_body_bytes} bytes.",
                    "body-too-large",
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"\x00" in body or b"\\u0000" in body:
            await self._refuse(scope, send, 400, "NUL character", "The request body contains a NUL character.", "nul")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, title: str, detail: str, kind: str) -> None:
        response = problem_response(status, title, detail, kind, scope.get("path"))

        async def nothing() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)
