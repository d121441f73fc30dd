"""Group commit's own rules, over a database whose batches only count themselves: each unit of work runs in its
caller's context, batches hold at most the maximum, a failing unit of work gets its own error, a batch that fails
fails every caller in it, and a maximum of 0 runs each unit of work alone."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from sqlalchemy.exc import OperationalError

from services.common.db import Database
from services.release_events.adapters.group_commit import GroupCommit

caller_name: contextvars.ContextVar[str] = contextvars.ContextVar("caller_name", default="nobody")
in_batch: contextvars.ContextVar[int | None] = contextvars.ContextVar("in_batch", default=None)


class CountingDatabase:
    """Stands in for ``Database.batch()``: sets a context variable as the real one sets its session."""

    def __init__(self, *, fail: bool = False, error: Exception | None = None) -> None:
        self.batches: list[int] = []
        self.sizes: list[int] = []
        self._fail = fail
        self.error = error or ConnectionError("the commit failed")

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        self.batches.append(len(self.batches) + 1)
        token = in_batch.set(len(self.batches))
        try:
            yield
            if self._fail:
                raise self.error
        finally:
            in_batch.reset(token)


def group(database: CountingDatabase, max_batch: int) -> GroupCommit:
    return GroupCommit(cast(Database, database), max_batch=max_batch)


async def call_as(commits: GroupCommit, name: str, *, fail: bool = False) -> tuple[str, int | None]:
    caller_name.set(name)

    async def work() -> tuple[str, int | None]:
        await asyncio.to_thread(lambda: None)  # a unit of work awaits its database, a hop to another thread
        if fail:
            raise ValueError(f"{name} failed")
        return caller_name.get(), in_batch.get()

    return await commits.run(work)


async def test_each_unit_of_work_runs_in_its_callers_context_joined_to_the_batch() -> None:
    database = CountingDatabase()
    commits = group(database, 8)
    answers = await asyncio.gather(*(call_as(commits, f"caller-{n}") for n in range(3)))
    assert answers == [("caller-0", 1), ("caller-1", 1), ("caller-2", 1)] and database.batches == [1]
    assert caller_name.get() == "nobody" and in_batch.get() is None  # nothing leaks into this context


async def test_the_batch_itself_runs_in_no_callers_context() -> None:
    seen: list[str] = []

    class Watching(CountingDatabase):
        @asynccontextmanager
        async def batch(self) -> AsyncIterator[None]:
            seen.append(caller_name.get())  # what the batch's own log lines would be bound to
            async with super().batch():
                yield

    commits = group(Watching(), 8)
    await asyncio.gather(*(call_as(commits, f"caller-{n}") for n in range(2)))
    assert seen == ["nobody"]


async def test_batches_hold_at_most_the_maximum_and_answer_each_caller_its_own_result() -> None:
    database = CountingDatabase()
    commits = group(database, 4)
    answers = await asyncio.gather(*(call_as(commits, f"c{n}") for n in range(10)))
    assert [name for name, _ in answers] == [f"c{n}" for n in range(10)]
    assert [batch for _, batch in answers] == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]


async def test_a_failing_unit_of_work_gets_its_own_error_and_the_others_their_answers() -> None:
    commits = group(CountingDatabase(), 8)
    outcomes = await asyncio.gather(
        call_as(commits, "a"), call_as(commits, "b", fail=True), call_as(commits, "c"), return_exceptions=True
    )
    assert outcomes[0] == ("a", 1) and outcomes[2] == ("c", 1)
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "b failed"


async def test_a_batch_that_cannot_commit_fails_every_caller_in_it() -> None:
    commits = group(CountingDatabase(fail=True), 8)
    outcomes = await asyncio.gather(*(call_as(commits, f"c{n}") for n in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)


async def test_each_caller_of_a_batch_that_cannot_commit_gets_its_own_error_of_the_batch_errors_type() -> None:
    lost = OperationalError("COMMIT", {}, ConnectionError("server closed the connection"), connection_invalidated=True)
    database = CountingDatabase(fail=True, error=lost)
    commits = group(database, 8)
    outcomes = await asyncio.gather(*(call_as(commits, f"c{n}") for n in range(3)), return_exceptions=True)
    assert all(type(outcome) is OperationalError for outcome in outcomes), outcomes
    assert len({id(outcome) for outcome in outcomes}) == 3 and lost not in outcomes, "one error object each"
    errors = [outcome for outcome in outcomes if isinstance(outcome, OperationalError)]
    assert all(error.__cause__ is lost and error.connection_invalidated for error in errors)


async def test_a_batch_runs_its_units_of_work_in_prison_number_order_and_repeats_in_arrival_order() -> None:
    ran: list[str] = []

    async def unit(name: str) -> str:
        ran.append(name)
        return name

    commits = group(CountingDatabase(), 8)
    arrivals = [("B2222BB", "b"), ("A1111AA", "a-first"), ("C3333CC", "c"), ("A1111AA", "a-again")]
    answers = await asyncio.gather(*(commits.run(lambda n=name: unit(n), order=order) for order, name in arrivals))
    assert answers == ["b", "a-first", "c", "a-again"], "each caller still gets its own answer"
    assert ran == ["a-first", "a-again", "b", "c"]


async def test_a_maximum_of_zero_runs_each_unit_of_work_alone_without_a_batch() -> None:
    database = CountingDatabase()
    answers = await asyncio.gather(*(call_as(group(database, 0), f"c{n}") for n in range(3)))
    assert answers == [("c0", None), ("c1", None), ("c2", None)] and database.batches == []


async def test_callers_arriving_while_a_batch_is_written_wait_for_the_next_one() -> None:
    database = CountingDatabase()
    commits = group(database, 8)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> int | None:
        started.set()
        await release.wait()
        return in_batch.get()

    first = asyncio.ensure_future(commits.run(slow))
    await started.wait()  # the first batch is being written
    later = [asyncio.ensure_future(call_as(commits, f"later-{n}")) for n in range(3)]
    release.set()
    assert await first == 1
    assert [batch for _, batch in await asyncio.gather(*later)] == [2, 2, 2]
