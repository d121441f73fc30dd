"""Acting on behalf of a person: the console calls the services as the person signed in to it.

The console holds an API key of its own (role ``console``, scope ``act-on-behalf``), which by itself may do
nothing else. With each call it sends the person in a header::

    X-TTG-On-Behalf-Of: <base64url claims>.<base64url HMAC-SHA256>

The claims name the person (user id), their organisation, role and, for prison healthcare, establishments,
with an issue and expiry time. The HMAC key is the SHA-256 digest of the console key's secret: the console
computes it from the key it holds and a service reads it from the credential store it already has, so there
is no further key to distribute, and an assertion is bound to the key that presents it (``kid``).

Why this is safe enough: the console credential is what is trusted to vouch for people (as an identity
provider would be), and only a caller holding the console key can present an assertion at all. The MAC and
the short lifetime add that an assertion copied from a log or a proxy cannot be replayed later, nor replayed
with another key, nor edited (a person promoted to another role or establishment).

The service turns a valid assertion into the caller: the person's organisation and role with that role's
scopes, exactly the rules an API key of that organisation gets, and a client id naming the person
(``<user id>@<console client>``) so that every audit record, idempotency key and rate limit is the person's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.api_keys import split_key
from services.common.credentials import Credential, CredentialError, validate_binding
from services.common.roles import Role, Scope

HEADER = "X-TTG-On-Behalf-Of"
MAX_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
PERSON_ROLES = frozenset({Role.PRISON_HEALTHCARE, Role.AGENCY, Role.PROBATION, Role.OPERATOR})
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_ORGANISATION = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class Person:
    """A person signed in to the console, as the services see them."""

    user_id: str
    organisation: str
    role: Role
    establishments: tuple[str, ...] = ()


class DelegationRefused(Exception):
    """An assertion that is forged, expired, malformed, or presented by a credential that may not delegate."""

    def __init__(self, reason: str, *, forbidden: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.forbidden = forbidden  # the caller is known but may not act for others (403, not 401)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key_digest: str, payload: str) -> bytes:
    return hmac.new(key_digest.encode(), payload.encode(), hashlib.sha256).digest()


def sign(person: Person, *, api_key: str, now: datetime, lifetime: timedelta = timedelta(seconds=60)) -> str:
    """The header value for one call by ``person``, made with the console's ``api_key``."""
    parts = split_key(api_key)
    if parts is None:
        raise ValueError("not an API key")
    key_id, secret = parts
    claims = {
        "v": 1,
        "kid": key_id,
        "sub": person.user_id,
        "org": person.organisation,
        "role": person.role.value,
        "est": sorted(person.establishments),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_mac(hashlib.sha256(secret.encode()).hexdigest(), payload))}"


def verify(assertion: str, *, credential: Credential, presented_key: str, now: datetime) -> Person:
    """The person an assertion names, once its MAC, lifetime and binding hold; else :class:`DelegationRefused`."""
    if Scope.ACT_ON_BEHALF not in credential.scopes:
        raise DelegationRefused("this client may not act on behalf of people", forbidden=True)
    parts = split_key(presented_key)
    if parts is None or len(assertion) > 2000 or assertion.count(".") != 1:
        raise DelegationRefused("malformed assertion")
    key_id = parts[0]
    key = next((k for k in credential.keys if k.key_id == key_id), None)
    if key is None:
        raise DelegationRefused("unknown key")
    payload, signature = assertion.split(".")
    try:
        given = _unb64(signature)
        claims = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise DelegationRefused("malformed assertion") from None
    if not hmac.compare_digest(given, _mac(key.digest, payload)):
        raise DelegationRefused("bad signature")
    if not isinstance(claims, dict) or claims.get("v") != 1 or claims.get("kid") != key_id:
        raise DelegationRefused("assertion made with another key")
    try:
        issued = datetime.fromtimestamp(int(claims["iat"]), now.tzinfo)
        expires = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo)
        person = Person(
            user_id=str(claims["sub"]),
            organisation=str(claims["org"]),
            role=Role(claims["role"]),
            establishments=tuple(str(code) for code in claims["est"]),
        )
    except (KeyError, TypeError, ValueError):
        raise DelegationRefused("malformed claims") from None
    if expires <= now or issued > now + CLOCK_SKEW or expires - issued > MAX_LIFETIME:
        raise DelegationRefused("expired or too long-lived")
    if person.role not in PERSON_ROLES:
        raise DelegationRefused("not a role a person can hold")
    if not _USER_ID.match(person.user_id) or not _ORGANISATION.match(person.organisation):
        raise DelegationRefused("malformed person")
    try:
        validate_binding(person.role, list(person.establishments))
        Credential.model_validate(  # the same establishment-code rules as an API key's
            {
                "client_id": "x",
                "organisation": person.organisation,
                "role": person.role,
                "establishments": list(person.establishments),
                "created_at": now,
            }
        )
    except (CredentialError, ValueError):
        raise DelegationRefused("bad binding") from None
    return person
