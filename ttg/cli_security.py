"""``ttg credentials``, ``ttg audit`` and ``ttg subject-access``: the operator's security commands.

Every command runs without prompts (flags only), so that scripts, the demo stack and the tests can use it.
An API key is printed once, on stdout, when it is created or rotated, and never written to a log.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer

from services.common import audit, audit_verify, credentials
from services.common.db import sync_url
from services.common.roles import Role, Scope
from ttg import subject_access

credentials_app = typer.Typer(help="API credentials of client organisations (hashed keys)", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail of each service", no_args_is_help=True)
subject_access_app = typer.Typer(help="Subject-access requests: everything held about one person", no_args_is_help=True)

StoreOption = Annotated[Path, typer.Option("--store", envvar="TTG_CREDENTIALS_PATH", help="Credential store file")]


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")
    app.add_typer(audit_app, name="audit")
    app.add_typer(subject_access_app, name="subject-access")


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


@credentials_app.command("create")
def create_credential(
    client_id: Annotated[str, typer.Option(help="Unique id of the client, e.g. dmi-healthcare")],
    organisation: Annotated[str, typer.Option(help="Organisation code: ODS code, PDU code, or HMPPS/NHS body")],
    role: Annotated[Role, typer.Option(help="What the client is")],
    establishment: Annotated[
        list[str] | None, typer.Option(help="Prison healthcare: an establishment it acts for (repeat)")
    ] = None,
    scope: Annotated[list[Scope] | None, typer.Option(help="Narrow to these scopes (repeat)")] = None,
    store: StoreOption = Path("var/credentials.json"),
    as_json: Annotated[bool, typer.Option("--json", help="Print {client_id, api_key} as JSON")] = False,
) -> None:
    """Create a credential and print its API key (shown once: keep it in the client's secret store)."""
    try:
        key = credentials.create(
            store,
            client_id=client_id,
            organisation=organisation,
            role=role,
            establishments=[code.upper() for code in establishment or []],
            scopes=scope,
        )
    except (credentials.CredentialError, ValueError) as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps({"client_id": client_id, "api_key": key}) if as_json else key)


@credentials_app.command("list")
def list_credentials(store: StoreOption = Path("var/credentials.json")) -> None:
    """Every credential with its keys' ids and dates (never a secret or a digest), as JSON lines."""
    for credential in credentials.read_store(store).credentials:
        typer.echo(json.dumps(credential.public()))


@credentials_app.command("history")
def credential_history(store: StoreOption = Path("var/credentials.json")) -> None:
    """Who created, rotated and revoked which credential, and when, as JSON lines."""
    for entry in credentials.read_store(store).history:
        typer.echo(entry.model_dump_json())


@credentials_app.command("rotate")
def rotate_credential(
    client_id: Annotated[str, typer.Option(help="The client whose key is replaced")],
    overlap_hours: Annotated[float, typer.Option(help="How long the old key keeps working")] = 24.0,
    store: StoreOption = Path("var/credentials.json"),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a new key; the old one keeps working for the overlap, then stops."""
    try:
        key = credentials.rotate(store, client_id=client_id, overlap=timedelta(hours=overlap_hours))
    except credentials.CredentialError as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps({"client_id": client_id, "api_key": key}) if as_json else key)


@credentials_app.command("revoke")
def revoke_credential(
    client_id: Annotated[str, typer.Option(help="The client to shut out, every key at once")],
    store: StoreOption = Path("var/credentials.json"),
) -> None:
    """Revoke every key of a client; services stop accepting them as soon as they see the store change."""
    try:
        credentials.revoke(store, client_id=client_id)
    except credentials.CredentialError as error:
        raise _fail(str(error)) from None
    typer.echo(f"revoked {client_id}")


def _engine(database_url: str) -> sa.Engine:
    return sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)


@audit_app.command("verify")
def verify_audit(
    database_url: Annotated[str, typer.Option(help="The service database whose audit trail is checked")],
) -> None:
    """Walk the hash chain; exit 0 when intact, 1 naming the first broken record."""
    engine = _engine(database_url)
    try:
        with engine.connect() as connection:
            verdict = audit_verify.verify_connection(connection)
    finally:
        engine.dispose()
    typer.echo(verdict.describe())
    if not verdict.intact:
        raise typer.Exit(1)


# --- subject access ------------------------------------------------------------------------------------

SERVICES = ("release_events", "handover", "notifier")


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in ("body", "pack", "payload", "details", "notice", "sections", "reporting") and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _people(connection: sa.Connection, nhs_number: str | None) -> set[str]:
    """Prison numbers under which an NHS number was notified (one person may have had several)."""
    if nhs_number is None:
        return set()
    compact = nhs_number.replace(" ", "")
    rows = connection.execute(sa.text("SELECT prison_number, body FROM release_notice")).all()
    return {row.prison_number for row in rows if json.loads(row.body).get("nhs_number") == compact}


@subject_access_app.command("export")
def export_subject_access(
    database_url: Annotated[
        list[str],
        typer.Option(help="service=URL of each service database (release_events, handover, notifier)"),
    ],
    operator: Annotated[str, typer.Option(help="Who runs the export (recorded in each audit trail)")],
    prison_number: Annotated[list[str] | None, typer.Option(help="The person's prison number (repeat)")] = None,
    nhs_number: Annotated[str | None, typer.Option(help="The person's NHS number")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the export here (default: stdout)")] = None,
) -> None:
    """Gather everything each service holds about one person, audit records included, into one JSON document:
    every table of each service, by table name (``ttg/subject_access.py`` says how each table is searched).

    The export itself is recorded in every audit trail it read (action ``subject_access.exported``)."""
    urls: dict[str, str] = {}
    for item in database_url:
        service, _, url = item.partition("=")
        if service not in SERVICES or not url:
            raise _fail(f"--database-url takes service=URL with service one of {', '.join(SERVICES)}")
        urls[service] = url
    people = {number.strip().upper() for number in prison_number or []}
    if nhs_number and "release_events" in urls:
        engine = _engine(urls["release_events"])
        with engine.connect() as connection:
            people |= _people(connection, nhs_number)
        engine.dispose()
    if not people:
        raise _fail("name the person: --prison-number, or --nhs-number with the release_events database")
    now = datetime.now(UTC)
    export: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "prison_numbers": sorted(people),
        "services": {},
    }
    engines = {service: _engine(url) for service, url in urls.items()}
    try:
        with ExitStack() as stack:
            connections = {service: stack.enter_context(engine.begin()) for service, engine in engines.items()}
            found = subject_access.gather(connections, people)
            for service, connection in connections.items():
                tables = found[service]["tables"]
                export["services"][service] = {
                    **{name: [_jsonable(row) for row in rows] for name, rows in tables.items()},
                    "not_searched": found[service]["not_searched"],
                }
                if found[service]["not_searched"]:
                    typer.echo(
                        f"{service}: tables not searched (no rule reaches them): "
                        f"{', '.join(found[service]['not_searched'])}",
                        err=True,
                    )
                for person in sorted(people):
                    audit.append_on(
                        connection,
                        audit.AuditEntry(
                            actor=operator,
                            actor_role="operator",
                            actor_organisation="ttg-operations",
                            action="subject_access.exported",
                            resource_type="person",
                            subject=person,
                            details={"service": service, "tables": sorted(n for n, rows in tables.items() if rows)},
                        ),
                        now,
                    )
    finally:
        for engine in engines.values():
            engine.dispose()
    text = json.dumps(export, indent=2, default=str)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text)
        out.chmod(0o600)
        typer.echo(f"subject-access export written to {out}")
