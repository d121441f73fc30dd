from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class HandoverSettings(ServiceSettings):
    """Settings of handover, from ``TTG_HANDOVER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTG_HANDOVER_", extra="ignore")

    port: int = 8002
    database_url: str = "sqlite:///var/handover.db"
    source: str = Field("urn:ttg:handover", description="CloudEvents source of the events it publishes")
    consumer_group: str = Field("handover", description="Kafka consumer group of the custody-event consumer")
    directory_path: Path = Field(
        Path("deploy/directory"), description="Directory of services: whom each handover is addressed to"
    )
