"""The shape of an API key and what the credential store keeps of it.

A key reads ``ttg_<key id>_<secret>``: the key id finds the credential without scanning, the secret is never
stored, only its SHA-256 digest (the secret is 256 random bits, so a slow password hash would add nothing).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pydantic import BaseModel, Field

KEY_PREFIX = "ttg_"
KEY_ID_LENGTH = 16


class ApiKey(BaseModel):
    key_id: str
    digest: str = Field(description="SHA-256 of the secret, hex")
    created_at: datetime
    expires_at: datetime | None = Field(None, description="Set on the old key when the credential is rotated")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(now: datetime) -> tuple[str, ApiKey]:
    """A new API key (shown once) and what the store keeps of it."""
    key_id = secrets.token_hex(KEY_ID_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{key_id}_{secret}", ApiKey(
        key_id=key_id, digest=digest(secret), created_at=now, expires_at=None
    )


def split_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key, or None when it is not shaped like one."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    rest = presented[len(KEY_PREFIX) :]
    key_id, separator, secret = (
        rest[:KEY_ID_LENGTH],
        rest[KEY_ID_LENGTH : KEY_ID_LENGTH + 1],
        rest[KEY_ID_LENGTH + 1 :],
    )
    if separator != "_" or not secret or not all(c in "0123456789abcdef" for c in key_id):
        return None
    return key_id, secret
