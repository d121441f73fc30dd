from __future__ import annotations

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
