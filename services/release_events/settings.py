from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class ReleaseEventsSettings(ServiceSettings):
    """Settings of release_events, from ``TTG_RELEASE_EVENTS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTG_RELEASE_EVENTS_", extra="ignore")

    port: int = 8001
    database_url: str = "sqlite:///var/release_events.db"
    source: str = Field("urn:ttg:release-events", description="CloudEvents source of the events it publishes")
    max_body_bytes: int = Field(256 * 1024, description="Largest request body accepted")
    idempotency_window_days: float = Field(
        7.0, gt=0, description="How long an Idempotency-Key is remembered; older records are ignored and purged"
    )
    group_commit_max_batch: int = Field(
        32,
        ge=0,
        description="Most notice submissions committed together in one transaction (each a savepoint of it, "
        "each answered after the commit); 0 commits each alone",
    )
    consumer_group: str = Field(
        "release-events", description="Consumer group of the progress projection (handover and delivery events)"
    )

    @property
    def idempotency_window(self) -> timedelta:
        return timedelta(days=self.idempotency_window_days)
