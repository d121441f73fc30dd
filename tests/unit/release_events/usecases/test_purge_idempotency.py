"""Purging idempotency records removes those past the window and keeps the rest."""

from __future__ import annotations

from datetime import timedelta

from services.release_events.usecases.accept_notice import accept_notice
from services.release_events.usecases.purge_idempotency import purge_idempotency_records
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import NOW, notice_body, submission


async def test_records_past_the_window_are_purged_and_newer_ones_kept() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    await accept_notice(uow=uow, submission=submission(body, "old"), notice_id="n1", now=NOW, source="t")
    later = NOW + timedelta(days=3)
    other = {**body, "given_name": "Other"}
    await accept_notice(uow=uow, submission=submission(other, "new"), notice_id="n2", now=later, source="t")
    assert await purge_idempotency_records(uow=uow, older_than=NOW + timedelta(days=1)) == 1
    assert set(uow.idempotency.rows) == {("prison-dmi", "new")}
