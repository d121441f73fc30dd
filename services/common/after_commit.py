"""Log lines about a transaction's effects, written only once it has committed.

Inside ``Database.batch()`` the end of a unit of work only releases a savepoint: a line written there could name
a change the batch then loses. A unit of work stages such lines on its session instead; they are written when the
outermost transaction commits, and dropped with a savepoint rolled back (``Database.transaction`` restores the
session's ``info``) or with the transaction."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

log = structlog.get_logger(__name__)

_LINES = "after_commit.lines"  # a tuple, so a savepoint's snapshot of it stays as it was


class AfterCommitLog:
    """Stages log lines on a session, to be written once its transaction commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def warning(self, event_name: str, **fields: Any) -> None:
        info = self._session.info
        info[_LINES] = (*info.get(_LINES, ()), (event_name, fields))


@event.listens_for(Session, "after_commit")
def _write_lines(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its lines wait for the whole transaction
        return
    for event_name, fields in session.info.pop(_LINES, ()):
        log.warning(event_name, **fields)


@event.listens_for(Session, "after_rollback")
def _drop_lines(session: Session) -> None:
    session.info.pop(_LINES, None)
