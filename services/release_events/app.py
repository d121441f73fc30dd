"""The release_events process: HTTP API plus the outbox relay to ``custody.events.v1``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.common.lifecycle import make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.release_events.api import router
from services.release_events.settings import ReleaseEventsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ReleaseEventsSettings | None = None) -> FastAPI:
    settings = settings or ReleaseEventsSettings()
    return make_app(
        title="Through-the-Gate release events",
        settings=settings,
        migrations=MIGRATIONS,
        router=router,
        max_body_bytes=settings.max_body_bytes,
    )


def main() -> None:
    settings = ReleaseEventsSettings()
    configure_logging("release_events", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
