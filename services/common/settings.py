"""Settings every service shares. Each service extends :class:`ServiceSettings` with its own prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from the environment (``TTG_<SERVICE>_*``), falling back to the shared ``TTG_*`` names."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the HTTP API listens on")
    port: int = Field(8000, description="Port the HTTP API listens on")
    database_url: str = Field(
        "sqlite:///var/service.db",
        description="SQLAlchemy URL of the service's own database: a SQLite file or postgresql://...",
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated")
    topic_partitions: int = Field(6, description="Partitions of each topic the service creates when missing")
    log_level: str = Field("INFO", description="Lowest level written to the JSON log")
    relay_batch_size: int = Field(500, description="Outbox rows published per relay round")
    relay_idle_seconds: float = Field(0.5, description="How long the relay sleeps when the outbox is empty")
    relay_replay_window_hours: float = Field(
        720.0,
        gt=0,
        description="When the broker lost what the relay published (new cluster id, a partition behind what was "
        "written), outbox rows published within this many hours are published again; keep it at least the "
        "topics' retention (30 days in deploy/topics.yaml)",
    )
    relay_broker_check_seconds: float = Field(
        5.0, gt=0, description="How often an idle relay checks the broker's cluster id and high-water marks"
    )
    consumer_batch_size: int = Field(200, description="Most records taken from Kafka in one poll")
    consumer_events_per_transaction: int = Field(
        50,
        ge=1,
        description="Most events a consumer applies in one database transaction (all or nothing: a failing "
        "event has the group applied again event by event); 1 commits each event alone",
    )
    consumer_group_seconds: float = Field(
        0.25,
        gt=0,
        description="A group of events sharing a transaction ends once it has held it this long, so that the API's "
        "writes (a read's audit record, an answer) never wait long behind it",
    )
    consumer_session_timeout_ms: int = Field(
        10_000, description="Consumer group session timeout; a joining member waits about half of it on Tansu"
    )
    consumer_heartbeat_interval_ms: int = Field(3_000, description="Consumer group heartbeat interval")
    consumer_fetch_max_wait_ms: int = Field(
        50,
        ge=1,
        description="Longest a fetch waits at the broker for new records. The embedded broker (Tansu) answers a "
        "waiting fetch only when this runs out, not when records arrive, so each hop of a notice waited up to it "
        "(aiokafka's default 500 ms: p50 115 ms a hop measured); Apache Kafka answers as records arrive",
    )
    credentials_path: Path = Field(
        Path("var/credentials.json"),
        description="Credential store of API clients (hashed keys), managed by `ttg credentials`; "
        "re-read when it changes",
    )
    rate_limit_per_second: float = Field(20.0, gt=0, description="Requests per second an API client may make")
    rate_limit_burst: int = Field(200, ge=1, description="Requests an API client may make at once (a burst)")
    readiness_timeout_seconds: float = Field(
        2.0, gt=0, description="How long /readyz (and a /metrics scrape) waits for the database and the broker"
    )
    metrics_enabled: bool = Field(
        True,
        description="Serve Prometheus metrics at /metrics, unauthenticated like /healthz: counts, route templates "
        "and agency codes only, no personal data; block the path at the ingress if the port is reachable "
        "from outside the service network",
    )
