"""Sessions on a fake unit of work: a new token replaces the old one; each use extends the idle timeout but a
background refresh does not; a session past its longest life is over; signing out ends it."""

from __future__ import annotations

from datetime import timedelta

from services.console.domain.session_rules import Lifetimes, SessionStage, token_hash
from services.console.usecases.sessions import current_session, end_session, start_session
from tests.unit.console.fakes import FakeConsoleUnitOfWork
from tests.unit.console.usecases.support import NOW

LIFETIMES = Lifetimes(idle=timedelta(minutes=30), longest=timedelta(hours=12))


async def test_a_new_stage_replaces_the_old_token_and_only_its_hash_is_kept() -> None:
    uow = FakeConsoleUnitOfWork()
    first = await start_session(uow=uow, user_id="nurse", stage=SessionStage.SECOND_FACTOR, now=NOW)
    second = await start_session(uow=uow, user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW, replaces=first)
    assert set(uow.sessions.rows) == {token_hash(second)} and first not in uow.sessions.rows
    assert await current_session(uow=uow, token=first, now=NOW, lifetimes=LIFETIMES) is None


async def test_use_extends_the_idle_timeout_and_a_background_refresh_does_not() -> None:
    uow = FakeConsoleUnitOfWork()
    token = await start_session(uow=uow, user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW)
    assert await current_session(uow=uow, token=token, now=NOW + timedelta(minutes=29), lifetimes=LIFETIMES)
    later = NOW + timedelta(minutes=58)
    assert await current_session(uow=uow, token=token, now=later, lifetimes=LIFETIMES, touch=False)
    assert await current_session(uow=uow, token=token, now=NOW + timedelta(minutes=60), lifetimes=LIFETIMES) is None
    assert uow.sessions.rows == {}


async def test_a_session_past_its_longest_life_is_over_and_sign_out_ends_one() -> None:
    uow = FakeConsoleUnitOfWork()
    token = await start_session(uow=uow, user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW)
    for minutes in range(25, 12 * 60 + 1, 25):  # used every 25 minutes: never idle for long
        assert await current_session(uow=uow, token=token, now=NOW + timedelta(minutes=minutes), lifetimes=LIFETIMES)
    assert (
        await current_session(uow=uow, token=token, now=NOW + timedelta(hours=12, minutes=1), lifetimes=LIFETIMES)
        is None
    )
    other = await start_session(uow=uow, user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW)
    await end_session(uow=uow, token=other)
    assert uow.sessions.rows == {}
    assert await current_session(uow=uow, token="x" * 101, now=NOW, lifetimes=LIFETIMES) is None
