"""The console's front door: each signed-in person goes to their role's home page; the accessibility statement."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.domain.identity import home_of
from services.console.domain.session_rules import SessionStage
from services.console.entrypoints.web import redirect, render, session_of, unit_of_work
from services.console.usecases.manage_accounts import account_of

router = APIRouter()


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    found = await session_of(request)
    if found is None or found.stage != SessionStage.SIGNED_IN:
        return redirect("/sign-in")
    account = await account_of(uow=unit_of_work(request), user_id=found.user_id)
    return redirect(home_of(account.role) if account else "/sign-in")


@router.get("/accessibility", include_in_schema=False)
async def accessibility(request: Request) -> HTMLResponse:
    await session_of(request)
    return await render(request, "accessibility.jinja", {"title": "Accessibility statement"})
