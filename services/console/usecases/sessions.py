"""Use cases: start, find and end a browser's session (the cookie holds a random token; the table its hash)."""

from __future__ import annotations

from datetime import datetime

from services.console.adapters.passwords import new_token
from services.console.adapters.tables import ConsoleSession
from services.console.domain.session_rules import Lifetimes, SessionStage, is_over, plausible_token, token_hash
from services.console.usecases.ports import ConsoleUnitOfWork


async def start_session(
    *, uow: ConsoleUnitOfWork, user_id: str, stage: SessionStage, now: datetime, replaces: str | None = None
) -> str:
    """A new session (ending the one it replaces); returns the cookie token."""
    token = new_token()
    async with uow:
        if replaces:
            await uow.sessions.remove(token_hash(replaces))
        uow.sessions.add(
            ConsoleSession(
                token_hash=token_hash(token),
                user_id=user_id,
                stage=stage.value,
                csrf_token=new_token(),
                created_at=now,
                last_seen_at=now,
            )
        )
    return token


async def current_session(
    *, uow: ConsoleUnitOfWork, token: str | None, now: datetime, lifetimes: Lifetimes, touch: bool = True
) -> ConsoleSession | None:
    """The live session of a cookie, touched now (unless ``touch`` is false: a page refreshing itself in the
    background is not the person using it, and must not keep an unattended screen signed in); None (and the row
    gone) when it is missing or timed out."""
    if token is None or not plausible_token(token):
        return None
    async with uow:
        found = await uow.sessions.get(token_hash(token))
        if found is None:
            return None
        if is_over(created_at=found.created_at, last_seen_at=found.last_seen_at, now=now, lifetimes=lifetimes):
            await uow.sessions.remove(found.token_hash)
            return None
        if touch:
            found.last_seen_at = now
            uow.sessions.add(found)
        return found


async def end_session(*, uow: ConsoleUnitOfWork, token: str | None) -> None:
    if token:
        async with uow:
            await uow.sessions.remove(token_hash(token))
