"""A stand-in for the agencies: receives webhooks, verifies each signature with the ``standardwebhooks``
library, prints what each agency received, and lists it at ``GET /received`` for ``ttg demo``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.adapters.directory_file import load_directory
from services.notifier.adapters.signing import current_secret


def create_app(directory_path: Path) -> FastAPI:
    directory = load_directory(directory_path)
    received: list[dict[str, Any]] = []
    app = FastAPI(title="Demo agency receiver")

    @app.post("/webhooks/{agency_code}")
    async def receive(agency_code: str, request: Request) -> JSONResponse:
        agency = directory.by_code(agency_code)
        if agency is None:
            return JSONResponse({"detail": "unknown agency"}, status_code=404)
        body = await request.body()
        try:
            Webhook(current_secret(agency.webhook).get_secret_value()).verify(body, dict(request.headers))
        except WebhookVerificationError:
            print(f"[{agency_code}] REJECTED a webhook whose signature did not verify", flush=True)
            return JSONResponse({"detail": "bad signature"}, status_code=401)
        message = json.loads(body)
        data = message["data"]
        received.append({"agency_code": agency_code, "webhook_id": request.headers["webhook-id"], **message})
        pack = data.get("pack", {})
        sections = ", ".join(name for name, value in pack.items() if value)
        print(
            f"[{agency.name}] verified {message['type']} v{data.get('version')} "
            f"(handover {data.get('handover_id')}): {sections}",
            flush=True,
        )
        return JSONResponse({"received": True})

    @app.get("/received")
    async def list_received() -> list[dict[str, Any]]:
        return received

    @app.get("/healthz")
    async def healthz() -> dict[str, str | int]:
        return {"status": "ok", "pid": os.getpid()}

    return app


def main() -> None:
    directory = Path(os.environ.get("TTG_NOTIFIER_DIRECTORY_PATH", "deploy/directory"))
    port = int(os.environ.get("TTG_DEMO_RECEIVER_PORT", "8009"))
    host = os.environ.get("TTG_DEMO_RECEIVER_HOST", "127.0.0.1")
    uvicorn.run(create_app(directory), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
