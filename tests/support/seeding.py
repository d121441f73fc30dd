"""Random synthetic data that a failing run can replay.

Every generator gets its own seed, derived from one seed for the whole run (``TTG_TEST_SEED`` when set, else
drawn afresh, so runs keep trying new people) and from the test it serves, so two tests never share people.
Each seed is printed, and pytest shows it with a failing test's output: ``TTG_TEST_SEED=<run seed>`` replays it.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
from collections import Counter

RUN_SEED = int(os.environ.get("TTG_TEST_SEED") or secrets.randbelow(2**63))
_drawn: Counter[str] = Counter()


def seeded_rng() -> random.Random:
    """A generator for the current test (or module, outside a test), seeded from the run seed and printed."""
    where = os.environ.get("PYTEST_CURRENT_TEST", "outside a test").rsplit(" (", 1)[0]
    _drawn[where] += 1
    material = f"{RUN_SEED}:{where}:{_drawn[where]}".encode()
    seed = int.from_bytes(hashlib.sha256(material).digest()[:8], "big")
    print(f"random seed {seed} for {where} (#{_drawn[where]}; replay with TTG_TEST_SEED={RUN_SEED})")
    return random.Random(seed)
