"""Passwords hashed with argon2id (``argon2-cffi``'s defaults, the RFC 9106 low-memory profile), and the random
values of accounts and sessions. A hash made with older parameters is upgraded at the next successful sign-in."""

from __future__ import annotations

import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A hash of a random password: checked when the account does not exist, so that an unknown user name takes
# as long as a known one and the answer tells nothing.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no such account) it takes as long and answers False."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def new_token() -> str:
    return secrets.token_urlsafe(32)
