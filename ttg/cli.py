"""``ttg``: start the whole system, run the demo journey, export the contracts."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from ttg.cli_security import register as register_security_commands

DEMO_KEYS_FILE = "demo-api-keys.json"  # written by `ttg up` into its data folder, read by `ttg demo`

app = typer.Typer(help="Through-the-Gate handover service", no_args_is_help=True)
contracts_app = typer.Typer(help="Event contracts: JSON Schema export and drift check")
app.add_typer(contracts_app, name="contracts")
register_security_commands(app)  # credentials, audit, subject-access (ttg/cli_security.py)
__import__("ttg.cli_deliveries").cli_deliveries.register(app)  # ttg dead-letters ..., ttg endpoints ...
__import__("ttg.cli_users").cli_users.register(app)  # ttg users create|reset|disable|enable|list|code
__import__("ttg.cli_reports").cli_reports.register(app)  # ttg report outcomes
__import__("ttg.cli_outbox").cli_outbox.register(app)  # ttg outbox replay --since TIME


@app.command()
def up(
    database_url: Annotated[str | None, typer.Option(help="PostgreSQL server URL; default: SQLite files")] = None,
    data_dir: Annotated[Path, typer.Option(help="Where SQLite files and logs go")] = Path("var"),
    directory: Annotated[Path, typer.Option(help="Directory of services (YAML file or folder)")] = Path(
        "deploy/directory"
    ),
    partitions: int = 6,
    demo: Annotated[bool, typer.Option(help="Run the demo journey once the system is up")] = True,
) -> None:
    """Start the broker, the three services, the console and the demo receiver; run the demo; stay up."""
    from ttg.demo import run_demo
    from ttg.personas import provision_personas
    from ttg.stack import CONSOLE, DEMO_CLIENTS, Stack, StackConfig, provision

    config = StackConfig(
        data_dir=data_dir.resolve(),
        directory_path=directory.resolve(),
        database_base_url=database_url,
        ports={"release_events": 8001, "handover": 8002, "notifier": 8003, CONSOLE: 8000},
        partitions=partitions,
        demo_receiver_port=8009,
        console=True,
    )
    stack = Stack(config)
    people = provision_personas(stack.database_url(CONSOLE))
    keys = provision(stack.credentials_path, DEMO_CLIENTS)
    demo_keys = config.data_dir / DEMO_KEYS_FILE
    demo_keys.write_text(json.dumps(keys, indent=2))
    demo_keys.chmod(0o600)
    typer.echo("Starting the embedded broker and the services ...")
    with stack:
        typer.echo(f"  broker         {stack.broker.bootstrap_servers} (Tansu, in memory)")
        for name in ("release_events", "handover", "notifier", "demo_receiver"):
            typer.echo(f"  {name:<14} {stack.url(name)}")
        typer.echo(f"  logs           {config.data_dir / 'logs'}")
        typer.echo(f"  credentials    {stack.credentials_path}; demo API keys in {demo_keys}:")
        for client_id, key in keys.items():
            typer.echo(f"    {client_id:<24} {key}")
        if demo:
            run_demo(
                release_events_url=stack.url("release_events"),
                handover_url=stack.url("handover"),
                notifier_url=stack.url("notifier"),
                api_key=keys["demo-prison-healthcare"],
                echo=typer.echo,
            )
            typer.echo(f"What each agency received, signatures verified: {stack.url('demo_receiver')}/received")
        typer.echo("")
        typer.echo(f"The console: open {stack.url(CONSOLE)} and sign in as one of these demo people")
        typer.echo(
            "(add the TOTP key to an authenticator app, or get the current code with `./run users code <user id>`):"
        )
        for made in people:
            typer.echo(
                f"  {made.persona.user_id:<17} password {made.password:<18} TOTP key {made.totp_secret}  "
                f"({made.persona.what})"
            )
        typer.echo("Up. Ctrl-C stops everything.")
        stopping = False

        def _stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stopping:
                for name, process in stack.processes.items():
                    if process.poll() is not None:
                        typer.echo(f"{name} stopped unexpectedly; see {stack.log_path(name)}", err=True)
                        raise typer.Exit(1)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    typer.echo("Stopped.")


@app.command("demo")
def demo_command(
    release_events_url: str = "http://127.0.0.1:8001",
    handover_url: str = "http://127.0.0.1:8002",
    notifier_url: str = "http://127.0.0.1:8003",
    place: Annotated[str, typer.Option(help="durham, teesside or birmingham")] = "durham",
    api_key: Annotated[
        str, typer.Option(envvar="TTG_API_KEY", help="A prison healthcare API key; default: the one `ttg up` made")
    ] = "",
) -> None:
    """Submit a synthetic release notice to a running system; print the pack and the deliveries."""
    from ttg.demo import run_demo

    made_by_up = Path("var") / DEMO_KEYS_FILE
    if not api_key and made_by_up.exists():
        api_key = json.loads(made_by_up.read_text())["demo-prison-healthcare"]
    if not api_key:
        raise typer.BadParameter("give --api-key or TTG_API_KEY: `ttg up` prints the demo keys", param_hint="api-key")
    run_demo(
        release_events_url=release_events_url,
        handover_url=handover_url,
        notifier_url=notifier_url,
        api_key=api_key,
        place=place,
        echo=typer.echo,
    )


@contracts_app.command("export")
def export_contracts(
    check: Annotated[bool, typer.Option(help="Fail if the files on disk differ instead of writing")] = False,
) -> None:
    """Write the JSON Schema of every contract to contracts/schemas (or check that they are current)."""
    from contracts.export import export_schemas

    drifted = export_schemas(check=check)
    if check and drifted:
        typer.echo(f"Exported schemas drift from the models: {', '.join(drifted)}. Run: ttg contracts export")
        raise typer.Exit(1)
    typer.echo("Schemas are current." if check else "Schemas written.")


@app.command("config-reference")
def config_reference(
    check: Annotated[bool, typer.Option(help="Fail if deploy/configuration.md is stale instead of writing")] = False,
) -> None:
    """Write deploy/configuration.md: every setting of every service, with defaults and meaning."""
    from ttg.config_reference import REFERENCE, render

    text = render()
    if check:
        if not REFERENCE.exists() or REFERENCE.read_text() != text:
            typer.echo(f"{REFERENCE} is stale. Run: ./run config-reference")
            raise typer.Exit(1)
        return
    REFERENCE.write_text(text)
    typer.echo(f"Wrote {REFERENCE}.")


if __name__ == "__main__":
    app()
