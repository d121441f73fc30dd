"""The hazard log stays honest: at least 15 hazards, every field present, every named test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
FIELDS = ("Cause", "Effect", "Severity", "Likelihood", "Risk rating", "Control", "Test")


def hazards() -> dict[str, str]:
    sections = re.split(r"^## (?=H\d+)", LOG.read_text(), flags=re.MULTILINE)[1:]
    return {section.split(":", 1)[0]: section for section in sections}


def test_there_are_at_least_fifteen_hazards_each_with_every_field() -> None:
    found = hazards()
    assert len(found) >= 15
    for hazard_id, text in found.items():
        for name in FIELDS:
            assert re.search(rf"^- \*\*{name}\*\*: \S", text, re.MULTILINE), f"{hazard_id} has no {name}"


def test_every_test_named_by_a_hazard_exists() -> None:
    for hazard_id, text in hazards().items():
        line = next(line for line in text.splitlines() if line.startswith("- **Test**"))
        ids = re.findall(r"`([^`]+::[^`]+)`", line)
        assert ids, f"{hazard_id} names no test"
        for test_id in ids:
            path, _, name = test_id.partition("::")
            source = ROOT / path
            assert source.exists(), f"{hazard_id}: {path} does not exist"
            assert re.search(rf"^(async )?def {re.escape(name)}\(", source.read_text(), re.MULTILINE), (
                f"{hazard_id}: {test_id} does not exist"
            )
