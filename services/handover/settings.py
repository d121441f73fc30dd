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
        Path("deploy/directory"),
        description="Directory of services (YAML file or folder) that seeds the directory when it is empty",
    )
    secret_store_path: Path = Field(
        Path("var/secrets"),
        description="Secret store of webhook secrets given to the directory admin API (or as literal: in the seed "
        "files): one 0600 file per secret, named by file: references; the notifier must be able to read it",
    )
    at_risk_hours: float = Field(48.0, gt=0, description="A section not done this close to release is at risk")
    gp_registration_days: int = Field(
        3,
        ge=0,
        le=60,
        description="Days a GP registration takes to complete (for the medication supply-gap rule)",
    )
