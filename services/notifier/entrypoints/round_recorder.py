"""Records dispatch rounds that finish close together in one transaction.

Recording a round alone costs a transaction of its own (on SQLite, a turn of the process's writer lock and a
commit) for a handful of rows; with many rounds finishing at once, those turns, not the rows, were the work. So a
round's task hands its recording to the recorder and waits for it: the recorder takes every round queued so far
and records them in one :meth:`services.common.db.Database.batch` (``batch_all_or_nothing`` in the service: no
savepoint per round, two statements and a nested transaction saved on nearly every round).

- With savepoints, a round whose recording raises is undone alone (its savepoint), and is recorded again alone,
  in a transaction of its own, after the batch has committed. Without them, it spoils the batch (the rounds after
  it raise ``BatchSpoiled``), nothing is committed, and every round of the batch is recorded alone, as below.
  If a round fails alone too its task gets the error, as it would without the recorder (the delivery stays
  leased and is sent again under the same webhook-id once the lease ends).
- When the batch itself cannot commit, every round of it is recorded alone. If the COMMIT did happen but
  reported an error (the connection dropped during it), a round recorded again finds its delivery no longer
  pending under its claim's lease and writes nothing (``LeaseLost``): never two outcome events or audit records.
- A round's task learns its verdict only once it is committed, so what it does next (breaker, metrics, relay,
  the end of a drain) follows the database as before.
- Each round is recorded within its own trace context and log context (webhook-id, agency), so its outcome event
  continues its trace and its log lines name it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog

from services.common.db import BatchSpoiled
from services.common.tracing import continued, current_context

log = structlog.get_logger(__name__)

T = TypeVar("T")
BatchScope = Callable[[], AbstractAsyncContextManager[Any]]
MOST_ROUNDS_PER_BATCH = 200


@dataclass
class _Queued(Generic[T]):
    record: Callable[[], Awaitable[T]]
    order: str
    logged: Mapping[str, object]
    done: asyncio.Future[T]
    trace: Any = field(default_factory=current_context)


class RoundRecorder(Generic[T]):
    def __init__(self, batch: BatchScope | None, most: int = MOST_ROUNDS_PER_BATCH) -> None:
        """``batch`` opens one transaction for many units of work (``Database.batch``); None records every
        round alone (unit tests on fakes)."""
        self._batch = batch
        self._most = most
        self._queued: list[_Queued[T]] = []
        self._worker: asyncio.Task[None] | None = None

    async def record(self, record: Callable[[], Awaitable[T]], *, order: str = "", **logged: object) -> T:
        """Run ``record`` (one round's unit of work) in the next batch; its result once the batch committed.

        A batch records its rounds sorted by ``order`` (the agency code): replicas' batches then lock endpoint
        rows in the same order, and cannot deadlock on PostgreSQL. ``logged`` is bound to the log context while
        it runs."""
        if self._batch is None:
            return await record()
        queued: _Queued[T] = _Queued(record, order, logged, asyncio.get_running_loop().create_future())
        self._queued.append(queued)
        if self._worker is None or self._worker.done():
            # A context of its own: not the trace and log context of the round that happened to start it.
            self._worker = asyncio.create_task(self._work(), context=contextvars.Context())
        return await queued.done

    async def close(self) -> None:
        """Stop the worker (the process is stopping): rounds still queued are cancelled with it."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for queued in self._queued:
            queued.done.cancel()
        self._queued.clear()

    async def _work(self) -> None:
        while self._queued:
            taken, self._queued = self._queued[: self._most], self._queued[self._most :]
            taken.sort(key=lambda queued: queued.order)
            try:
                for queued in await self._together(taken):
                    await self._alone(queued)
            except BaseException:
                # Cancelled (the process is stopping) in the batch or while recording a round alone: every round
                # of it not settled yet is cancelled, so no task waits for ever (a settled one keeps its result).
                for queued in taken:
                    queued.done.cancel()
                raise

    async def _together(self, taken: list[_Queued[T]]) -> list[_Queued[T]]:
        """Record ``taken`` in one batch; resolve those committed, and return those to be recorded alone."""
        assert self._batch is not None
        results: list[tuple[_Queued[T], T]] = []
        failed: list[_Queued[T]] = []
        try:
            async with self._batch():
                for queued in taken:
                    try:
                        results.append((queued, await self._run(queued)))
                    except BatchSpoiled:  # an earlier round failed: the batch is recorded again round by round
                        failed.append(queued)
                    except Exception:
                        log.warning("delivery.round_undone_in_batch", exc_info=True, **queued.logged)
                        failed.append(queued)
        except Exception:
            log.warning("delivery.batch_not_committed", rounds=len(taken), exc_info=True)
            return list(taken)
        for queued, result in results:
            if not queued.done.done():
                queued.done.set_result(result)
        return failed

    async def _alone(self, queued: _Queued[T]) -> None:
        try:
            result = await self._run(queued)
        except Exception as error:
            if not queued.done.done():
                queued.done.set_exception(error)
            return
        if not queued.done.done():
            queued.done.set_result(result)

    @staticmethod
    async def _run(queued: _Queued[T]) -> T:
        with continued(queued.trace), structlog.contextvars.bound_contextvars(**queued.logged):
            return await queued.record()
