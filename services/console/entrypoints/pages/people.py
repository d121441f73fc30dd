"""Operators: people's accounts on the console (the console's own data; no service is called). Disabling
signs the person out at once; a password reset shows the new password once, for the operator to pass on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console import accounts
from services.console.entrypoints.pages.desk import NAVIGATION
from services.console.entrypoints.web import (
    CsrfChecked,
    PageNotFound,
    Viewer,
    clock_of,
    database_of,
    needs_role,
    redirect,
    render,
)

router = APIRouter()
Operator = Annotated[Viewer, needs_role("operator")]


@router.get("/desk/people", response_class=HTMLResponse)
async def people(request: Request, viewer: Operator, done: str = "") -> HTMLResponse:
    return await render(
        request,
        "people.jinja",
        {
            "title": "People's accounts",
            "navigation": NAVIGATION,
            "accounts": await accounts.all_accounts(database_of(request)),
            "done": done[:80],
            "now": clock_of(request).now(),
        },
    )


@router.post("/desk/people/{user_id}/{action}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def change(request: Request, viewer: Operator, user_id: str, action: str) -> Response:
    database, now = database_of(request), clock_of(request).now()
    account = await accounts.get(database, user_id[:40])
    if account is None or action not in ("disable", "enable", "reset"):
        raise PageNotFound()
    if action == "reset":
        password = accounts.new_password()
        await accounts.reset(database, user_id=account.user_id, password=password, reset_second_factor=True, now=now)
        return await render(
            request,
            "people_reset.jinja",
            {"title": "New password", "navigation": NAVIGATION, "account": account, "password": password},
        )
    await accounts.set_disabled(database, user_id=account.user_id, disabled=action == "disable", now=now)
    return redirect(f"/desk/people?done={account.user_id}+{action}d")
