"""Test data generators: distinct per call, the same again for the same run seed, their seed printed."""

from __future__ import annotations

import pytest

from tests.support import seeding


def test_each_generator_differs_and_a_run_seed_replays_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(seeding, "RUN_SEED", 12345)
    monkeypatch.setattr(seeding, "_drawn", type(seeding._drawn)())
    first, second = seeding.seeded_rng().random(), seeding.seeded_rng().random()
    assert first != second
    printed = capsys.readouterr().out
    assert printed.count("replay with TTG_TEST_SEED=12345") == 2
    assert "test_each_generator_differs_and_a_run_seed_replays_them" in printed

    monkeypatch.setattr(seeding, "_drawn", type(seeding._drawn)())
    assert [seeding.seeded_rng().random(), seeding.seeded_rng().random()] == [first, second]
