"""Group commit: concurrent requests' units of work committed together in one transaction.

On SQLite a process's writers take turns (``Database``), so under load each notice used to wait for the lock,
begin, do its work and commit alone. Here the requests that arrive while a batch is being written queue up, and
the next batch takes up to ``max_batch`` of them into one ``Database.batch()``: each request's unit of work is a
savepoint of it (undone alone when it raises, its caller getting its own error), and the batch commits once.
Every caller is answered only after that commit, so a 202 still means "stored"; when the batch cannot commit,
every caller in it gets the error and nobody's work is kept. A batch starts as soon as the previous one ends,
never after a timer, so a lone request waits for nobody.

Each unit of work runs in its own task, in a copy of its request's context (trace context, correlation id and
log bindings go with it) joined to the batch's session. A batch runs its units of work sorted by their ``order``
(the prison number; stable, so repeats keep their arrival order): replicas' batches then lock register rows in
the same order, and do not deadlock each other on PostgreSQL. When a batch fails, each caller gets an error of
its own (a copy of the batch's, of the same type, caused by it), never one object raised in many tasks.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from services.common.db import Database

T = TypeVar("T")


@dataclass(frozen=True)
class _Job:
    work: Callable[[], Awaitable[Any]]
    context: contextvars.Context
    answer: asyncio.Future[Any]
    order: str


class GroupCommit:
    """Runs units of work (callables opening ``Database.transaction()``, e.g. a use case over a unit of work)
    in shared batches; ``max_batch`` 0 runs each one alone, as without this class. The batch's audit records are
    chained once, as it commits (``services.common.audit``: entries are staged per transaction)."""

    def __init__(self, database: Database, *, max_batch: int) -> None:
        self._database, self._max_batch = database, max_batch
        self._waiting: deque[_Job] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[], Awaitable[T]], *, order: str = "") -> T:
        """``work()``'s result (or its exception) once the batch it ran in has committed; a batch runs its units
        of work sorted by ``order`` (the prison number whose register row the unit of work locks)."""
        if self._max_batch <= 0:
            return await work()
        job = _Job(work, contextvars.copy_context(), asyncio.get_running_loop().create_future(), order)
        self._waiting.append(job)
        if self._writer is None:  # in a context of its own, not the first caller's (its log lines name no request)
            self._writer = asyncio.create_task(
                self._write_batches(), name="group-commit", context=contextvars.Context()
            )
        return cast(T, await job.answer)

    async def _write_batches(self) -> None:
        try:
            while self._waiting:
                batch = [self._waiting.popleft() for _ in range(min(self._max_batch, len(self._waiting)))]
                batch.sort(key=lambda job: job.order)
                await self._commit(batch)
        finally:
            self._writer = None
            for job in self._waiting:  # only when cancelled (shutdown): nobody is left waiting for ever
                _settle(job, error=asyncio.CancelledError())
            self._waiting.clear()

    async def _commit(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        outside = contextvars.copy_context()
        try:
            async with self._database.batch():
                joined = _set_by_batch(outside, contextvars.copy_context())
                for job in batch:
                    for variable, value in joined:
                        job.context.run(variable.set, value)
                    task = asyncio.create_task(_call(job.work), context=job.context)
                    try:
                        outcomes.append((job, await task, None))
                    except Exception as error:  # its savepoint is rolled back; the others go on
                        outcomes.append((job, None, error))
        except BaseException as error:  # the batch did not commit: nobody's work is stored
            for job in batch:
                _settle(job, error=_own_copy(error))
            if not isinstance(error, Exception):
                raise
            return
        for job, value, failure in outcomes:
            _settle(job, value=value, error=failure)


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def _set_by_batch(
    outside: contextvars.Context, inside: contextvars.Context
) -> list[tuple[contextvars.ContextVar[Any], Any]]:
    """The context variables ``Database.batch()`` set (its session), to give each unit of work's own context."""
    return [(variable, value) for variable, value in inside.items() if outside.get(variable, _UNSET) is not value]


_UNSET = object()


def _own_copy(error: BaseException) -> BaseException:
    """A caller's own copy of the batch's error: same type (the 503/500 mapping still applies), the batch's error
    as its cause; one exception object raised in many tasks would pile their tracebacks and contexts onto it. An
    error that cannot be copied is shared, as it is."""
    try:
        own = copy.copy(error)
    except Exception:
        return error
    own.__cause__ = error
    return own


def _settle(job: _Job, *, value: Any = None, error: BaseException | None = None) -> None:
    if job.answer.done():  # its caller was cancelled meanwhile
        return
    if isinstance(error, asyncio.CancelledError):
        job.answer.cancel()
    elif error is None:
        job.answer.set_result(value)
    else:
        job.answer.set_exception(error)
