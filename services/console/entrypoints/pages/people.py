"""Operators: people's accounts on the console (the console's own data; no service is called). Disabling
signs the person out at once; a password reset shows the new password once, for the operator to pass on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.passwords import new_password
from services.console.domain.account_rules import AccountError
from services.console.entrypoints.pages.desk import NAVIGATION
from services.console.entrypoints.web import (
    CsrfChecked,
    PageNotFound,
    Viewer,
    clock_of,
    needs_role,
    redirect,
    render,
    unit_of_work,
)
from services.console.usecases.manage_accounts import AccountAction, all_accounts, change_account

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
            "accounts": await all_accounts(uow=unit_of_work(request)),
            "done": done[:80],
            "now": clock_of(request).now(),
        },
    )


@router.post("/desk/people/{user_id}/{action}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def change(request: Request, viewer: Operator, user_id: str, action: str) -> Response:
    if action not in set(AccountAction):
        raise PageNotFound()
    chosen, password = AccountAction(action), new_password()
    try:
        account = await change_account(
            uow=unit_of_work(request),
            user_id=user_id[:40],
            action=chosen,
            new_password=password,
            now=clock_of(request).now(),
        )
    except AccountError:
        raise PageNotFound() from None
    if chosen == AccountAction.RESET:
        return await render(
            request,
            "people_reset.jinja",
            {"title": "New password", "navigation": NAVIGATION, "account": account, "password": password},
        )
    return redirect(f"/desk/people?done={account.user_id}+{action}d")
