"""In-memory repositories and unit of work of release_events, for use-case unit tests (no database, no broker).

The fake unit of work snapshots its repositories on entry and restores them when the block raises, so a test sees
what a rolled-back transaction leaves: nothing."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from services.release_events.adapters.tables import (
    CustodyEventRecord,
    IdempotencyRecord,
    NoticeDelivery,
    NoticeProgress,
    NoticeRevision,
    ReleaseNoticeRecord,
)
from services.release_events.domain.custody_rules import Custody
from services.release_events.domain.progress_rules import delivery_moves, pack_moves
from services.release_events.usecases.ports import DeliveryNote, PackNote
from tests.unit.fakes import FakeUnitOfWork


class FakeNotices:
    def __init__(self) -> None:
        self.rows: dict[str, ReleaseNoticeRecord] = {}
        self.revisions: list[NoticeRevision] = []

    async def get(self, notice_id: str) -> ReleaseNoticeRecord | None:
        return self.rows.get(notice_id)

    async def reload(self, record: ReleaseNoticeRecord) -> None:
        return None

    async def latest_of(self, prison_number: str) -> ReleaseNoticeRecord | None:
        mine = [row for row in self.rows.values() if row.prison_number == prison_number]
        return max(mine, key=lambda row: row.received_at, default=None)

    def add(self, record: ReleaseNoticeRecord) -> None:
        self.rows[record.id] = record

    def add_revision(self, revision: NoticeRevision) -> None:
        self.revisions.append(revision)

    async def revisions_of(self, notice_id: str) -> list[NoticeRevision]:
        return sorted((row for row in self.revisions if row.notice_id == notice_id), key=lambda row: row.revision)


class FakeIdempotencyRecords:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], IdempotencyRecord] = {}

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self.rows.get((scope, key))

    async def forget(self, scope: str, key: str, *, created_before: datetime) -> None:
        row = self.rows.get((scope, key))
        if row is not None and row.created_at <= created_before:
            del self.rows[(scope, key)]

    def add(self, record: IdempotencyRecord) -> None:
        self.rows[(record.scope, record.key)] = record

    async def purge(self, *, created_before: datetime) -> int:
        old = [key for key, row in self.rows.items() if row.created_at <= created_before]
        for key in old:
            del self.rows[key]
        return len(old)


class FakeCustodyRegister:
    def __init__(self) -> None:
        self.lines: dict[str, tuple[Custody, str]] = {}

    async def lock(self, prison_number: str, now: datetime) -> Custody:
        return self.lines.setdefault(prison_number, (Custody(), ""))[0]

    async def save(self, prison_number: str, custody: Custody, *, set_by: str, now: datetime) -> None:
        self.lines[prison_number] = (custody, set_by)


class FakeCustodyEvents:
    def __init__(self) -> None:
        self.rows: dict[str, CustodyEventRecord] = {}

    async def get(self, custody_event_id: str) -> CustodyEventRecord | None:
        return self.rows.get(custody_event_id)

    async def by_sequence(self, prison_number: str, sequence: int) -> CustodyEventRecord | None:
        return next(
            (row for row in self.rows.values() if (row.prison_number, row.sequence) == (prison_number, sequence)), None
        )

    async def any_since(self, prison_number: str, since: datetime) -> bool:
        return any(row.prison_number == prison_number and row.received_at > since for row in self.rows.values())

    def add(self, record: CustodyEventRecord) -> None:
        self.rows[record.id] = record


class FakeProgress:
    def __init__(self) -> None:
        self.packs: dict[str, NoticeProgress] = {}
        self.deliveries: dict[tuple[str, str], NoticeDelivery] = {}

    async def note_packs(self, notes: Sequence[PackNote]) -> None:
        for note in notes:
            held = self.packs.get(note.handover_id)
            if held is None or pack_moves(
                version=note.version, at=note.at, current_version=held.version, current_at=held.updated_at
            ):
                notice_id = note.notice_id if held is None else held.notice_id
                self.packs[note.handover_id] = NoticeProgress(
                    handover_id=note.handover_id,
                    notice_id=notice_id,
                    version=note.version,
                    state=note.state,
                    updated_at=note.at,
                )

    async def note_deliveries(
        self, handover_id: str, agency_codes: Sequence[str], *, message: str, state: str, at: datetime
    ) -> None:
        for code in agency_codes:
            held = self.deliveries.get((handover_id, code))
            if held is None or delivery_moves(at=at, current_at=held.updated_at):
                self.deliveries[(handover_id, code)] = NoticeDelivery(
                    handover_id=handover_id, agency_code=code, message=message, state=state, updated_at=at
                )

    async def note_each(self, notes: Sequence[DeliveryNote]) -> None:
        for note in notes:
            await self.note_deliveries(
                note.handover_id, [note.agency_code], message=note.message, state=note.state, at=note.at
            )

    def save(self, row: NoticeProgress) -> None:
        self.packs[row.handover_id] = row

    async def latest_pack_of(self, notice_id: str) -> NoticeProgress | None:
        mine = [row for row in self.packs.values() if row.notice_id == notice_id]
        return max(mine, key=lambda row: row.updated_at, default=None)

    async def deliveries_of(self, handover_id: str) -> list[NoticeDelivery]:
        return sorted(
            (row for row in self.deliveries.values() if row.handover_id == handover_id), key=lambda row: row.agency_code
        )


class FakePublications:
    def __init__(self) -> None:
        self.published: dict[str, datetime] = {}

    async def published_at(self, event_id: str) -> datetime | None:
        return self.published.get(event_id)


_REPOSITORIES = ("notices", "idempotency", "register", "custody_events", "progress")


class FakeReleaseEventsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.notices = FakeNotices()
        self.idempotency = FakeIdempotencyRecords()
        self.register = FakeCustodyRegister()
        self.custody_events = FakeCustodyEvents()
        self.progress = FakeProgress()
        self.publications = FakePublications()
        self.commits = 0
        self._snapshot: dict[str, object] = {}

    async def __aenter__(self) -> Self:
        self._snapshot = {name: copy.deepcopy(getattr(self, name)) for name in _REPOSITORIES}
        self._staged = (len(self.outbox.events), len(self.audit.entries))
        self.committed = False
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await super().__aexit__(kind, error, trace)
        if kind is None:
            self.commits += 1
            return
        for name, saved in self._snapshot.items():
            setattr(self, name, saved)
        del self.outbox.events[self._staged[0] :]
        del self.audit.entries[self._staged[1] :]
