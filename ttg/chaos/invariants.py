"""What must hold after a chaos run drains, as pure checks over what was observed (``observe.py`` gathers it).

Each violation names its invariant and a pseudonymous id (notice id, handover id, webhook-id, referral id,
custody event id), never a person. Repeats under the same webhook-id are at-least-once delivery working as
documented: counted and reported, not a violation.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ttg.chaos.receiver import Arrival


@dataclass(frozen=True)
class Expected:
    """One distribution entry of a handover event (from handover's retained outbox): one agency's message."""

    event_id: str
    handover_id: str
    version: int
    agency_code: str
    message: str
    referral_id: str | None


@dataclass(frozen=True)
class DeliveryRow:
    webhook_id: str
    source_event_id: str
    agency_code: str
    status: str


@dataclass
class Observed:
    """Everything the checks need, gathered after the run drained."""

    accepted_notices: list[str]
    handovers_by_notice: dict[str, list[str]]
    expected: list[Expected]
    deliveries: list[DeliveryRow]
    arrivals: list[Arrival]
    answers_given: list[tuple[str, str, int]]  # referral id, answer, HTTP status the agency finally got
    answers_stored: Counter[tuple[str, str]]  # (referral id, answer) -> rows in handover's referral_answer
    answers_audited: Counter[str]  # referral id -> referral.answered audit records
    custody_events_accepted: list[str]
    custody_events_logged: Counter[str]  # custody_event_id -> rows in handover's custody log
    audit_chains: dict[str, str]  # service -> "" when intact, else the verdict's description
    dead_letters: list[str]
    log_leaks: dict[str, int]  # process -> lines naming a synthetic person
    unverified_signatures: int = 0
    workload_problems: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    counts: dict[str, int] = field(default_factory=dict)
    violations: list[tuple[str, str]] = field(default_factory=list)  # (invariant, pseudonymous id or detail)

    @property
    def clean(self) -> bool:
        return not self.violations

    def fail(self, invariant: str, found: Iterable[str]) -> None:
        self.violations.extend((invariant, item) for item in found)


def check(seen: Observed) -> Verdict:
    verdict = Verdict()
    packs = _packs(seen, verdict)
    _deliveries(seen, verdict)
    _order(seen.arrivals, verdict)
    _answers(seen, verdict)
    _custody(seen, verdict)
    verdict.fail("audit chain broken", [f"{service}: {why}" for service, why in seen.audit_chains.items() if why])
    verdict.fail("dead letter", seen.dead_letters)
    verdict.fail("personal data in a log", [f"{name}: {n} lines" for name, n in seen.log_leaks.items() if n])
    if seen.unverified_signatures:
        verdict.fail("signature did not verify", [f"{seen.unverified_signatures} requests"])
    verdict.fail("caller could not complete", seen.workload_problems)
    verdict.counts.update(
        accepted=len(seen.accepted_notices),
        packs=packs,
        deliveries=len(seen.deliveries),
        dead_letters=len(seen.dead_letters),
        answers=sum(1 for _, _, status in seen.answers_given if status in (200, 201)),
        custody_events=len(seen.custody_events_accepted),
    )
    return verdict


def _packs(seen: Observed, verdict: Verdict) -> int:
    """Every accepted notice has exactly one handover."""
    verdict.fail("notice without its pack", [n for n in seen.accepted_notices if not seen.handovers_by_notice.get(n)])
    verdict.fail(
        "notice with two handovers", [n for n in seen.accepted_notices if len(seen.handovers_by_notice.get(n, [])) > 1]
    )
    return sum(1 for n in seen.accepted_notices if seen.handovers_by_notice.get(n))


def _deliveries(seen: Observed, verdict: Verdict) -> None:
    """Every distribution entry has a delivery, delivered, whose webhook-id reached the agency; one message per
    entry (a second webhook-id for the same entry is a message sent twice)."""
    rows = {(row.source_event_id, row.agency_code): row for row in seen.deliveries}
    received = Counter(a.webhook_id for a in seen.arrivals)
    lost = []
    for entry in seen.expected:
        row = rows.get((entry.event_id, entry.agency_code))
        if row is None or row.status != "delivered" or not received[row.webhook_id]:
            lost.append(f"handover {entry.handover_id} v{entry.version} {entry.message} to {entry.agency_code}")
    verdict.fail("distribution entry did not reach its agency", lost)
    verdict.fail("delivery not delivered", [r.webhook_id for r in seen.deliveries if r.status != "delivered"])
    same_entry = Counter((e.handover_id, e.version, e.message, e.agency_code, e.referral_id) for e in seen.expected)
    verdict.fail(
        "handover event applied twice",
        [f"handover {k[0]} v{k[1]} {k[2]} to {k[3]}" for k, n in same_entry.items() if n > 1],
    )
    per_message = defaultdict(set)
    for a in seen.arrivals:
        per_message[(a.agency_code, a.type, a.handover_id, a.version, a.referral_id)].add(a.webhook_id)
    twice = [
        f"{k[0]} got {k[1]} v{k[3]} of handover {k[2]} as {len(ids)} messages"
        for k, ids in per_message.items()
        if len(ids) > 1
    ]
    verdict.fail("message sent twice under different webhook-ids", twice)
    verdict.counts["repeats_same_id"] = sum(n - 1 for n in received.values())
    verdict.counts["sent_twice"] = len(twice)
    verdict.counts["lost"] = len(lost)


def order_violations(arrivals: list[Arrival]) -> list[str]:
    """Per endpoint and handover, the versions in the order their messages first arrived never go back."""
    first: dict[str, Arrival] = {}
    for arrival in sorted(arrivals, key=lambda a: a.order):
        first.setdefault(arrival.webhook_id, arrival)
    last: dict[tuple[str, str], Arrival] = {}
    found = []
    for arrival in sorted(first.values(), key=lambda a: a.order):
        key = (arrival.agency_code, arrival.handover_id)
        before = last.get(key)
        if before is not None and arrival.version < before.version:
            found.append(f"{arrival.webhook_id} (v{arrival.version} after v{before.version} at {arrival.agency_code})")
        if before is None or arrival.version >= before.version:
            last[key] = arrival
    return found


def _order(arrivals: list[Arrival], verdict: Verdict) -> None:
    found = order_violations(arrivals)
    verdict.fail("per-person order broken", found)
    verdict.counts["order_violations"] = len(found)


def _answers(seen: Observed, verdict: Verdict) -> None:
    """An answer the agency was told was applied (201, or 200 for its replay) is stored once and audited once."""
    applied = {(referral, answer) for referral, answer, status in seen.answers_given if status in (200, 201)}
    twice = [f"referral {r} ({a})" for (r, a), n in seen.answers_stored.items() if n > 1]
    missing = [f"referral {r} ({a})" for r, a in sorted(applied) if seen.answers_stored[(r, a)] == 0]
    unasked = [f"referral {r} ({a})" for (r, a), n in seen.answers_stored.items() if n and (r, a) not in applied]
    audited: Counter[str] = Counter()
    for (referral, _), n in seen.answers_stored.items():
        audited[referral] += n
    misaudited = [
        f"referral {r}" for r in set(audited) | set(seen.answers_audited) if audited[r] != seen.answers_audited[r]
    ]
    verdict.fail("answer applied twice", twice)
    verdict.fail("answer lost", missing)
    verdict.fail("answer stored that no agency gave", unasked)
    verdict.fail("answer audited other than once", misaudited)
    verdict.counts["answers_applied_twice"] = len(twice)


def _custody(seen: Observed, verdict: Verdict) -> None:
    """Every accepted custody event reached handover's log exactly once."""
    missing = [c for c in seen.custody_events_accepted if seen.custody_events_logged[c] == 0]
    twice = [c for c, n in seen.custody_events_logged.items() if n > 1]
    verdict.fail("custody event lost", missing)
    verdict.fail("custody event applied twice", twice)


# The shapes a person's identifiers take in text: a date, a postcode, or a word or number (an NHS number, a
# prison number, a name). Splitting each line into these is what lets a scan of a large log look up thousands of
# identifiers at once.
_TOKENS = re.compile(r"\d{4}-\d{2}-\d{2}|[A-Z]{1,2}\d{1,2}[A-Z]? \d[A-Z]{2}|[A-Za-z0-9]+")


def log_leaks(lines: Iterable[str], identifiers: Iterable[str]) -> int:
    """How many log lines contain any of ``identifiers`` (as a whole token: a date, a postcode, a word)."""
    wanted = {i for i in identifiers if i}
    return sum(1 for line in lines if not wanted.isdisjoint(_TOKENS.findall(line)))
