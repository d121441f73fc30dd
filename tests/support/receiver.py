"""A real webhook receiver on 127.0.0.1 for tests: records every request as it arrived, and answers as each
agency is told to (a status sequence, a delay, a Retry-After, or hanging until released), so delivery behaviour
is tested over HTTP. ``answers`` records what was answered to each request, in order."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ttg.broker import free_port


@dataclass(frozen=True)
class Received:
    agency_code: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.body)
        return payload


@dataclass(frozen=True)
class Answered:
    agency_code: str
    webhook_id: str
    type: str | None
    status: int
    at: float


@dataclass
class Behaviour:
    """Answers given in turn; the last one repeats. ``delay`` seconds before answering (a slow endpoint);
    ``hang_until`` set: no answer until the event is set (a hanging endpoint). ``headers_in_turn`` gives the
    headers of each answer in turn (the last repeats), on top of ``headers``. ``on_request`` runs (in the
    receiver's thread) when a request has arrived and before it is answered: a test kills the sender there,
    so the receiver has the message and the sender never learns it was answered."""

    statuses: list[int] = field(default_factory=lambda: [204])
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    calls: int = 0
    hang_until: threading.Event | None = None
    headers_in_turn: list[dict[str, str]] = field(default_factory=list)
    on_request: Callable[[Received], None] | None = None

    def next_answer(self) -> tuple[int, dict[str, str]]:
        turn = self.calls
        self.calls += 1
        status = self.statuses[min(turn, len(self.statuses) - 1)]
        extra = self.headers_in_turn[min(turn, len(self.headers_in_turn) - 1)] if self.headers_in_turn else {}
        return status, {**self.headers, **extra}

    def next_status(self) -> int:
        return self.next_answer()[0]


class WebhookReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self.answers: list[Answered] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/webhooks/{agency_code}", self._receive, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, agency_code: str) -> str:
        return f"{self.base_url}/webhooks/{agency_code}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the test webhook receiver did not start")
            time.sleep(0.02)  # poll until started, within the deadline above
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def behave(self, agency_code: str, behaviour: Behaviour) -> None:
        self.behaviours[agency_code] = behaviour

    async def _receive(self, request: Request) -> Response:
        agency_code = request.path_params["agency_code"]
        body = await request.body()
        behaviour = self.behaviours.get(agency_code, Behaviour())
        arrived = Received(agency_code, dict(request.headers), body, time.monotonic())
        with self._lock:
            self.received.append(arrived)
        if behaviour.on_request is not None:
            await asyncio.to_thread(behaviour.on_request, arrived)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.hang_until is not None:
            while not behaviour.hang_until.is_set():
                await asyncio.sleep(0.05)  # a hanging endpoint: poll the test's release event (a thread's)
        with self._lock:
            status, headers = behaviour.next_answer()
            try:
                kind = json.loads(body).get("type")
            except ValueError:
                kind = None
            self.answers.append(
                Answered(agency_code, request.headers.get("webhook-id", ""), kind, status, time.monotonic())
            )
        return Response(status_code=status, headers=headers)

    def matching(self, predicate: Callable[[Received], bool]) -> list[Received]:
        with self._lock:
            return [item for item in self.received if predicate(item)]

    def for_handover(self, handover_id: str) -> list[Received]:
        return self.matching(lambda item: item.json.get("data", {}).get("handover_id") == handover_id)

    def to(self, agency_code: str) -> list[Received]:
        return self.matching(lambda item: item.agency_code == agency_code)

    def answered(self, agency_code: str) -> list[Answered]:
        with self._lock:
            return [item for item in self.answers if item.agency_code == agency_code]
