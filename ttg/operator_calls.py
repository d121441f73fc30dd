"""How the operator commands (``ttg dead-letters``, ``ttg endpoints``, ``ttg outbox``, ``ttg report``) call the
services: with an operator's API key, saying which key was used when a service refuses it (never its secret),
and turning a problem+json answer into one line on stderr and an exit status (2: unreachable, 1: refused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer

DEMO_KEYS = Path("var") / "demo-api-keys.json"

ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="TTG_OPERATOR_API_KEY",
        help="An operator's API key (ttg_...); default: the demo operator's key that `ttg up` wrote",
        show_default=False,
    ),
]


def operator_key(given: str | None) -> tuple[str | None, str]:
    """The key to send and where it came from: ``--api-key``/``TTG_OPERATOR_API_KEY``, else the demo operator's."""
    if given:
        return given, "--api-key (or TTG_OPERATOR_API_KEY)"
    if DEMO_KEYS.exists():
        key = json.loads(DEMO_KEYS.read_text()).get("demo-operator")
        if key:
            return key, f"the demo operator's key in {DEMO_KEYS}"
    return None, "no API key"


def describe_key(key: str | None, source: str) -> str:
    """Which key was used, without its secret: the source and the key id (``ttg_<key id>_...``)."""
    if not key:
        return "no API key was sent: give --api-key or set TTG_OPERATOR_API_KEY"
    parts = key.split("_")
    key_id = f"ttg_{parts[1]}_..." if len(parts) >= 3 and parts[0] == "ttg" else "a key not shaped ttg_<id>_<secret>"
    return f"used {key_id} from {source}"


def call_as_operator(
    method: str, url: str, *, service: str, api_key: str | None, timeout: float = 30.0, **kwargs: object
) -> httpx.Response:
    """The service's answer when it is a success; otherwise say why on stderr and exit (``service`` names the
    service in those lines, e.g. "the notifier" or "handover at http://...")."""
    key, source = operator_key(api_key)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.request(method, url, headers=headers, timeout=timeout, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as error:
        typer.echo(f"Could not reach {service}: {error}", err=True)
        raise typer.Exit(2) from error
    if response.status_code >= 400:
        problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
        named = service[:1].upper() + service[1:]
        typer.echo(f"{named}: {problem.get('title', 'Error')}: {problem.get('detail', response.text[:500])}", err=True)
        if response.status_code in (401, 403):
            typer.echo(f"{named} refused the key: {describe_key(key, source)}.", err=True)
        raise typer.Exit(1)
    return response
