"""Gathers what the invariants check from the running system: each service's database (read only), the
receiver's record of verified arrivals, the workload's record of what callers were told, and the logs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common import audit_verify
from services.common.db import sync_url
from services.common.topics import HANDOVER_EVENTS
from ttg.chaos.invariants import DeliveryRow, Expected, Observed, log_leaks
from ttg.chaos.receiver import Arrival
from ttg.chaos.workload import Load
from ttg.stack import SERVICES


class Databases:
    """One engine per service database, opened without a pool so that a database restart costs nothing here."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.engines = {name: sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool) for name, url in urls.items()}

    def rows(self, service: str, query: str) -> list[tuple[Any, ...]]:
        with self.engines[service].connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]

    def audit_chain(self, service: str) -> str:
        with self.engines[service].connect() as connection:
            verdict = audit_verify.verify_connection(connection)
        return "" if verdict.intact else verdict.describe()

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


def expected_entries(db: Databases) -> list[Expected]:
    """Every distribution entry of every handover event handover has written to its outbox."""
    found = []
    for event_id, payload in db.rows(
        "handover", f"SELECT event_id, payload FROM outbox WHERE topic = '{HANDOVER_EVENTS}'"
    ):
        data = json.loads(str(payload)).get("data") or {}
        for entry in data.get("distribution") or []:
            found.append(
                Expected(
                    event_id=str(event_id),
                    handover_id=str(entry["handover_id"]),
                    version=int(entry["version"]),
                    agency_code=str(entry["agency_code"]),
                    message=str(entry.get("message")),
                    referral_id=entry.get("referral_id"),
                )
            )
    return found


def observe(
    db: Databases, load: Load, arrivals: list[Arrival], unverified: int, *, audit_chains: bool = True
) -> Observed:
    """What the invariants check. Walking the audit chains hashes every record of every service: the drain's
    polling leaves it out (``audit_chains=False``) so as not to compete with the system it waits for, and the
    last observation includes it."""
    by_notice: dict[str, list[str]] = {}
    for handover_id, notice_id in db.rows("handover", "SELECT id, notice_id FROM handover"):
        by_notice.setdefault(str(notice_id), []).append(str(handover_id))
    deliveries = [
        DeliveryRow(str(w), str(s), str(a), str(st))
        for w, s, a, st in db.rows("notifier", "SELECT webhook_id, source_event_id, agency_code, status FROM delivery")
    ]
    stored = Counter(
        {
            (str(r), str(a)): int(n)
            for r, a, n in db.rows(
                "handover", "SELECT referral_id, answer, count(*) FROM referral_answer GROUP BY referral_id, answer"
            )
        }
    )
    audited = Counter(
        {
            str(r): int(n)
            for r, n in db.rows(
                "handover",
                "SELECT resource_id, count(*) FROM audit_record"
                " WHERE action = 'referral.answered' GROUP BY resource_id",
            )
        }
    )
    logged = Counter(
        {
            str(c): int(n)
            for c, n in db.rows(
                "handover", "SELECT custody_event_id, count(*) FROM custody_event_log GROUP BY custody_event_id"
            )
        }
    )
    return Observed(
        accepted_notices=[str(p.notice_id) for p in load.accepted],
        handovers_by_notice=by_notice,
        expected=expected_entries(db),
        deliveries=deliveries,
        arrivals=arrivals,
        answers_given=[(a.referral_id, a.answer, a.status) for a in load.answers],
        answers_stored=stored,
        answers_audited=audited,
        custody_events_accepted=[c for p in load.people for c in p.custody_events],
        custody_events_logged=logged,
        audit_chains={service: db.audit_chain(service) for service in SERVICES} if audit_chains else {},
        dead_letters=[d.webhook_id for d in deliveries if d.status in ("failed", "dead_lettered")],
        log_leaks={},
        unverified_signatures=unverified,
        workload_problems=load.gave_up + load.refused,
    )


def scan_logs(logs: list[Path], load: Load) -> dict[str, int]:
    """Lines of each process's log that name a synthetic person of the run (names, NHS number, date of birth,
    prison number, postcode)."""
    identifiers = [i for person in load.people for i in person.identifiers()]
    found = {}
    for path in logs:
        with path.open(errors="replace") as lines:
            found[path.stem] = log_leaks(lines, identifiers)
    return found
