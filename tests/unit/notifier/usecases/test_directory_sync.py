"""The directory copy keeps the highest revision of each agency; an entry without an endpoint is known only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.directory import DIRECTORY_AGENCY_CHANGED_SCHEMA, DirectoryAgencyChangedV1
from contracts.envelope import CloudEvent, EventType, new_event
from services.notifier.usecases.directory_sync import apply_change, read_directory
from tests.unit.notifier.usecases.fakes import FakeNotifierUow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def change(code: str, revision: int, *, webhook: bool = True) -> CloudEvent:
    data: dict[str, Any] = {"code": code, "kind": "gp_practice", "name": code, "active": True, "revision": revision}
    data["changed_at"] = NOW
    data["webhook"] = (
        {"url": f"https://{code.lower()}.example.org/", "secret_ref": f"env:S_{revision}"} if webhook else None
    )
    return new_event(
        type=EventType.DIRECTORY_AGENCY_CHANGED,
        source="urn:test",
        subject=code,
        dataschema=DIRECTORY_AGENCY_CHANGED_SCHEMA,
        data=DirectoryAgencyChangedV1.model_validate(data),
        correlation_id=None,
    )


async def test_the_highest_revision_wins_and_repeats_change_nothing(uow: FakeNotifierUow) -> None:
    assert await apply_change(uow=uow, event=change("A", 2), now=NOW)
    assert not await apply_change(uow=uow, event=change("A", 1), now=NOW), "late"
    assert not await apply_change(uow=uow, event=change("A", 2), now=NOW), "repeated"
    assert await apply_change(uow=uow, event=change("ROUTE-ONLY", 1, webhook=False), now=NOW)
    agencies, known = await read_directory(uow=uow)
    assert [(agency.code, agency.webhook.secret_ref) for agency in agencies] == [("A", "env:S_2")]
    assert known == {"A", "ROUTE-ONLY"}
