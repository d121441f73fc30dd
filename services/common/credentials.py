"""API credentials of client organisations: hashed API keys in a credential store that every replica reads.

Why hashed API keys in a store file, rather than OAuth2 client credentials with short-lived signed tokens:

* Each service owns its database and any number of replicas run. A key is verified with the store alone (a
  dictionary lookup and a constant-time hash comparison), so no service calls another or shares a database
  to authenticate, and no token endpoint has to be run, scaled and kept available in the request path.
* Revocation is immediate: every replica re-reads the store when the file changes (checked on each request
  by its stat), while a signed token stays valid until it expires.
* There is no signing key to distribute, rotate and protect on every replica; the store holds only SHA-256
  digests of 256-bit random secrets (high entropy, so a slow password hash adds nothing), useless to a thief.
* The cost: the secret travels with every request (TLS is mandatory outside local runs), and the store must be
  distributed to each replica like the directory of services (a Kubernetes secret, a mounted volume).
  ``docs/security.md`` gives the full argument and how a move to signed tokens would look.

Keys are made and digested in ``services.common.api_keys``; who may do what is in ``services.common.roles``.
Rotation adds a new key and keeps the old one valid for an overlap, so a client can switch without an
outage; revocation stops every key of the client at once. The store is written atomically (temp file, rename)
under a lock file, so concurrent CLI runs never lose an update and readers never see half a file.
"""

from __future__ import annotations

import fcntl
import getpass
import hmac
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from services.common.api_keys import ApiKey, digest, new_key, split_key
from services.common.roles import ROLE_SCOPES, Role, Scope

__all__ = [
    "Credential",
    "CredentialError",
    "HistoryEntry",
    "Store",
    "StoreCache",
    "create",
    "editing",
    "read_store",
    "revoke",
    "rotate",
    "validate_binding",
    "verify",
]


class Credential(BaseModel):
    """One API client: an organisation, its role, what it is bound to, its keys."""

    client_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    organisation: str = Field(min_length=1, max_length=100, description="Organisation code: ODS, PDU, HMPPS")
    role: Role
    establishments: list[str] = Field(default_factory=list, description="Prison healthcare: its establishments")
    scopes: list[Scope] = Field(default_factory=list)
    created_at: datetime
    revoked_at: datetime | None = None
    keys: list[ApiKey] = Field(default_factory=list)

    @field_validator("establishments")
    @classmethod
    def _establishment_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if len(code) != 3 or not code.isalpha() or not code.isupper():
                raise ValueError(f"not an establishment code: {code!r} (three capital letters)")
        return codes

    def public(self) -> dict[str, object]:
        """What ``credentials list`` shows: never a digest."""
        return {
            "client_id": self.client_id,
            "organisation": self.organisation,
            "role": self.role.value,
            "establishments": self.establishments,
            "scopes": [scope.value for scope in self.scopes],
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "keys": [
                {
                    "key_id": key.key_id,
                    "created_at": key.created_at.isoformat(),
                    "expires_at": key.expires_at.isoformat() if key.expires_at else None,
                }
                for key in self.keys
            ],
        }


class HistoryEntry(BaseModel):
    """An operator action on the store (who, when, what), kept with it; never a secret."""

    at: datetime
    action: str
    client_id: str
    by: str


class Store(BaseModel):
    version: int = 1
    credentials: list[Credential] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)

    def note(self, action: str, client_id: str, at: datetime) -> None:
        self.history.append(HistoryEntry(at=at, action=action, client_id=client_id, by=_operator()))

    def by_client(self, client_id: str) -> Credential | None:
        return next((item for item in self.credentials if item.client_id == client_id), None)


def _operator() -> str:
    """Who is changing the store: ``TTG_OPERATOR`` when set (automation), else the login name."""
    try:
        return os.environ.get("TTG_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class CredentialError(Exception):
    """A store operation that cannot be done (unknown client, duplicate id, bad binding)."""


def verify(store: Store, presented: str, now: datetime) -> Credential | None:
    """The active credential whose unexpired key matches, or None. Compares digests in constant time."""
    parts = split_key(presented)
    if parts is None:
        return None
    key_id, secret = parts
    presented_digest = digest(secret)
    for credential in store.credentials:
        for key in credential.keys:
            if key.key_id != key_id:
                continue
            if not hmac.compare_digest(key.digest, presented_digest):
                return None
            if credential.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
                return None
            return credential
    return None


def validate_binding(role: Role, establishments: list[str]) -> None:
    if role == Role.PRISON_HEALTHCARE and not establishments:
        raise CredentialError("a prison healthcare credential needs at least one establishment code")
    if role != Role.PRISON_HEALTHCARE and establishments:
        raise CredentialError("only prison healthcare credentials are bound to establishments")


# --- the store file -------------------------------------------------------------------------------------


def read_store(path: Path) -> Store:
    if not path.exists():
        return Store()
    return Store.model_validate_json(path.read_text())


def _write_store(path: Path, store: Store) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(store.model_dump_json(indent=2))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def editing(path: Path) -> Iterator[Store]:
    """Read, change and write the store under an exclusive lock (one writer at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = read_store(path)
        yield store
        _write_store(path, store)


def create(
    path: Path,
    *,
    client_id: str,
    organisation: str,
    role: Role,
    establishments: list[str] | None = None,
    scopes: list[Scope] | None = None,
    now: datetime | None = None,
) -> str:
    """Add a credential; returns its API key, which is shown once and never stored."""
    now = now or datetime.now(UTC)
    establishments = establishments or []
    validate_binding(role, establishments)
    allowed = ROLE_SCOPES[role]
    chosen = list(scopes) if scopes else sorted(allowed)
    extra = [scope for scope in chosen if scope not in allowed]
    if extra:
        raise CredentialError(f"role {role.value} may not hold {', '.join(extra)}")
    key, api_key = new_key(now)
    with editing(path) as store:
        if store.by_client(client_id):
            raise CredentialError(f"client {client_id} exists already; rotate its key instead")
        store.credentials.append(
            Credential(
                client_id=client_id,
                organisation=organisation,
                role=role,
                establishments=establishments,
                scopes=chosen,
                created_at=now,
                keys=[api_key],
            )
        )
        store.note("created", client_id, now)
    return key


def rotate(path: Path, *, client_id: str, overlap: timedelta, now: datetime | None = None) -> str:
    """A new key for the client; its current keys stay valid for ``overlap`` then stop."""
    now = now or datetime.now(UTC)
    key, api_key = new_key(now)
    with editing(path) as store:
        credential = store.by_client(client_id)
        if credential is None or credential.revoked_at is not None:
            raise CredentialError(f"no active client {client_id}")
        for old in credential.keys:
            if old.expires_at is None or old.expires_at > now + overlap:
                old.expires_at = now + overlap
        credential.keys = [old for old in credential.keys if old.expires_at is None or old.expires_at > now]
        credential.keys.append(api_key)
        store.note(f"rotated (overlap {overlap})", client_id, now)
    return key


def revoke(path: Path, *, client_id: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with editing(path) as store:
        credential = store.by_client(client_id)
        if credential is None:
            raise CredentialError(f"no client {client_id}")
        credential.revoked_at = credential.revoked_at or now
        store.note("revoked", client_id, now)


class StoreCache:
    """The store as a service sees it: re-read whenever the file changes, so revocations apply at once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._signature: tuple[int, int, int] | None = None
        self._store = Store()

    def current(self) -> Store:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._signature, self._store = None, Store()
            return self._store
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if signature != self._signature:
            self._store = read_store(self._path)
            self._signature = signature
        return self._store
