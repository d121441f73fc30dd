"""A chaos run's synthetic people are distinct people: no two share a prison number (the system rightly refuses
a second person's notice under a prison number held at another establishment, and the run counted that as a
violation of its own making)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ttg.chaos import workload as workload_module
from ttg.chaos.workload import Workload
from ttg.synthetic import release_notice

SEED = 8610731508769751786  # the chaos run whose people drew I3203UT twice


def test_people_of_a_run_never_share_a_prison_number(monkeypatch: pytest.MonkeyPatch) -> None:
    print(f"seed {SEED}")

    def always_the_same_number(rng: random.Random, **kwargs: Any) -> dict[str, Any]:
        notice = release_notice(rng, **kwargs)
        notice["prison_number"] = "I3203UT"
        return notice

    monkeypatch.setattr(workload_module, "release_notice", always_the_same_number)
    load = Workload(rng=random.Random(SEED), urls=lambda service: [], keys={}, arrivals=list, notices=50)
    people = [load._person(n) for n in range(50)]
    numbers = [person.notice["prison_number"] for person in people]
    assert numbers[0] == "I3203UT"
    assert len(set(numbers)) == 50
