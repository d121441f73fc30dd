"""Read models of handover: a handover as it stands, the custody log of a person, an agency's worklist, the
establishment's departures ("departure lounge") and the directory. Readiness is computed on reading, from the
referrals, so it is always as of now."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.handover import HandoverPack
from contracts.release_notice import ReleaseNoticeV1
from services.handover.adapters.tables import CustodyEventRecord, Handover, Referral
from services.handover.domain.case import HandoverState
from services.handover.domain.readiness import ReleaseReadiness, readiness_of
from services.handover.usecases.directory_admin import DirectoryEntry, entry_of
from services.handover.usecases.ports import HandoverUnitOfWork, LoungeQuery


@dataclass(frozen=True)
class HandoverView:
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    pack: HandoverPack
    state: str
    state_reason: str | None
    referrals: list[Referral]
    notice: ReleaseNoticeV1
    readiness: ReleaseReadiness  # as of the read; only the prison is shown it


@dataclass(frozen=True)
class ReadinessRules:
    at_risk_hours: float
    registration_days: int


async def _view(uow: HandoverUnitOfWork, handover: Handover, now: datetime, rules: ReadinessRules) -> HandoverView:
    version = await uow.handovers.version(handover.id, handover.current_version)
    assert version is not None, "a handover always has its current version"
    pack = HandoverPack.model_validate_json(version.pack)
    notice = ReleaseNoticeV1.model_validate_json(handover.notice)
    referrals = await uow.referrals.of_handover(handover.id)
    return HandoverView(
        handover_id=handover.id,
        notice_id=handover.notice_id,
        version=version.version,
        issued_at=version.issued_at,
        pack=pack,
        state=handover.state,
        state_reason=handover.state_reason,
        referrals=referrals,
        notice=notice,
        readiness=_readiness(notice, pack, referrals, now, rules),
    )


def _readiness(
    notice: ReleaseNoticeV1, pack: HandoverPack, referrals: list[Referral], now: datetime, rules: ReadinessRules
) -> ReleaseReadiness:
    return readiness_of(
        notice, pack, referrals, now=now, at_risk_hours=rules.at_risk_hours, registration_days=rules.registration_days
    )


async def get_handover(
    *, uow: HandoverUnitOfWork, handover_id: str, now: datetime, rules: ReadinessRules
) -> HandoverView | None:
    async with uow:
        handover = await uow.handovers.get(handover_id)
        return None if handover is None else await _view(uow, handover, now, rules)


async def find_handovers(
    *, uow: HandoverUnitOfWork, notice_id: str, now: datetime, rules: ReadinessRules
) -> list[HandoverView]:
    async with uow:
        return [await _view(uow, h, now, rules) for h in await uow.handovers.all_of_notice(notice_id)]


async def custody_log(*, uow: HandoverUnitOfWork, prison_number: str) -> tuple[set[str], list[CustodyEventRecord]]:
    """The establishments the person's handovers were at (who may read the log), and the log."""
    async with uow:
        held_at = await uow.handovers.establishments_of_person(prison_number)
        return held_at, await uow.custody.of_person(prison_number)


@dataclass(frozen=True)
class WorkItem:
    referral: Referral
    handover: Handover
    sent: dict[str, Any]  # what the agency was last sent: only its sections


async def worklist(*, uow: HandoverUnitOfWork, agency_code: str) -> list[WorkItem]:
    """Referrals addressed to the agency still to act on, soonest release first; with only its sections."""
    async with uow:
        rows = await uow.referrals.worklist(agency_code)
    return [
        WorkItem(referral, handover, json.loads(referral.sections) if referral.sections else {})
        for referral, handover in rows
    ]


@dataclass(frozen=True)
class Departure:
    handover: Handover
    pack: HandoverPack
    referrals: list[Referral]
    readiness: ReleaseReadiness


@dataclass(frozen=True)
class LoungePage:
    """One page of the departure lounge; ``after`` is the key of its last release when there are more."""

    departures: list[Departure]
    after: tuple[date, str, str] | None


PRISON_NUMBER_START = re.compile(r"^[A-Za-z]\d{0,4}[A-Za-z]{0,2}$")


def lounge_query(
    *,
    establishment_code: str,
    state: HandoverState,
    start: date,
    end: date,
    limit: int,
    after: tuple[date, str, str] | None,
    search: str | None,
) -> LoungeQuery:
    """``search`` matches the start of a prison number, or words of the person's name."""
    number = search.strip().upper() if search and PRISON_NUMBER_START.match(search.strip()) else None
    words = tuple(search.casefold().split()) if search and number is None else ()
    return LoungeQuery(establishment_code, state, start, end, limit, after, number, words)


def _named(words: tuple[str, ...]) -> Callable[[Handover], bool]:
    def check(handover: Handover) -> bool:
        """Every word of the search is in the person's given or family name (any case)."""
        notice = json.loads(handover.notice)
        name = f"{notice.get('given_name', '')} {notice.get('family_name', '')}".casefold()
        return all(word in name for word in words)

    return check


async def departures(
    *, uow: HandoverUnitOfWork, wanted: LoungeQuery, now: datetime, rules: ReadinessRules
) -> LoungePage:
    """Releases of an establishment in a window, by date then prison number, a page at a time (keyset paging,
    so a page costs the same wherever it is), each with its readiness as of ``now``."""
    async with uow:
        chosen, more = await uow.handovers.lounge(wanted, _named(wanted.name_words))
        ids = [handover.id for handover in chosen]
        versions = await uow.handovers.versions(ids)
        referrals = await uow.referrals.of_handovers(ids)
    found = []
    for handover in chosen:
        pack = HandoverPack.model_validate_json(versions[(handover.id, handover.current_version)].pack)
        notice = ReleaseNoticeV1.model_validate_json(handover.notice)
        mine = referrals[handover.id]
        found.append(Departure(handover, pack, mine, _readiness(notice, pack, mine, now, rules)))
    last = chosen[-1] if chosen and more else None
    return LoungePage(found, (last.release_date, last.prison_number, last.id) if last else None)


async def directory_entries(*, uow: HandoverUnitOfWork) -> list[DirectoryEntry]:
    async with uow:
        return [entry_of(row) for row in await uow.directory.all()]


async def directory_entry(*, uow: HandoverUnitOfWork, code: str) -> DirectoryEntry | None:
    async with uow:
        row = await uow.directory.get(code)
    return None if row is None else entry_of(row)
