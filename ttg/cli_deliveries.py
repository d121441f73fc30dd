"""``ttg dead-letters`` and ``ttg endpoints``: what operators do when deliveries go wrong, over the notifier's API.

    ttg dead-letters list [--agency CODE] [--since TIME]
    ttg dead-letters replay WEBHOOK_ID
    ttg dead-letters replay --agency CODE [--since TIME]
    ttg endpoints list
    ttg endpoints resume CODE [--resend]   (also enables an endpoint disabled by 410 Gone; lists, or with
                                           --resend sends again, what failed or was dead-lettered)
    ttg endpoints pause CODE

They need an operator's API key: ``--api-key ttg_...`` (or ``TTG_OPERATOR_API_KEY``), or, next to ``ttg up``,
the demo operator's key from ``var/demo-api-keys.json``. When the notifier refuses the key (401, 403) the
command says which key it used (where it came from and its key id, never the secret).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from ttg.operator_calls import ApiKey, call_as_operator

dead_letters_app = typer.Typer(
    help="Deliveries that failed for good or whose retry schedule was spent: list and replay", no_args_is_help=True
)
endpoints_app = typer.Typer(help="Agency endpoints: state, pause, resume", no_args_is_help=True)

NotifierUrl = Annotated[str, typer.Option(envvar="TTG_NOTIFIER_URL", help="Base URL of the notifier")]
DEFAULT_URL = "http://127.0.0.1:8003"


def register(app: typer.Typer) -> None:
    app.add_typer(dead_letters_app, name="dead-letters")
    app.add_typer(endpoints_app, name="endpoints")


def _call(method: str, url: str, api_key: str | None = None, **kwargs: Any) -> Any:
    return call_as_operator(method, url, service="the notifier", api_key=api_key, **kwargs).json()


@dead_letters_app.command("list")
def list_dead_letters(
    notifier_url: NotifierUrl = DEFAULT_URL,
    api_key: ApiKey = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's endpoint")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only those dead-lettered since (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List deliveries that failed for good or were dead-lettered, oldest first."""
    params: dict[str, str] = {}
    if agency:
        params["agency_code"] = agency
    if since:
        params["since"] = since.isoformat()
    found = _call("GET", f"{notifier_url}/v1/dead-letters", api_key, params=params)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        typer.echo("No dead letters.")
    for item in found:
        typer.echo(
            f"{item['webhook_id']}  {item['agency_code']:<16} {item['event_type']:<24} {item['status']:<13} "
            f"attempts={item['attempt_count']} replays={item['replays']} at={item['finished_at']}  "
            f"{item['last_error'] or ''}"
        )


@dead_letters_app.command("replay")
def replay(
    webhook_id: Annotated[str | None, typer.Argument(help="The delivery to replay")] = None,
    notifier_url: NotifierUrl = DEFAULT_URL,
    api_key: ApiKey = None,
    agency: Annotated[str | None, typer.Option(help="Replay every dead letter of this endpoint")] = None,
    since: Annotated[datetime | None, typer.Option(help="With --agency: only those dead-lettered since")] = None,
) -> None:
    """Replay one failed or dead-lettered delivery (same webhook-id), or all of an endpoint's (since a time).
    Audited."""
    if (webhook_id is None) == (agency is None):
        typer.echo("Give either a WEBHOOK_ID or --agency.", err=True)
        raise typer.Exit(2)
    if webhook_id is not None:
        result = _call("POST", f"{notifier_url}/v1/dead-letters/{webhook_id}/replay", api_key)
    else:
        body: dict[str, str] = {"agency_code": agency or ""}
        if since:
            body["since"] = since.isoformat()
        result = _call("POST", f"{notifier_url}/v1/dead-letters/replay", api_key, json=body)
    typer.echo(f"Replayed {len(result['replayed'])}: {' '.join(result['replayed'])}".rstrip())


@endpoints_app.command("list")
def list_endpoints(notifier_url: NotifierUrl = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """Every endpoint with its state."""
    for item in _call("GET", f"{notifier_url}/v1/endpoints", api_key):
        typer.echo(f"{item['agency_code']:<16} {item['status']:<9} {item['kind']:<30} {item.get('reason') or ''}")


@endpoints_app.command("resume")
def resume(
    agency_code: str,
    notifier_url: NotifierUrl = DEFAULT_URL,
    api_key: ApiKey = None,
    resend: Annotated[bool, typer.Option(help="Also send again, in order, what failed or was dead-lettered")] = False,
) -> None:
    """Resume a paused endpoint (or enable one disabled by 410 Gone); its held deliveries go at once. Lists what
    did not arrive and waits; ``--resend`` sends it again with its original webhook-ids."""
    result = _call(
        "POST",
        f"{notifier_url}/v1/endpoints/{agency_code}/resume",
        api_key,
        params={"resend": "true"} if resend else None,
    )
    typer.echo(f"{result['agency_code']} is {result['status']}")
    if result.get("resent"):
        typer.echo(f"Sent again {len(result['resent'])}: {' '.join(result['resent'])}")
    waiting = result.get("waiting") or []
    if waiting:
        typer.echo(f"{len(waiting)} waiting (failed or dead-lettered); send them with --resend:")
        for item in waiting:
            typer.echo(
                f"  {item['webhook_id']}  {item['event_type']:<24} {item['status']:<13} {item['last_error'] or ''}"
            )


@endpoints_app.command("pause")
def pause(agency_code: str, notifier_url: NotifierUrl = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """Hold deliveries to an endpoint until it is resumed."""
    result = _call("POST", f"{notifier_url}/v1/endpoints/{agency_code}/pause", api_key)
    typer.echo(f"{result['agency_code']} is {result['status']}")
