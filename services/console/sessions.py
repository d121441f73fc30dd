"""Sessions: a random token in an HttpOnly, SameSite=Lax cookie (Secure behind https); the table keeps its hash.

A session moves through stages: ``second_factor`` (password accepted, code awaited), ``enrol`` (password
accepted, no second factor yet: scan the QR code), ``signed_in``. Each step issues a new token, so a token
seen before sign-in is worth nothing after it. A session unused for the idle timeout, or older than the
longest session, is over: the next request finds nothing and goes to the sign-in page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import Database
from services.console.adapters.tables import ConsoleSession

COOKIE = "ttg_console_session"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    longest: timedelta


async def start(database: Database, *, user_id: str, stage: str, now: datetime, replaces: str | None = None) -> str:
    """A new session (ending the one it replaces); returns the cookie token."""
    token = secrets.token_urlsafe(32)
    async with database.transaction() as session:
        if replaces:
            await session.exec(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(replaces)))  # type: ignore[call-overload]
        session.add(
            ConsoleSession(
                token_hash=_hash(token),
                user_id=user_id,
                stage=stage,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
            )
        )
    return token


async def current(
    database: Database, token: str | None, *, now: datetime, lifetimes: Lifetimes, touch: bool = True
) -> ConsoleSession | None:
    """The live session of a cookie, touched now (unless ``touch`` is false: a page refreshing itself in the
    background is not the person using it, and must not keep an unattended screen signed in); None (and the row
    gone) when it is missing or timed out."""
    if not token or len(token) > 100:
        return None
    async with database.transaction() as session:
        found = await session.get(ConsoleSession, _hash(token))
        if found is None:
            return None
        if now - found.last_seen_at > lifetimes.idle or now - found.created_at > lifetimes.longest:
            await session.delete(found)
            return None
        if touch:
            found.last_seen_at = now
            session.add(found)
        return found


async def end(database: Database, token: str | None) -> None:
    if token:
        async with database.transaction() as session:
            await session.exec(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))  # type: ignore[call-overload]


async def end_all(session: AsyncSession, user_id: str) -> None:
    await session.exec(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))  # type: ignore[call-overload, arg-type]
