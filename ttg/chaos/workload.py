"""The load of one chaos run, as the real callers make it: prison healthcare POSTs release notices (each with
its Idempotency-Key, retried with the same key while intake is down) and custody events (release-date changes,
transfers) about people already notified; the agencies answer the referrals that reached them.

Everything random comes from the run's seeded ``random.Random``; the people are synthetic (``ttg/synthetic.py``)
with a made-up family name unique to the run, so that a scan of the logs can tell one person's data apart.
"""

from __future__ import annotations

import random
import string
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from ttg.chaos.calls import GaveUp, call
from ttg.chaos.plan import answers
from ttg.chaos.receiver import Arrival
from ttg.synthetic import PLACES, prison_number, release_notice

PLACE_NAMES = sorted(PLACES)
ESTABLISHMENTS = ("DMI", "HHI", "BMI")


@dataclass
class Person:
    """One synthetic person and what the workload told the system about them."""

    notice: dict[str, Any]
    idempotency_key: str
    establishment: str
    notice_id: str | None = None
    sequence: int = 0
    custody_events: list[str] = field(default_factory=list)  # custody_event_id of each accepted event
    lock: threading.Lock = field(default_factory=threading.Lock)

    def identifiers(self) -> list[str]:
        """What would identify the person in a log line."""
        notice = self.notice
        found = [notice["nhs_number"], notice["prison_number"], notice["family_name"], notice["date_of_birth"]]
        if notice["release"]["destination"]["kind"] == "address":
            found.append(notice["release"]["destination"]["address"]["postcode"])
        return found


@dataclass(frozen=True)
class AnswerGiven:
    referral_id: str
    agency_code: str
    answer: str
    status: int  # 201 applied, 200 a replay of the same answer, 409 refused by the referral's state


@dataclass
class Load:
    """What the workload did; read by the invariants."""

    people: list[Person] = field(default_factory=list)
    answers: list[AnswerGiven] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # unexpected 4xx: what, status

    @property
    def accepted(self) -> list[Person]:
        return [p for p in self.people if p.notice_id]


class Workload:
    def __init__(
        self,
        *,
        rng: random.Random,
        urls: Callable[[str], list[str]],
        keys: dict[str, str],
        arrivals: Callable[[], list[Arrival]],
        notices: int,
        workers: int = 4,
    ) -> None:
        self.rng, self.urls, self.keys, self.arrivals = rng, urls, keys, arrivals
        self.notices, self.workers = notices, workers
        self.load = Load()
        self._lock = threading.Lock()
        self._answered: set[str] = set()
        self._prison_numbers: set[str] = set()
        self._late_answers = 0
        self._stopped = threading.Event()
        self._http = httpx.Client(timeout=20.0, limits=httpx.Limits(max_connections=workers * 2))

    def run(self) -> Load:
        """Submit every notice (custody events and answers in between), then the agencies answer ``answers``
        more referrals as they arrive; returns when every call was answered."""
        people = [self._person(n) for n in range(self.notices)]
        steps = [(person, self.rng.getrandbits(32)) for person in people]
        seeds = [self.rng.getrandbits(32) for _ in range(answers(self.notices))]
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="chaos-load")
        try:
            list(pool.map(lambda step: self._step(*step), steps))
            list(pool.map(self._late_answer, seeds))
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or failed: no new call starts; the calls in flight end on their own.
            self._stopped.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        self._http.close()
        return self.load

    @property
    def progress(self) -> int:
        """Steps done: notices accepted and answers given (the fault plan's clock)."""
        with self._lock:
            return len(self.load.accepted) + self._late_answers

    def _person(self, n: int) -> Person:
        """A new person. Their prison number is unique in the run: drawn again when an earlier person has it
        (about one run in a hundred of 2,000 notices drew a number twice, and the system rightly refused the
        second person's notice as held at another establishment, which the run then counted as a violation)."""
        place = self.rng.choice(PLACE_NAMES)
        notice = release_notice(self.rng, place=place, release_in_days=self.rng.randint(10, 40))
        while notice["prison_number"] in self._prison_numbers:
            notice["prison_number"] = prison_number(self.rng)
        self._prison_numbers.add(notice["prison_number"])
        notice["family_name"] = "Chaos" + "".join(self.rng.choice(string.ascii_lowercase) for _ in range(8))
        key = str(uuid.UUID(int=self.rng.getrandbits(128)))
        person = Person(notice=notice, idempotency_key=key, establishment=notice["establishment_code"])
        self.load.people.append(person)
        return person

    def _step(self, person: Person, seed: int) -> None:
        rng = random.Random(seed)  # each step its own generator: threads do not race on the run's
        if self._stopped.is_set():
            return
        try:
            self._submit(person)
            if rng.random() < 0.3:
                self._custody_event(rng)
            if rng.random() < 0.5:
                self._answer(rng)
        except GaveUp as error:
            with self._lock:
                self.load.gave_up.append(str(error))

    def _post(self, service: str, client: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.keys[client]}", **headers}
        return call(self._http, "POST", self.urls(service), path, json=body, headers=auth, stopped=self._stopped)

    def _submit(self, person: Person) -> None:
        answer = self._post(
            "release_events",
            "chaos-prison",
            "/v1/release-notices",
            person.notice,
            **{"Idempotency-Key": person.idempotency_key},
        )
        if answer.status_code != 202:
            self._refused("notice", answer)
            return
        with self._lock:
            person.notice_id = answer.json()["notice_id"]

    def _custody_event(self, rng: random.Random) -> None:
        with self._lock:
            candidates = self.load.accepted
        if not candidates:
            return
        person = rng.choice(candidates)
        with person.lock:  # one event at a time per person, in sequence order, as one prison system sends them
            person.sequence += 1
            event = self._event(rng, person)
            answer = self._post("release_events", "chaos-prison", "/v1/custody-events", event)
            if answer.status_code == 202:
                person.custody_events.append(answer.json()["custody_event_id"])
                person.establishment = event["establishment_code"]
            else:
                self._refused("custody event", answer)

    def _event(self, rng: random.Random, person: Person) -> dict[str, Any]:
        base = {
            "prison_number": person.notice["prison_number"],
            "sequence": person.sequence,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        if rng.random() < 0.25:
            moved_to = rng.choice([code for code in ESTABLISHMENTS if code != person.establishment])
            return base | {
                "kind": "transfer",
                "establishment_code": moved_to,
                "from_establishment_code": person.establishment,
            }
        new_day = date.today() + timedelta(days=rng.randint(5, 45))
        return base | {
            "kind": "release_date_changed",
            "establishment_code": person.establishment,
            "release_date": new_day.isoformat(),
        }

    def _late_answer(self, seed: int) -> None:
        """One answer once a referral is there to answer (they arrive as the system catches up)."""
        rng = random.Random(seed)
        deadline = time.monotonic() + 60
        try:
            while not self._stopped.is_set() and not self._answer(rng) and time.monotonic() < deadline:
                time.sleep(0.2)  # waiting for a referral to reach an agency, within the deadline
        except GaveUp as error:
            with self._lock:
                self.load.gave_up.append(str(error))
        with self._lock:
            self._late_answers += 1

    def _answer(self, rng: random.Random) -> bool:
        """Answer one referral that reached its agency and was not answered yet; False when there is none."""
        with self._lock:
            open_referrals = {
                a.referral_id: a
                for a in self.arrivals()
                if a.referral_id and a.type == "handover.pack.issued" and a.referral_id not in self._answered
            }
            if not open_referrals:
                return False
            arrival = open_referrals[rng.choice(sorted(open_referrals))]
            self._answered.add(str(arrival.referral_id))
        answer = "accepted" if arrival.referral_kind == "gp_registration" else "received"
        client = f"chaos-agency-{arrival.agency_code}"
        path = f"/v1/agencies/{arrival.agency_code}/referrals/{arrival.referral_id}/answers"
        response = self._post("handover", client, path, {"answer": answer})
        if response.status_code not in (200, 201, 409):
            self._refused("answer", response)
        with self._lock:
            given = AnswerGiven(str(arrival.referral_id), arrival.agency_code, answer, response.status_code)
            self.load.answers.append(given)
        return True

    def _refused(self, what: str, answer: httpx.Response) -> None:
        problem = answer.json().get("type", "") if answer.headers.get("content-type", "").endswith("json") else ""
        with self._lock:
            self.load.refused.append(f"{what}: HTTP {answer.status_code} {problem}".strip())
