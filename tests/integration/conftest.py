"""Fixtures the messaging integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ttg.broker import EmbeddedBroker


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded broker per test module (each test makes topics of its own, with the partitions it needs)."""
    with EmbeddedBroker(partitions=3) as running:
        yield running
