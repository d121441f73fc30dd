from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

FRONTEND = Path(__file__).parent / "frontend"


class ConsoleSettings(BaseSettings):
    """Settings of the console, from ``TTG_CONSOLE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTG_CONSOLE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the console listens on")
    port: int = Field(8000, description="Port the console listens on")
    database_url: str = Field(
        "sqlite:///var/console.db", description="The console's own database (accounts, sessions): SQLite or PostgreSQL"
    )
    log_level: str = Field("INFO", description="Lowest level written to the JSON log")
    release_events_url: str = Field("http://127.0.0.1:8001", description="Base URL of the release_events API")
    handover_url: str = Field("http://127.0.0.1:8002", description="Base URL of the handover API")
    notifier_url: str = Field("http://127.0.0.1:8003", description="Base URL of the notifier API")
    api_key: SecretStr = Field(
        SecretStr(""), description="The console's API key (role console, scope act-on-behalf): `ttg credentials create`"
    )
    secure_cookies: bool = Field(
        False, description="Mark session cookies Secure (set it whenever the console is served over https)"
    )
    idle_timeout_minutes: float = Field(30.0, gt=0, description="A session unused this long is signed out")
    session_max_hours: float = Field(12.0, gt=0, description="A session is signed out this long after sign-in")
    sign_in_attempts: int = Field(5, ge=1, description="Failed sign-ins of one account before it is throttled")
    sign_in_lockout_minutes: float = Field(15.0, gt=0, description="How long a throttled account must wait")
    totp_issuer: str = Field("Through-the-Gate", description="Issuer shown in authenticator apps")
    assets_path: Path | None = Field(
        None,
        description="node_modules folder holding nhsuk-frontend (default: the one `./run` fills with npm ci, "
        "services/console/frontend/node_modules)",
    )
    test_clock: bool = Field(False, description="Tests only: read a time offset from test_clock_file")
    test_clock_file: Path | None = Field(None, description="Tests only: file holding seconds to add to the time")
