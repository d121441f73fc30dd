"""Sessions as pure rules: the stages a sign-in moves through, and when a session is over.

A session moves through stages: ``second_factor`` (password accepted, code awaited), ``enrol`` (password
accepted, no second factor yet: scan the QR code), ``signed_in``. Each step issues a new token, so a token
seen before sign-in is worth nothing after it. A session unused for the idle timeout, or older than the
longest session, is over. The table keeps only a token's hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class SessionStage(StrEnum):
    SECOND_FACTOR = "second_factor"
    ENROL = "enrol"
    SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    longest: timedelta


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible_token(token: str | None) -> bool:
    return bool(token) and len(token or "") <= 100


def is_over(*, created_at: datetime, last_seen_at: datetime, now: datetime, lifetimes: Lifetimes) -> bool:
    return now - last_seen_at > lifetimes.idle or now - created_at > lifetimes.longest


def stage_after_password(has_second_factor: bool) -> SessionStage:
    """A password opens the code page, or the enrolment page for someone without a second factor yet."""
    return SessionStage.SECOND_FACTOR if has_second_factor else SessionStage.ENROL
