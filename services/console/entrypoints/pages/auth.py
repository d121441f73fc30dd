"""Signing in as oneself: password, then a TOTP code (enrolled with a QR code at the first sign-in).

The identity seam: these pages are the local-password :class:`Authenticator`; an organisation's own sign-in
(OpenID Connect, as NHS CIS2 offers) would be another route that ends the same way, by starting a
``signed_in`` session for an account bound to one organisation and role (see ``identity.py``).
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from services.console import accounts, sessions
from services.console.domain.identity import home_of
from services.console.entrypoints.web import (
    CsrfChecked,
    clock_of,
    database_of,
    redirect,
    render,
    session_of,
    set_session_cookie,
    settings_of,
)

router = APIRouter()


def _throttle(request: Request) -> accounts.Throttle:
    from datetime import timedelta

    settings = settings_of(request)
    return accounts.Throttle(settings.sign_in_attempts, timedelta(minutes=settings.sign_in_lockout_minutes))


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, timed_out: bool = False) -> HTMLResponse:
    return await render(request, "sign_in.jinja", {"timed_out": timed_out, "errors": {}, "user_id": ""})


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def sign_in(
    request: Request,
    user_id: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    errors: dict[str, str] = {}
    if not user_id.strip():
        errors["user_id"] = "Enter your user ID"
    if not password:
        errors["password"] = "Enter your password"
    if not errors:
        try:
            account = await accounts.check_password(
                database_of(request),
                user_id=user_id,
                password=password,
                throttle=_throttle(request),
                now=clock_of(request).now(),
            )
        except accounts.SignInRefused as refused:
            wait = round(settings_of(request).sign_in_lockout_minutes)
            errors["user_id"] = (
                f"Too many failed attempts. Wait {wait} minutes, then try again, or ask your administrator"
                if refused.locked
                else "The user ID or password is not right"
            )
        else:
            stage = "second_factor" if account.totp_secret else "enrol"
            token = await sessions.start(
                database_of(request),
                user_id=account.user_id,
                stage=stage,
                now=clock_of(request).now(),
                replaces=request.cookies.get(sessions.COOKIE),
            )
            response = redirect("/sign-in/code" if stage == "second_factor" else "/sign-in/enrol")
            set_session_cookie(request, response, token)
            return response
    return await render(request, "sign_in.jinja", {"errors": errors, "user_id": user_id}, status_code=400)


async def _pending(request: Request, stage: str) -> tuple[str, accounts.Account] | None:
    found = await session_of(request)
    if found is None or found.stage != stage:
        return None
    account = await accounts.get(database_of(request), found.user_id)
    return (found.user_id, account) if account is not None else None


async def _finish(request: Request, user_id: str) -> RedirectResponse:
    account = await accounts.get(database_of(request), user_id)
    token = await sessions.start(
        database_of(request),
        user_id=user_id,
        stage="signed_in",
        now=clock_of(request).now(),
        replaces=request.cookies.get(sessions.COOKIE),
    )
    response = redirect(home_of(account.role) if account else "/")
    set_session_cookie(request, response, token)
    return response


@router.get("/sign-in/code", response_class=HTMLResponse)
async def code_page(request: Request) -> Response:
    if await _pending(request, "second_factor") is None:
        return redirect("/sign-in")
    return await render(request, "sign_in_code.jinja", {"errors": {}})


@router.post("/sign-in/code", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def code(request: Request, code: Annotated[str, Form(max_length=20)] = "") -> Response:
    pending = await _pending(request, "second_factor")
    if pending is None:
        return redirect("/sign-in")
    user_id, _ = pending
    if await accounts.check_code(
        database_of(request), user_id=user_id, code=code, throttle=_throttle(request), now=clock_of(request).now()
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


async def _enrol_context(request: Request, account: accounts.Account) -> dict[str, object]:
    found = await session_of(request)
    assert found is not None
    # The secret being enrolled waits in a cookie scoped to this page until a code shows the app holds it;
    # only then is it stored with the account.
    secret = request.cookies.get("ttg_console_enrol") or accounts.new_totp_secret()
    uri = accounts.provisioning_uri(secret, account, settings_of(request).totp_issuer)
    return {"secret": secret, "qr": _qr(uri), "uri": uri}


@router.get("/sign-in/enrol", response_class=HTMLResponse)
async def enrol_page(request: Request) -> Response:
    pending = await _pending(request, "enrol")
    if pending is None:
        return redirect("/sign-in")
    context = await _enrol_context(request, pending[1])
    response = await render(request, "sign_in_enrol.jinja", {**context, "errors": {}})
    response.set_cookie(
        "ttg_console_enrol",
        str(context["secret"]),
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
        path="/sign-in/enrol",
    )
    return response


@router.post("/sign-in/enrol", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def enrol(request: Request, code: Annotated[str, Form(max_length=20)] = "") -> Response:
    pending = await _pending(request, "enrol")
    secret = request.cookies.get("ttg_console_enrol")
    if pending is None or not secret:
        return redirect("/sign-in")
    user_id, account = pending
    if await accounts.check_code(
        database_of(request),
        user_id=user_id,
        code=code,
        throttle=_throttle(request),
        now=clock_of(request).now(),
        secret=secret,
    ):
        response = await _finish(request, user_id)
        response.delete_cookie("ttg_console_enrol", path="/sign-in/enrol")
        return response
    context = await _enrol_context(request, account)
    errors = {"code": "The code is not right. Enter the 6-digit code your authenticator app shows for this account"}
    return await render(request, "sign_in_enrol.jinja", {**context, "errors": errors}, status_code=400)


@router.get("/sign-out", response_class=HTMLResponse)
async def sign_out_page(request: Request) -> HTMLResponse:
    return await render(request, "sign_out.jinja")


@router.post("/sign-out", dependencies=[CsrfChecked])
async def sign_out(request: Request) -> RedirectResponse:
    await sessions.end(database_of(request), request.cookies.get(sessions.COOKIE))
    response = redirect("/sign-in")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
