"""How a consumer retries an event that failed for a reason that may pass: without end for a database or a network
that is away (nothing may be skipped while a dependency is down), a few times for a unique-key clash (a concurrent
duplicate from another replica), and never silently."""

from __future__ import annotations

import structlog
from aiokafka import ConsumerRecord
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

log = structlog.get_logger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, PoolTimeoutError, ConnectionError, OSError)


def _worth_retrying(state: RetryCallState) -> bool:
    """Retry transient failures until they pass; a unique-key clash a few times (a concurrent duplicate)."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    return isinstance(error, IntegrityError) and state.attempt_number < 3


def _retrying(state: RetryCallState, record: ConsumerRecord[bytes, bytes]) -> None:
    """Say so each time an event is tried again: a partition held by a failure that does not pass must be seen
    (its lag grows, and these lines name where it is held, the event (bound to the log context) and the error),
    never wait in silence."""
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "consumer.retrying",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        attempt=state.attempt_number,
        error=type(error).__name__,
        wait_seconds=round(state.next_action.sleep, 2) if state.next_action else None,
    )


def retrying(record: ConsumerRecord[bytes, bytes]) -> AsyncRetrying:
    """The attempts at applying ``record``: transient failures retried with backoff (up to 10 s apart), each
    retry logged; anything else raised at once."""
    return AsyncRetrying(
        retry=_worth_retrying,
        wait=wait_exponential(multiplier=0.1, max=10),
        before_sleep=lambda state: _retrying(state, record),
        reraise=True,
    )
