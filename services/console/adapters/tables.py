"""The console's own tables: people's accounts and their sessions. Nothing clinical is stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime


class Account(SQLModel, table=True):
    """A person who signs in: bound to one organisation and role (and, for prison healthcare, establishments)."""

    __tablename__ = "console_account"

    user_id: str = Field(primary_key=True, max_length=40)
    display_name: str = Field(max_length=100)
    email: str = Field(max_length=200)
    organisation: str = Field(max_length=100)
    role: str = Field(max_length=30)
    establishments: str = Field(default="", max_length=200, description="Comma-separated establishment codes")
    password_hash: str = Field(max_length=200)
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enrolled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    totp_last_step: int | None = Field(default=None, description="Last time step used: a code works once")
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    demo: bool = Field(default=False, description="A demo persona (its TOTP code may be shown by the CLI)")
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))

    @property
    def establishment_codes(self) -> tuple[str, ...]:
        return tuple(code for code in self.establishments.split(",") if code)


class ConsoleSession(SQLModel, table=True):
    """A browser's session: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "console_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=40, index=True)
    stage: str = Field(max_length=20, description="second_factor, enrol or signed_in")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
