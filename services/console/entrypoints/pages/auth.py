"""Signing in as oneself: password, then a TOTP code (enrolled with a QR code at the first sign-in).

The identity seam: these pages are the local-password :class:`Authenticator`; an organisation's own sign-in
(OpenID Connect, as NHS CIS2 offers) would be another route that ends the same way, by starting a
``signed_in`` session for an account bound to one organisation and role (see ``domain/identity.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Protocol

import segno
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from services.console.adapters.passwords import new_totp_secret
from services.console.adapters.tables import Account
from services.console.domain.account_rules import SignInRefused, Throttle, provisioning_uri
from services.console.domain.identity import Identity, home_of
from services.console.domain.session_rules import SessionStage, stage_after_password
from services.console.entrypoints.web import (
    SESSION_COOKIE,
    CsrfChecked,
    clock_of,
    redirect,
    render,
    session_of,
    set_session_cookie,
    settings_of,
    unit_of_work,
)
from services.console.usecases.manage_accounts import account_of
from services.console.usecases.sessions import end_session, start_session
from services.console.usecases.sign_in import check_code, check_password

router = APIRouter()
ENROL_COOKIE = "ttg_console_enrol"


class Authenticator(Protocol):
    """A way of proving who one is; the local one is password + TOTP, another may be OpenID Connect."""

    name: str

    async def begin(self, request: Request) -> str:
        """Where the browser goes to sign in (a page of the console, or the provider's authorise URL)."""
        ...

    async def complete(self, request: Request) -> Identity | None:
        """The identity proven by this request (a callback, or the last form), or None."""
        ...


def _throttle(request: Request) -> Throttle:
    settings = settings_of(request)
    return Throttle(settings.sign_in_attempts, timedelta(minutes=settings.sign_in_lockout_minutes))


def _missing(user_id: str, password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not user_id.strip():
        errors["user_id"] = "Enter your user ID"
    if not password:
        errors["password"] = "Enter your password"
    return errors


def _refusal(request: Request, refused: SignInRefused) -> dict[str, str]:
    wait = round(settings_of(request).sign_in_lockout_minutes)
    if refused.locked:
        return {"user_id": f"Too many failed attempts. Wait {wait} minutes, then try again, or ask your administrator"}
    return {"user_id": "The user ID or password is not right"}


async def _started(request: Request, user_id: str, stage: SessionStage, to: str) -> RedirectResponse:
    """A new session at ``stage`` (replacing this browser's), and the browser sent on to ``to``."""
    token = await start_session(
        uow=unit_of_work(request),
        user_id=user_id,
        stage=stage,
        now=clock_of(request).now(),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    response = redirect(to)
    set_session_cookie(request, response, token)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, timed_out: bool = False) -> HTMLResponse:
    return await render(request, "sign_in.jinja", {"timed_out": timed_out, "errors": {}, "user_id": ""})


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def sign_in(
    request: Request,
    user_id: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    errors = _missing(user_id, password)
    if not errors:
        try:
            account = await check_password(
                uow=unit_of_work(request),
                user_id=user_id,
                password=password,
                throttle=_throttle(request),
                now=clock_of(request).now(),
            )
        except SignInRefused as refused:
            errors = _refusal(request, refused)
        else:
            stage = stage_after_password(bool(account.totp_secret))
            to = "/sign-in/code" if stage == SessionStage.SECOND_FACTOR else "/sign-in/enrol"
            return await _started(request, account.user_id, stage, to)
    return await render(request, "sign_in.jinja", {"errors": errors, "user_id": user_id}, status_code=400)


async def _pending(request: Request, stage: SessionStage) -> tuple[str, Account] | None:
    found = await session_of(request)
    if found is None or found.stage != stage:
        return None
    account = await account_of(uow=unit_of_work(request), user_id=found.user_id)
    return (found.user_id, account) if account is not None else None


async def _finish(request: Request, user_id: str) -> RedirectResponse:
    account = await account_of(uow=unit_of_work(request), user_id=user_id)
    return await _started(request, user_id, SessionStage.SIGNED_IN, home_of(account.role) if account else "/")


@router.get("/sign-in/code", response_class=HTMLResponse)
async def code_page(request: Request) -> Response:
    if await _pending(request, SessionStage.SECOND_FACTOR) is None:
        return redirect("/sign-in")
    return await render(request, "sign_in_code.jinja", {"errors": {}})


@router.post("/sign-in/code", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def code(request: Request, code: Annotated[str, Form(max_length=20)] = "") -> Response:
    pending = await _pending(request, SessionStage.SECOND_FACTOR)
    if pending is None:
        return redirect("/sign-in")
    user_id, _ = pending
    if await check_code(
        uow=unit_of_work(request), user_id=user_id, code=code, throttle=_throttle(request), now=clock_of(request).now()
    ):
        return await _finish(request, user_id)
    message = (
        "Enter the 6-digit code from your authenticator app"
        if not code.strip()
        else ("The code is not right or has been used. Enter the current code from your authenticator app")
    )
    return await render(request, "sign_in_code.jinja", {"errors": {"code": message}}, status_code=400)


def _qr(uri: str) -> Markup:
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app")
    return Markup(svg)  # noqa: S704 - segno's own SVG of a URI we made


async def _enrol_context(request: Request, account: Account) -> dict[str, object]:
    found = await session_of(request)
    assert found is not None
    # The secret being enrolled waits in a cookie scoped to this page until a code shows the app holds it;
    # only then is it stored with the account.
    secret = request.cookies.get(ENROL_COOKIE) or new_totp_secret()
    uri = provisioning_uri(secret, account.user_id, settings_of(request).totp_issuer)
    return {"secret": secret, "qr": _qr(uri), "uri": uri}


@router.get("/sign-in/enrol", response_class=HTMLResponse)
async def enrol_page(request: Request) -> Response:
    pending = await _pending(request, SessionStage.ENROL)
    if pending is None:
        return redirect("/sign-in")
    context = await _enrol_context(request, pending[1])
    response = await render(request, "sign_in_enrol.jinja", {**context, "errors": {}})
    response.set_cookie(
        ENROL_COOKIE,
        str(context["secret"]),
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
        path="/sign-in/enrol",
    )
    return response


@router.post("/sign-in/enrol", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def enrol(request: Request, code: Annotated[str, Form(max_length=20)] = "") -> Response:
    pending = await _pending(request, SessionStage.ENROL)
    secret = request.cookies.get(ENROL_COOKIE)
    if pending is None or not secret:
        return redirect("/sign-in")
    user_id, account = pending
    if await check_code(
        uow=unit_of_work(request),
        user_id=user_id,
        code=code,
        throttle=_throttle(request),
        now=clock_of(request).now(),
        secret=secret,
    ):
        response = await _finish(request, user_id)
        response.delete_cookie(ENROL_COOKIE, path="/sign-in/enrol")
        return response
    context = await _enrol_context(request, account)
    errors = {"code": "The code is not right. Enter the 6-digit code your authenticator app shows for this account"}
    return await render(request, "sign_in_enrol.jinja", {**context, "errors": errors}, status_code=400)


@router.get("/sign-out", response_class=HTMLResponse)
async def sign_out_page(request: Request) -> HTMLResponse:
    return await render(request, "sign_out.jinja")


@router.post("/sign-out", dependencies=[CsrfChecked])
async def sign_out(request: Request) -> RedirectResponse:
    await end_session(uow=unit_of_work(request), token=request.cookies.get(SESSION_COOKIE))
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
