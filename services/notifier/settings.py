from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings

STANDARD_WEBHOOKS_SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


class NotifierSettings(ServiceSettings):
    """Settings of notifier, from ``TTG_NOTIFIER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTG_NOTIFIER_", extra="ignore")

    port: int = 8003
    database_url: str = "sqlite:///var/notifier.db"
    source: str = Field("urn:ttg:notifier", description="CloudEvents source of the events it publishes")
    consumer_group: str = Field("notifier", description="Kafka consumer group of the handover-event consumer")
    directory_path: Path = Field(Path("deploy/directory"), description="Directory of services: a YAML file or folder")
    retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(STANDARD_WEBHOOKS_SCHEDULE),
        description="Delay before each attempt (the first is normally 0); after the last, the delivery fails",
    )
    attempt_timeout_seconds: float = Field(20.0, ge=1, le=30, description="Time limit of one HTTP attempt")
    per_endpoint_concurrency: int = Field(4, ge=1, description="Attempts in flight to one endpoint at once")
    dispatch_batch_size: int = Field(200, description="Most due deliveries claimed in one round")
    lease_seconds: float = Field(120.0, description="How long a claimed delivery is reserved for its sender")
