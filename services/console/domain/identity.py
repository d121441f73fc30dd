"""Who a person is, as the pages see them, and where the seam for another sign-in lies.

Today people sign in with a local password and a TOTP code (``entrypoints/pages/auth.py``). An organisation's
own sign-in (OpenID Connect, as NHS CIS2 offers) would replace those two pages with a redirect and a callback,
and end the same way: an ``Authenticator`` (in that module) yields an :class:`Identity` (user id,
organisation, role, establishments), the console matches it to an account (or provisions one from the token's
claims), and starts a ``signed_in`` session. Nothing after sign-in (sessions, CSRF, delegation to the services,
the pages) depends on how the person proved who they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.roles import Role


@dataclass(frozen=True)
class Identity:
    user_id: str
    display_name: str
    organisation: str
    role: Role
    establishments: tuple[str, ...] = ()


HOMES = {
    Role.PRISON_HEALTHCARE.value: "/lounge",
    Role.AGENCY.value: "/inbox",
    Role.PROBATION.value: "/inbox",
    Role.OPERATOR.value: "/desk",
}


def home_of(role: str) -> str:
    return HOMES.get(role, "/")
