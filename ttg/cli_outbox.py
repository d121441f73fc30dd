"""``ttg outbox replay``: publish again the events the services published in a window, after an Apache Kafka
retention accident deleted records that consumers had not read yet (see ``services/common/outbox_replay.py``).

    ttg outbox replay --since TIME [--until TIME] [--service release_events|handover|notifier]

Without ``--service`` it asks each of the three services in turn (``POST /v1/outbox/replay``); each takes back
its own outbox rows published in the window, and its relay publishes them again in their original order.
Consumers' inboxes discard what they had already applied. TIME is ISO 8601; without an offset it is UTC.

Like ``ttg dead-letters`` it needs an operator's API key: ``--api-key ttg_...`` (or ``TTG_OPERATOR_API_KEY``),
or, next to ``ttg up``, the demo operator's key; a refused key is named by where it came from and its key id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from ttg.operator_calls import ApiKey, call_as_operator

outbox_app = typer.Typer(
    help="The services' outboxes: publish retained events again after the broker lost them", no_args_is_help=True
)


class Service(StrEnum):
    RELEASE_EVENTS = "release_events"
    HANDOVER = "handover"
    NOTIFIER = "notifier"


ReleaseEventsUrl = Annotated[str, typer.Option(envvar="TTG_RELEASE_EVENTS_URL", help="Base URL of release_events")]
HandoverUrl = Annotated[str, typer.Option(envvar="TTG_HANDOVER_URL", help="Base URL of handover")]
NotifierUrl = Annotated[str, typer.Option(envvar="TTG_NOTIFIER_URL", help="Base URL of the notifier")]


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


def parse_time(value: str, option: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; none means UTC), as an aware datetime."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def replay_body(since: str, until: str | None) -> dict[str, str]:
    """The request body: the window in UTC, checked for order here so a typo costs no round trip."""
    start = parse_time(since, "--since")
    body = {"since": start.astimezone(UTC).isoformat()}
    if until is not None:
        end = parse_time(until, "--until")
        if end <= start:
            raise typer.BadParameter("must be later than --since", param_hint="--until")
        body["until"] = end.astimezone(UTC).isoformat()
    return body


def _post(service: Service, url: str, body: dict[str, str], api_key: str | None) -> dict[str, Any]:
    named = f"{service.value} at {url}"
    answer: dict[str, Any] = call_as_operator(
        "POST", f"{url}/v1/outbox/replay", service=named, api_key=api_key, timeout=60.0, json=body
    ).json()
    return answer


@outbox_app.command("replay")
def replay(
    since: Annotated[str, typer.Option(help="Publish again what was published at or after this time (ISO 8601)")],
    until: Annotated[str | None, typer.Option(help="... and before this time (default: up to now)")] = None,
    service: Annotated[Service | None, typer.Option(help="Only this service (default: all three)")] = None,
    release_events_url: ReleaseEventsUrl = "http://127.0.0.1:8001",
    handover_url: HandoverUrl = "http://127.0.0.1:8002",
    notifier_url: NotifierUrl = "http://127.0.0.1:8003",
    api_key: ApiKey = None,
) -> None:
    """Take back the outbox rows published in the window so the relays publish them again, in order. Audited."""
    body = replay_body(since, until)
    urls = {Service.RELEASE_EVENTS: release_events_url, Service.HANDOVER: handover_url, Service.NOTIFIER: notifier_url}
    for chosen in [service] if service else list(Service):
        done = _post(chosen, urls[chosen], body, api_key)
        topics = ", ".join(f"{topic} {count}" for topic, count in sorted(done["by_topic"].items())) or "none"
        typer.echo(f"{chosen.value}: {done['rows']} events to publish again ({topics})")
