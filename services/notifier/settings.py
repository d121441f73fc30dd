from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings

STANDARD_WEBHOOKS_SCHEDULE: list[float] = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


class NotifierSettings(ServiceSettings):
    """Settings of notifier, from ``TTG_NOTIFIER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTG_NOTIFIER_", extra="ignore")

    port: int = 8003
    database_url: str = "sqlite:///var/notifier.db"
    source: str = Field("urn:ttg:notifier", description="CloudEvents source of the events it publishes")
    consumer_group: str = Field("notifier", description="Kafka consumer group of the handover-event consumer")
    directory_refresh_seconds: float = Field(
        1.0, gt=0, description="How often each replica re-reads its copy of the directory of services"
    )
    directory_wait_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a pack naming an agency the directory copy does not know yet waits for the agency's "
        "directory event before its deliveries are planned anyway (they then fail as 'not in the directory')",
    )
    retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(STANDARD_WEBHOOKS_SCHEDULE),
        description="Delay before each attempt (the first is normally 0); after the last, the delivery is "
        "dead-lettered",
    )
    attempt_timeout_seconds: float = Field(20.0, ge=15, le=30, description="Time limit of one HTTP attempt")
    per_endpoint_concurrency: int = Field(4, ge=1, description="Attempts in flight to one endpoint at once")
    dispatch_batch_size: int = Field(200, description="Most due deliveries claimed in one round")
    dispatch_idle_seconds: float = Field(0.5, gt=0, description="How long the dispatcher sleeps when nothing is due")
    lease_seconds: float = Field(120.0, description="How long a claimed delivery is reserved for its sender")
    shutdown_drain_seconds: float = Field(
        10.0,
        ge=0,
        description="On stop, how long the notifier waits for webhooks in flight to be answered and recorded "
        "before it cancels them (a cancelled one is sent again, under the same webhook-id, when its lease ends)",
    )
    breaker_failure_threshold: int = Field(
        5, ge=1, description="Consecutive failed attempts that open an endpoint's circuit breaker"
    )
    breaker_cooldown_seconds: float = Field(
        30.0, gt=0, description="How long an open circuit stays open before one trial attempt is let through"
    )
    pause_after_failing_seconds: float = Field(
        24 * 3600.0,
        gt=0,
        description="An endpoint failing without a single success for this long is paused; its owner and the "
        "prison contacts are told",
    )
    escalate_after_delivery_hours: float = Field(
        72.0, gt=0, description="A delivered referral not answered this long after delivery escalates"
    )
    escalate_before_release_hours: float = Field(
        24.0, gt=0, description="A delivered referral not answered this long before the release day escalates"
    )
    escalation_timezone: str = Field("Europe/London", description="Where release days begin")
    test_clock: bool = Field(
        False,
        description="TESTS ONLY: run on a clock that tests move forward (see notifier/adapters/offset_clock.py). "
        "Refused unless set explicitly; never set it in a deployment",
    )
    test_clock_file: Path | None = Field(
        None, description="TESTS ONLY: the file holding the test clock's offset in seconds (needs test_clock)"
    )
