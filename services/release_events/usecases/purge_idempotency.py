"""Use case: delete idempotency records past their window; they are ignored already, this keeps the table small."""

from __future__ import annotations

from datetime import datetime

from services.release_events.usecases.ports import ReleaseEventsUnitOfWork


async def purge_idempotency_records(*, uow: ReleaseEventsUnitOfWork, older_than: datetime) -> int:
    async with uow:
        return await uow.idempotency.purge(created_before=older_than)
