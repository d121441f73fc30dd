"""``services.common.sql.execute``: a statement of columns run on the session's connection, skipping the ORM's
statement handling, sees what the session holds (it flushes first, as ``Session.execute`` does) and is undone
with its unit of work, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, event
from sqlmodel import col, select, update

from services.common.db import Database
from services.common.sql import execute
from services.handover.adapters.tables import Person

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
_SEQUENCE_OF = select(col(Person.last_sequence)).where(col(Person.prison_number) == bindparam("number"))
_MOVE_ON = (
    update(Person)
    .where(col(Person.prison_number) == bindparam("number"))
    .values(last_sequence=bindparam("sequence"))
    .execution_options(synchronize_session=False)
)


async def test_a_statement_sees_what_the_session_holds_and_bypasses_the_orm(handover_database: Database) -> None:
    through_the_orm: list[Any] = []
    async with handover_database.transaction() as session:
        event.listen(session.sync_session, "do_orm_execute", through_the_orm.append)
        session.add(Person(prison_number="A1234BC", last_sequence=1, updated_at=NOW))  # pending, not flushed
        assert (await execute(session, _SEQUENCE_OF, {"number": "A1234BC"})).scalar_one() == 1
        moved = await execute(session, _MOVE_ON, {"number": "A1234BC", "sequence": 2})
        assert moved.rowcount == 1  # type: ignore[attr-defined]
        assert (await execute(session, _SEQUENCE_OF, {"number": "A1234BC"})).scalar_one() == 2
    assert through_the_orm == []  # the reason it exists: Session.execute would have taken each through the ORM
    async with handover_database.session() as session:
        assert (await execute(session, _SEQUENCE_OF, {"number": "A1234BC"})).scalar_one() == 2


async def test_without_autoflush_nothing_pending_is_written_and_a_failed_unit_of_work_undoes_it(
    handover_database: Database,
) -> None:
    async with handover_database.transaction() as session:
        session.add(Person(prison_number="B2345CD", last_sequence=1, updated_at=NOW))
        with session.no_autoflush:
            assert (await execute(session, _SEQUENCE_OF, {"number": "B2345CD"})).first() is None
    with pytest.raises(RuntimeError):
        async with handover_database.transaction() as session:
            await execute(session, _MOVE_ON, {"number": "B2345CD", "sequence": 9})
            raise RuntimeError("the unit of work fails after the statement")
    async with handover_database.session() as session:
        assert (await execute(session, _SEQUENCE_OF, {"number": "B2345CD"})).scalar_one() == 1
