"""What every page shares: templates (NHS.UK frontend macros), the signed-in person, CSRF, error pages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader

from services.common.clock import Clock
from services.common.db import Database
from services.common.delegation import Person
from services.console.adapters.backend import Backend, person_of
from services.console.adapters.tables import Account, ConsoleSession
from services.console.adapters.unit_of_work import SqlConsoleUnitOfWork
from services.console.domain import pack_wording
from services.console.domain.lounge_rules import READINESS_LABELS
from services.console.domain.session_rules import Lifetimes, SessionStage
from services.console.domain.uk_time import uk_date, uk_wall_clock
from services.console.settings import ConsoleSettings
from services.console.usecases.manage_accounts import account_of
from services.console.usecases.sessions import current_session

TEMPLATES = Path(__file__).parents[1] / "templates"
SESSION_COOKIE = "ttg_console_session"
ANONYMOUS_CSRF_COOKIE = "ttg_console_csrf"
BACKGROUND_HEADER = "X-TTG-Background"  # sent by the page's own refresh: does not count as the person's activity

environment = Environment(
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES), PackageLoader("nhsuk_frontend_jinja")]),
    undefined=ChainableUndefined,
    autoescape=True,
)
templates = Jinja2Templates(env=environment)


def _longdate(value: object) -> str:
    """1 December 2026, as the NHS style guide writes dates (of a date, or of a moment already in UK time)."""
    return uk_date(str(value)[:10])


def _shorttime(value: object) -> str:
    """An instant as UK wall-clock time: "4 December 2026 09:30"."""
    moment = uk_wall_clock(value if isinstance(value, datetime) else str(value))
    return f"{uk_date(moment.date())} {moment:%H:%M}"


def _error_list(errors: dict[str, str]) -> list[dict[str, str]]:
    """The error summary's links: each message links to its field (the field's id is its name)."""
    return [{"text": message, "href": f"#{field}"} for field, message in errors.items()]


def _window_item(days: int, chosen: int) -> dict[str, object]:
    return {"value": days, "text": f"{days} days", "selected": days == chosen}


def _establishment_item(code: str, chosen: str) -> dict[str, object]:
    return {"value": code, "text": code, "selected": code == chosen}


environment.filters.update(
    longdate=_longdate, shorttime=_shorttime, window_item=_window_item, establishment_item=_establishment_item
)


def _release_types_items(types: list[tuple[str, str]], chosen: str) -> list[dict[str, object]]:
    return [{"value": value, "text": text, "selected": value == chosen} for value, text in types]


def _as_radio(item: dict[str, object]) -> dict[str, object]:
    return {"value": item["value"], "text": item["text"], "checked": item["selected"]}


environment.filters["as_radio"] = _as_radio
environment.filters["section_title"] = pack_wording.section_title
environment.filters["sentence"] = pack_wording.sentence
environment.globals.update(
    errorList=_error_list,
    release_types_items=_release_types_items,
    readiness_labels=READINESS_LABELS,
    section_rows=pack_wording.section_rows,
    section_items=pack_wording.section_items,
    section_title=pack_wording.section_title,
    words=pack_wording.words,
    referral_kinds=pack_wording.REFERRAL_KIND_TITLES,
)


class SignInNeeded(Exception):
    """No live session: the person goes to the sign-in page (told when it timed out)."""

    def __init__(self, timed_out: bool = False) -> None:
        self.timed_out = timed_out


class CsrfRefused(Exception):
    """A form without the token of this session: refused with a 403 page, nothing done."""


class PageNotFound(Exception):
    """Nothing this person may see here: the same page as for an address that does not exist."""


@dataclass(frozen=True)
class Viewer:
    """The person signed in, as every page sees them."""

    account: Account
    session: ConsoleSession

    @property
    def person(self) -> Person:
        return person_of(
            self.account.user_id, self.account.organisation, self.account.role, self.account.establishment_codes
        )

    @property
    def role(self) -> str:
        return self.account.role


def settings_of(request: Request) -> ConsoleSettings:
    return cast(ConsoleSettings, request.app.state.settings)


def database_of(request: Request) -> Database:
    return cast(Database, request.app.state.database)


def clock_of(request: Request) -> Clock:
    return cast(Clock, request.app.state.clock)


def backend_of(request: Request) -> Backend:
    return cast(Backend, request.app.state.backend)


def unit_of_work(request: Request) -> SqlConsoleUnitOfWork:
    return SqlConsoleUnitOfWork(database_of(request), clock_of(request))


def lifetimes(settings: ConsoleSettings) -> Lifetimes:
    return Lifetimes(
        idle=timedelta(minutes=settings.idle_timeout_minutes), longest=timedelta(hours=settings.session_max_hours)
    )


async def session_of(request: Request) -> ConsoleSession | None:
    """The live session of this request (cached on it), or None."""
    if not hasattr(request.state, "console_session"):
        request.state.console_session = await current_session(
            uow=unit_of_work(request),
            token=request.cookies.get(SESSION_COOKIE),
            now=clock_of(request).now(),
            lifetimes=lifetimes(settings_of(request)),
            touch=request.headers.get(BACKGROUND_HEADER) != "1",
        )
    live: ConsoleSession | None = request.state.console_session
    return live


async def signed_in(request: Request) -> Viewer:
    found = await session_of(request)
    if found is None or found.stage != SessionStage.SIGNED_IN:
        raise SignInNeeded(timed_out=found is None and request.cookies.get(SESSION_COOKIE) is not None)
    account = await account_of(uow=unit_of_work(request), user_id=found.user_id)
    if account is None or account.disabled_at is not None:
        raise SignInNeeded()
    viewer = request.state.viewer = Viewer(account=account, session=found)
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]


def needs_role(*roles: str) -> Any:
    async def check(viewer: SignedIn) -> Viewer:
        if viewer.role not in roles:
            raise PageNotFound()
        return viewer

    return Depends(check)


async def csrf_token_of(request: Request) -> str:
    """The token forms of this request carry: the session's, or before sign-in one kept in its own cookie."""
    found = await session_of(request)
    if found is not None:
        return found.csrf_token
    token = request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        request.state.new_anonymous_csrf = token
    return token


async def csrf_checked(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Every POST form: its token must match this session's (or the pre-sign-in cookie's), else 403."""
    found = await session_of(request)
    expected = found.csrf_token if found is not None else request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    if not expected or not csrf_token or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise CsrfRefused()


CsrfChecked = Depends(csrf_checked)


async def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    response = templates.TemplateResponse(
        request,
        template,
        {"viewer": viewer, "csrf_token": await csrf_token_of(request), **(context or {})},
        status_code=status_code,
    )
    _set_anonymous_csrf(request, response)
    return response


def _set_anonymous_csrf(request: Request, response: HTMLResponse) -> None:
    token = getattr(request.state, "new_anonymous_csrf", None)
    if token:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=settings_of(request).secure_cookies,
            path="/",
        )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def set_session_cookie(request: Request, response: RedirectResponse | HTMLResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings_of(request).secure_cookies, path="/"
    )
