"""HTTP calls as a real caller makes them while services die under it: the same request (same Idempotency-Key,
same body) again after a connection error, a 5xx or a 429, until an answer or a deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

RETRYABLE = {429, 500, 502, 503, 504}


class GaveUp(RuntimeError):
    """No answer other than a retryable one within the deadline: the harness reports it as a violation."""


def call(
    client: httpx.Client,
    method: str,
    bases: list[str],
    path: str,
    *,
    json: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    deadline_seconds: float = 120.0,
    stopped: threading.Event | None = None,
) -> httpx.Response:
    """``method path`` until a non-retryable answer; waits Retry-After (else a short pause) between tries. With
    two replicas (``bases``: one URL each) the tries go round them, as behind a load balancer. Once ``stopped``
    is set (the session was interrupted) no further try is made."""
    deadline = time.monotonic() + deadline_seconds
    attempt = 0
    while True:
        pause = 0.25
        base = bases[attempt % len(bases)]
        attempt += 1
        try:
            response = client.request(method, base + path, json=json, headers=headers)
            if response.status_code not in RETRYABLE:
                return response
            pause = _retry_after(response) or pause
            why = f"HTTP {response.status_code}"
        except httpx.TransportError as error:
            why = type(error).__name__
        if stopped is not None and stopped.is_set():
            raise GaveUp(f"{method} {path.split('?')[0]}: interrupted")
        if time.monotonic() + pause > deadline:
            raise GaveUp(f"{method} {path.split('?')[0]}: still {why} after {deadline_seconds}s")
        time.sleep(pause)  # a caller's back-off between tries of the same request, not test synchronisation


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(5.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
