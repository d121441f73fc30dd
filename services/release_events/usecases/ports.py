"""What release_events' use cases need from storage: its unit of work and repositories, as protocols, so the same
use case runs on the SQL adapters in the service and on in-memory fakes in unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from services.common.unit_of_work import UnitOfWork
from services.release_events.adapters.tables import (
    CustodyEventRecord,
    IdempotencyRecord,
    NoticeDelivery,
    NoticeProgress,
    NoticeRevision,
    ReleaseNoticeRecord,
)
from services.release_events.domain.custody_rules import Custody


class WriteConflict(Exception):
    """A concurrent unit of work committed the same unique row first (same key, same sequence): nothing of this
    one was stored; the caller answers as the first one did."""


class Notices(Protocol):
    async def get(self, notice_id: str) -> ReleaseNoticeRecord | None: ...
    async def reload(self, record: ReleaseNoticeRecord) -> None: ...
    async def latest_of(self, prison_number: str) -> ReleaseNoticeRecord | None: ...
    def add(self, record: ReleaseNoticeRecord) -> None: ...
    def add_revision(self, revision: NoticeRevision) -> None: ...
    async def revisions_of(self, notice_id: str) -> list[NoticeRevision]: ...


class IdempotencyRecords(Protocol):
    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    async def forget(self, scope: str, key: str, *, created_before: datetime) -> None: ...
    def add(self, record: IdempotencyRecord) -> None: ...
    async def purge(self, *, created_before: datetime) -> int: ...


class CustodyRegister(Protocol):
    async def lock(self, prison_number: str, now: datetime) -> Custody: ...
    async def save(self, prison_number: str, custody: Custody, *, set_by: str, now: datetime) -> None: ...


class CustodyEvents(Protocol):
    async def get(self, custody_event_id: str) -> CustodyEventRecord | None: ...
    async def by_sequence(self, prison_number: str, sequence: int) -> CustodyEventRecord | None: ...
    async def any_since(self, prison_number: str, since: datetime) -> bool: ...
    def add(self, record: CustodyEventRecord) -> None: ...


class DeliveryNote(NamedTuple):
    """The state of a handover's latest message to one agency, as of ``at``."""

    handover_id: str
    agency_code: str
    message: str
    state: str
    at: datetime


class PackNote(NamedTuple):
    """The state of a handover's pack, as of ``at``."""

    handover_id: str
    notice_id: str
    version: int
    state: str
    at: datetime


class Progress(Protocol):
    async def note_packs(self, notes: Sequence[PackNote]) -> None:
        """Set the state of each handover's pack, where the note is not older than what is held
        (``progress_rules.pack_moves``: a later version, or the same version's newer event), in order."""

    async def note_each(self, notes: Sequence[DeliveryNote]) -> None:
        """Set the state of a handover's latest message to an agency, where ``at`` is not older than what is held
        (``progress_rules.delivery_moves``: the newest event by its time wins, whatever the arrival order), in
        order."""

    def save(self, row: NoticeProgress) -> None: ...
    async def latest_pack_of(self, notice_id: str) -> NoticeProgress | None: ...
    async def deliveries_of(self, handover_id: str) -> list[NoticeDelivery]: ...


class Publications(Protocol):
    async def published_at(self, event_id: str) -> datetime | None: ...


class ReleaseEventsUnitOfWork(UnitOfWork, Protocol):
    """One transaction over release_events' tables (the common unit of work plus this service's repositories);
    raises :class:`WriteConflict` at commit when a concurrent one stored the same unique row first. Members are
    read-only here so that the SQL unit of work and the in-memory fake both fit."""

    @property
    def notices(self) -> Notices: ...
    @property
    def idempotency(self) -> IdempotencyRecords: ...
    @property
    def register(self) -> CustodyRegister: ...
    @property
    def custody_events(self) -> CustodyEvents: ...
    @property
    def progress(self) -> Progress: ...
    @property
    def publications(self) -> Publications: ...
