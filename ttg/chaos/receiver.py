"""The agencies' side of a chaos run: a real webhook receiver on 127.0.0.1 that verifies every signature with
the agency's secret (the ``standardwebhooks`` library, as an agency would) and records what arrived, in order.

It records only pseudonymous facts (webhook-id, type, handover id, version, referral id), never the pack, so
that what the harness keeps and prints holds no personal data. A signature that does not verify is answered
401 and counted: the invariants fail the run on it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ttg.broker import free_port


@dataclass(frozen=True)
class Arrival:
    """One verified webhook as it arrived (``order``: its place among every arrival of the run)."""

    order: int
    agency_code: str
    webhook_id: str
    type: str
    handover_id: str
    version: int
    referral_id: str | None
    referral_kind: str | None
    message: str | None


class VerifyingReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: dict[str, str] = {}
        self.arrivals: list[Arrival] = []
        self.unverified = 0
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/webhooks/{agency_code}", self._receive, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    def start(self, timeout: float = 10.0) -> VerifyingReceiver:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the chaos webhook receiver did not start")
            time.sleep(0.02)  # polling the server thread's start flag, within the deadline
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def snapshot(self) -> list[Arrival]:
        with self._lock:
            return list(self.arrivals)

    async def _receive(self, request: Request) -> Response:
        agency_code = request.path_params["agency_code"]
        body = await request.body()
        secret = self.secrets.get(agency_code)
        try:
            if secret is None:
                raise WebhookVerificationError("no secret for this agency")
            payload = Webhook(secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            with self._lock:
                self.unverified += 1
            return Response(status_code=401)
        data = payload.get("data") or {}
        with self._lock:
            self.arrivals.append(
                Arrival(
                    order=len(self.arrivals),
                    agency_code=agency_code,
                    webhook_id=request.headers["webhook-id"],
                    type=str(payload.get("type")),
                    handover_id=str(data.get("handover_id", "")),
                    version=int(data.get("version", 0)),
                    referral_id=data.get("referral_id"),
                    referral_kind=data.get("referral_kind"),
                    message=data.get("message"),
                )
            )
        return Response(status_code=204)
