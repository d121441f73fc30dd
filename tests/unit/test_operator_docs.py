"""Operator documents generated from code stay current."""

from __future__ import annotations

from ttg.config_reference import REFERENCE, render


def test_configuration_reference_is_current() -> None:
    assert REFERENCE.read_text() == render(), "run: ./run config-reference"


def test_every_setting_is_explained() -> None:
    rows = [line for line in render().splitlines() if line.startswith("| `TTG_")]
    assert rows and all(not line.rstrip().endswith("|  |") for line in rows)
