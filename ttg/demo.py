"""The demo journey: submit a synthetic release notice, then show the pack and every delivery."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from ttg.synthetic import release_notice

T = TypeVar("T")


def poll(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``probe`` until it returns something, or fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run_demo(
    *,
    release_events_url: str,
    handover_url: str,
    notifier_url: str,
    api_key: str,
    place: str = "durham",
    timeout: float = 60.0,
    echo: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """The journey as prison healthcare sees it; ``api_key`` is a prison healthcare credential."""
    auth = {"Authorization": f"Bearer {api_key}"}
    notice = release_notice(place=place)
    response = httpx.post(
        f"{release_events_url}/v1/release-notices",
        json=notice,
        headers={"Idempotency-Key": str(uuid.uuid4()), **auth},
    )
    response.raise_for_status()
    notice_id = response.json()["notice_id"]
    echo(f"1. Prison healthcare submitted a release notice: {response.status_code}, notice {notice_id}")

    def handover() -> dict[str, Any] | None:
        found = httpx.get(f"{handover_url}/v1/handovers", params={"notice_id": notice_id}, headers=auth).json()
        return found[0] if found else None

    pack = poll(handover, timeout=timeout, what="the handover pack")
    echo(f"2. Handover pack v{pack['version']} built: {pack['handover_id']}")
    echo(json.dumps(pack["pack"], indent=2))

    def deliveries() -> list[dict[str, Any]] | None:
        found = httpx.get(
            f"{notifier_url}/v1/deliveries", params={"handover_id": pack["handover_id"]}, headers=auth
        ).json()
        return found if found and all(item["status"] != "pending" for item in found) else None

    done = poll(deliveries, timeout=timeout, what="the deliveries to finish")
    echo("3. Deliveries:")
    for item in done:
        echo(
            f"   {item['agency_code']:<16} {item['status']:<10} attempts={item['attempt_count']} "
            f"webhook-id={item['webhook_id']}"
        )
    return {"notice_id": notice_id, "handover": pack, "deliveries": done}
