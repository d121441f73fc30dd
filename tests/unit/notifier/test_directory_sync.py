"""The notifier's copy of the directory on a real SQLite database: change events applied in revision order,
read by every replica without a restart, secrets resolved from their references."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.directory import DIRECTORY_AGENCY_CHANGED_SCHEMA, DirectoryAgencyChangedV1
from contracts.envelope import CloudEvent, EventType, new_event
from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.adapters.live_directory import LiveDirectory
from services.notifier.adapters.signing import resolve_secret
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.usecases.directory_sync import apply_change as apply
from services.notifier.usecases.ports import UowFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def uows(database: Database) -> UowFactory:
    return lambda: NotifierUnitOfWork(database, FrozenClock(NOW))


async def apply_change(*, database: Database, event: CloudEvent, clock: FrozenClock) -> bool:
    return await apply(uow=NotifierUnitOfWork(database, clock), event=event, now=clock.now())


def change(code: str, revision: int, *, kind: str = "gp_practice", webhook: bool = True, **extra: Any) -> Any:
    data = DirectoryAgencyChangedV1.model_validate(
        {
            "code": code,
            "kind": kind,
            "name": f"Agency {code}",
            "active": True,
            "revision": revision,
            "changed_at": NOW,
            **extra,
            "webhook": {"url": f"http://127.0.0.1:9/{code}", "secret_ref": f"env:SECRET_{revision}"}
            if webhook
            else None,
        }
    )
    return new_event(
        type=EventType.DIRECTORY_AGENCY_CHANGED,
        source="urn:test",
        subject=code,
        dataschema=DIRECTORY_AGENCY_CHANGED_SCHEMA,
        data=data,
        correlation_id=None,
    )


@pytest.mark.hazard("H49")
async def test_changes_apply_in_revision_order_and_every_replica_sees_them_without_a_restart(
    database: Database,
) -> None:
    clock = FrozenClock(NOW)
    one, other = LiveDirectory(agencies=[]), LiveDirectory(agencies=[])  # two replicas, one database
    await one.refresh(uows(database))
    assert one.by_code("A99030") is None

    assert await apply_change(database=database, event=change("A99030", 2), clock=clock)
    assert not await apply_change(database=database, event=change("A99030", 1), clock=clock), "a late one"
    assert not await apply_change(database=database, event=change("A99030", 2), clock=clock), "a repeat"
    await other.refresh(uows(database))
    agency = other.by_code("A99030")
    assert agency is not None and agency.revision == 2 and agency.webhook.secret_ref == "env:SECRET_2"


@pytest.mark.hazard("H49")
async def test_a_deactivated_contact_is_told_nothing_new_and_an_agency_without_endpoint_is_known_only(
    database: Database,
) -> None:
    clock = FrozenClock(NOW)
    await apply_change(
        database=database, event=change("PH-DMI", 1, kind="prison_healthcare", establishments=["DMI"]), clock=clock
    )
    await apply_change(database=database, event=change("ROUTE-ONLY", 1, webhook=False), clock=clock)
    directory = LiveDirectory(agencies=[])
    await directory.refresh(uows(database))
    assert [agency.code for agency in directory.prison_healthcare("DMI")] == ["PH-DMI"]
    assert directory.knows("ROUTE-ONLY") and directory.by_code("ROUTE-ONLY") is None

    await apply_change(
        database=database,
        event=change("PH-DMI", 2, kind="prison_healthcare", establishments=["DMI"], active=False),
        clock=clock,
    )
    await directory.refresh(uows(database))
    assert directory.prison_healthcare("DMI") == []
    assert directory.by_code("PH-DMI") is not None, "what it already holds can still be delivered"


@pytest.mark.hazard("H49")
async def test_a_pack_waits_a_bounded_time_for_an_agency_the_copy_does_not_know_yet(database: Database) -> None:
    directory = LiveDirectory(agencies=[])
    assert not await directory.wait_for(["NEW"], new_uow=uows(database), timeout=0.2, every=0.05)
    await apply_change(database=database, event=change("NEW", 1), clock=FrozenClock(NOW))
    assert await directory.wait_for(["NEW"], new_uow=uows(database), timeout=1.0, every=0.05)


@pytest.mark.hazard("H52")
def test_a_file_reference_is_read_when_signing_and_a_missing_file_says_so_without_the_path_content(
    tmp_path: Path,
) -> None:
    given = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    path = tmp_path / "A99001.secret"
    path.write_text(given + "\n")
    assert resolve_secret(f"file:{path}").get_secret_value() == given
    with pytest.raises(LookupError, match="cannot be read"):
        resolve_secret(f"file:{tmp_path / 'gone'}")
