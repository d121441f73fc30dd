"""The notifier's unit tests use directories whose webhooks point at local http receivers."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _local_webhook_targets_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_HTTP", "true")
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
