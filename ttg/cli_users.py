"""``ttg users``: people's accounts on the console (create, reset, disable, enable, list, code).

Runs against the console's own database (``--database-url``, default the one ``ttg up`` uses). A password is
printed once when it is made; a second factor is enrolled by the person at their next sign-in (QR code).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import pyotp
import typer

from services.common.db import Database
from services.common.migrations import upgrade
from services.common.roles import Role
from services.console.adapters.passwords import new_password
from services.console.adapters.unit_of_work import SqlConsoleUnitOfWork
from services.console.domain.account_rules import AccountError
from services.console.usecases.manage_accounts import (
    account_of,
    all_accounts,
    create_account,
    reset_account,
    set_disabled,
)
from ttg.personas import MIGRATIONS

users_app = typer.Typer(help="People's accounts on the console", no_args_is_help=True)
DatabaseOption = Annotated[
    str, typer.Option("--database-url", envvar="TTG_CONSOLE_DATABASE_URL", help="The console's database")
]
T = TypeVar("T")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _run(database_url: str, work: Callable[[SqlConsoleUnitOfWork], Awaitable[T]]) -> T:
    upgrade(database_url, MIGRATIONS)

    async def run() -> T:
        database = Database(database_url)
        try:
            return await work(SqlConsoleUnitOfWork(database))
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except AccountError as error:
        typer.echo(f"Refused: {error}", err=True)
        raise typer.Exit(2) from None


@users_app.command("create")
def create(
    user_id: Annotated[str, typer.Argument(help="Lower-case id the person signs in with")],
    name: Annotated[str, typer.Option(help="Full name, shown on pages")],
    email: Annotated[str, typer.Option(help="Work e-mail address")],
    organisation: Annotated[str, typer.Option(help="Organisation code (ODS, PDU, establishment healthcare)")],
    role: Annotated[Role, typer.Option(help="prison_healthcare, agency, probation or operator")],
    establishment: Annotated[
        list[str] | None, typer.Option(help="Prison healthcare: an establishment (repeat)")
    ] = None,
    database_url: DatabaseOption = "sqlite:///var/console.db",
) -> None:
    """Create an account and print its first password (shown once); the person enrols a second factor."""
    password = new_password()
    _run(
        database_url,
        lambda uow: create_account(
            uow=uow,
            user_id=user_id,
            display_name=name,
            email=email,
            organisation=organisation,
            role=role,
            establishments=list(establishment or []),
            password=password,
            now=datetime.now(UTC),
        ),
    )
    typer.echo(f"Created {user_id}. Password (shown once): {password}")


@users_app.command("reset")
def reset(
    user_id: str,
    second_factor: Annotated[bool, typer.Option(help="Also make them enrol a new authenticator app")] = False,
    database_url: DatabaseOption = "sqlite:///var/console.db",
) -> None:
    """A new password (printed once); unlocks the account and signs out every session of it."""
    password = new_password()
    _run(
        database_url,
        lambda uow: reset_account(
            uow=uow, user_id=user_id, password=password, reset_second_factor=second_factor, now=datetime.now(UTC)
        ),
    )
    typer.echo(f"Reset {user_id}. New password (shown once): {password}")


@users_app.command("disable")
def disable(user_id: str, database_url: DatabaseOption = "sqlite:///var/console.db") -> None:
    """Stop the account signing in, and sign out its sessions now."""
    _run(database_url, lambda uow: set_disabled(uow=uow, user_id=user_id, disabled=True, now=datetime.now(UTC)))
    typer.echo(f"Disabled {user_id}.")


@users_app.command("enable")
def enable(user_id: str, database_url: DatabaseOption = "sqlite:///var/console.db") -> None:
    _run(database_url, lambda uow: set_disabled(uow=uow, user_id=user_id, disabled=False, now=datetime.now(UTC)))
    typer.echo(f"Enabled {user_id}.")


@users_app.command("list")
def list_users(database_url: DatabaseOption = "sqlite:///var/console.db") -> None:
    """Every account: id, organisation, role, establishments, second factor, state (never a secret)."""
    for account in _run(database_url, lambda uow: all_accounts(uow=uow)):
        state = "disabled" if account.disabled_at else "active"
        factor = "totp" if account.totp_secret else "not enrolled"
        typer.echo(
            f"{account.user_id:<20} {account.organisation:<14} {account.role:<18} "
            f"{account.establishments or '-':<12} {factor:<13} {state}"
        )


@users_app.command("code")
def code(user_id: str, database_url: DatabaseOption = "sqlite:///var/console.db") -> None:
    """Demo personas only: their current security code (any real account is refused)."""
    account = _run(database_url, lambda uow: account_of(uow=uow, user_id=user_id))
    if account is None or not account.demo or not account.totp_secret:
        typer.echo("Only a demo persona's code can be shown.", err=True)
        raise typer.Exit(2)
    typer.echo(pyotp.TOTP(account.totp_secret).now())
