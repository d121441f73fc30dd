"""The benchmark's view of the receiver process: what arrived (fetched incrementally), waiting until every notice
of a phase has reached all its agencies, and switching endpoints between answering, hanging and failing."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

PACK_ISSUED = "handover.pack.issued"


class PhaseIncomplete(Exception):
    """A phase could not complete (the only reason a benchmark run fails: never a timing)."""


@dataclass(frozen=True)
class Arrival:
    at: float  # monotonic seconds
    agency_code: str
    type: str
    person: str


class Arrivals:
    def __init__(self, receiver_url: str) -> None:
        self.url = receiver_url
        self.seen: list[Arrival] = []
        self._next = 0

    def refresh(self) -> list[Arrival]:
        answer = httpx.get(f"{self.url}/arrivals", params={"since": self._next}, timeout=30.0).json()
        self.seen += [
            Arrival(float(t), str(code), str(kind), str(person)) for t, code, kind, person in answer["arrivals"]
        ]
        self._next = int(answer["next"])
        return self.seen

    def set_modes(self, modes: dict[str, str]) -> None:
        httpx.post(f"{self.url}/modes", json=modes, timeout=10.0).raise_for_status()

    def packs_of(self, people: Iterable[str]) -> dict[str, list[Arrival]]:
        """Pack webhooks that arrived for ``people``, by person."""
        wanted = set(people)
        found: dict[str, list[Arrival]] = {}
        for arrival in self.seen:
            if arrival.type == PACK_ISSUED and arrival.person in wanted:
                found.setdefault(arrival.person, []).append(arrival)
        return found

    def wait_all_notified(self, expected: dict[str, frozenset[str]], *, timeout: float) -> dict[str, list[Arrival]]:
        """Poll until each person's pack reached every agency ``expected`` names for them; raise
        ``PhaseIncomplete`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            found = self.packs_of(expected)
            missing = [p for p, codes in expected.items() if not codes <= {a.agency_code for a in found.get(p, [])}]
            if not missing:
                return found
            if time.monotonic() > deadline:
                raise PhaseIncomplete(
                    f"{len(missing)} of {len(expected)} notices not fully delivered within {timeout:.0f} s"
                )
            time.sleep(0.5)  # polling the receiver's record until the deadline
