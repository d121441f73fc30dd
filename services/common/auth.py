"""Who is calling, and what they may see: an ``Annotated`` dependency per kind of access; ownership checks.

Every API client is an organisation holding a credential (see :mod:`services.common.credentials` for why API
keys stored hashed) sent as ``Authorization: Bearer ttg_<key id>_<secret>``. A credential has a role, the
scopes of that role (or fewer) and, for prison healthcare, the establishments it acts for.

Who may do what (scopes by role are in ``roles.ROLE_SCOPES``):

=================  ======================  ================================================================
role               bound to                may
=================  ======================  ================================================================
prison_healthcare  its establishment codes submit notices and custody events for its establishments only;
                                           read those notices, the whole pack of those handovers, their
                                           deliveries and releases
agency             its organisation code   read handovers addressed to it, and only the sections of its
                                           kind; answer its own referrals; read its own deliveries
probation          its delivery unit code  as an agency (probation sections only); confirm reporting
                                           instructions of its own cases only
operator           nothing                 manage the directory and dead letters, read deliveries (no
                                           clinical content) and the audit trail, replay the outbox;
                                           never reads packs
console            nothing                 nothing by itself; with a signed ``X-TTG-On-Behalf-Of`` header it
                                           is the person named there, with the rules of that person's role
                                           and organisation (:mod:`services.common.delegation`)
=================  ======================  ================================================================

Answers, statuses and what they disclose:

* no credential, or one that is unknown, revoked or expired: 401 with ``WWW-Authenticate: Bearer``;
* a credential whose role lacks the scope of the route: 403;
* a resource that belongs to another organisation: 404, exactly as if it did not exist, so that a caller
  cannot even learn that a person or a handover exists; lists return only what the caller may see;
* a submission naming an establishment the caller is not bound to: 403 naming the field;
* more requests than the client's rate limit: 429 with ``Retry-After``.

Applying it to a route is one parameter, which also documents the security scheme in OpenAPI::

    @router.get("/handovers/{handover_id}")
    async def get_handover(handover_id: str, caller: HandoverReader, request: Request) -> ...:
        ...
        ensure_establishment(caller, handover.establishment_code)   # or: ensure_addressee(caller, codes)

Aliases for the routes other branches add: ``CustodyEventSubmitter`` (POST custody events),
``AnswerWriter`` (referral answers; then ``ensure_addressee``; a confirmation of reporting instructions
also needs ``ensure_scope(caller, Scope.REPORTING_CONFIRM)``), ``ReportingConfirmer`` (probation-only
routes; then ``ensure_addressee``), ``ReleasesReader`` (establishment lists; then
``ensure_establishment``), ``DirectoryAdmin`` (directory admin API), ``DeadLetterAdmin`` (dead letters and
replay), ``DeliveriesReader``, ``AuditReader``, ``OutboxReplayer`` (``POST /v1/outbox/replay``). Agency lists
(``/v1/agencies/{code}/handovers``) use ``HandoverReader`` then ``ensure_organisation(caller, code)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from services.common import delegation
from services.common.credentials import Credential, StoreCache, verify
from services.common.problems import Problem
from services.common.ratelimit import RateLimiter
from services.common.roles import ROLE_SCOPES, Role, Scope

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="API key of the client organisation: `Authorization: Bearer ttg_<key id>_<secret>`",
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an organisation with a role, its scopes and what it is bound to."""

    client_id: str
    organisation: str
    role: Role
    scopes: frozenset[Scope]
    establishments: frozenset[str]
    person: str | None = None  # the person the console acts for (client_id then names them too)

    @classmethod
    def of(cls, credential: Credential) -> Principal:
        return cls(
            client_id=credential.client_id,
            organisation=credential.organisation,
            role=credential.role,
            scopes=frozenset(credential.scopes),
            establishments=frozenset(credential.establishments),
        )


def _unauthenticated(detail: str) -> Problem:
    return Problem(
        401, "Unauthenticated", detail, "unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="ttg"'}
    )


def not_found(what: str = "resource") -> Problem:
    """The answer for another organisation's resource: the same as for one that does not exist."""
    return Problem(404, "Not found", f"No {what} has this id.", "not-found")


def _store(request: Request) -> StoreCache:
    state = request.app.state
    if getattr(state, "credential_store", None) is None:
        state.credential_store = StoreCache(state.settings.credentials_path)
    store: StoreCache = state.credential_store
    return store


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    if getattr(state, "rate_limiter", None) is None:
        settings = state.settings
        state.rate_limiter = RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
    limiter: RateLimiter = state.rate_limiter
    return limiter


def _address(request: Request) -> str:
    return f"address:{request.client.host if request.client else 'unknown'}"


def _limit(request: Request, key: str) -> None:
    """429 with Retry-After once ``key`` (a client, or the address of unauthenticated calls) is over rate."""
    wait = _limiter(request).acquire(key)
    if wait is not None:
        log.warning("auth.rate_limited", limited=key.split(":", 1)[0], retry_in=round(wait, 2))
        raise Problem(
            429,
            "Too many requests",
            "Too many requests from this client; retry later.",
            "rate-limited",
            retry_after=RateLimiter.retry_after_header(wait),
        )


async def current_principal(
    security_scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the caller, apply its rate limit, and check it holds every scope the route needs."""
    if credentials is None:
        _limit(request, _address(request))
        raise _unauthenticated("Send an API key: Authorization: Bearer ttg_<key id>_<secret>.")
    credential = verify(_store(request).current(), credentials.credentials, datetime.now(UTC))
    if credential is None:
        log.warning("auth.rejected", path=request.url.path)
        _limit(request, _address(request))  # guessing keys is pointless, but flooding with them is not free
        raise _unauthenticated("The API key is unknown, revoked or expired.")
    principal = Principal.of(credential)
    assertion = request.headers.get(delegation.HEADER)
    if assertion is not None:
        principal = _acting_for(assertion, credential, credentials.credentials)
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(client_id=principal.client_id)
    _limit(request, f"client:{principal.client_id}")
    missing = sorted(scope for scope in security_scopes.scopes if scope not in principal.scopes)
    if missing:
        log.info("auth.forbidden", missing_scopes=missing)
        raise Problem(403, "Forbidden", f"This client may not do this (needs {', '.join(missing)}).", "forbidden")
    return principal


def _acting_for(assertion: str, credential: Credential, presented_key: str) -> Principal:
    """The person the console acts for, with the rules of their organisation's API key (see delegation)."""
    try:
        person = delegation.verify(assertion, credential=credential, presented_key=presented_key, now=datetime.now(UTC))
    except delegation.DelegationRefused as refused:
        log.warning("auth.delegation_refused", reason=refused.reason)
        if refused.forbidden:
            raise Problem(403, "Forbidden", "This client may not act on behalf of people.", "forbidden") from None
        raise _unauthenticated("The on-behalf-of assertion is invalid or expired.") from None
    return Principal(
        client_id=f"{person.user_id}@{credential.client_id}",
        organisation=person.organisation,
        role=person.role,
        scopes=ROLE_SCOPES[person.role],
        establishments=frozenset(person.establishments),
        person=person.user_id,
    )


def _needs(*scopes: Scope) -> object:
    return Security(current_principal, scopes=[scope.value for scope in scopes])


NoticeSubmitter = Annotated[Principal, _needs(Scope.NOTICES_SUBMIT)]
NoticeReader = Annotated[Principal, _needs(Scope.NOTICES_READ)]
CustodyEventSubmitter = Annotated[Principal, _needs(Scope.CUSTODY_EVENTS_SUBMIT)]
HandoverReader = Annotated[Principal, _needs(Scope.HANDOVERS_READ)]
ReleasesReader = Annotated[Principal, _needs(Scope.RELEASES_READ)]
AnswerWriter = Annotated[Principal, _needs(Scope.ANSWERS_WRITE)]
ReportingConfirmer = Annotated[Principal, _needs(Scope.REPORTING_CONFIRM)]
DeliveriesReader = Annotated[Principal, _needs(Scope.DELIVERIES_READ)]
DeadLetterAdmin = Annotated[Principal, _needs(Scope.DEAD_LETTERS_MANAGE)]
DirectoryAdmin = Annotated[Principal, _needs(Scope.DIRECTORY_MANAGE)]
AuditReader = Annotated[Principal, _needs(Scope.AUDIT_READ)]
OutboxReplayer = Annotated[Principal, _needs(Scope.OUTBOX_REPLAY)]


def ensure_scope(caller: Principal, scope: Scope) -> None:
    """A scope that only some requests of a route need (a route's own scopes are checked before it runs):
    the same 403 as a route the caller's role may not call."""
    if scope not in caller.scopes:
        log.info("auth.forbidden", missing_scopes=[scope.value])
        raise Problem(403, "Forbidden", f"This client may not do this (needs {scope.value}).", "forbidden")


# --- ownership -----------------------------------------------------------------------------------------


def acts_for_establishment(caller: Principal, establishment_code: str) -> bool:
    return caller.role == Role.PRISON_HEALTHCARE and establishment_code in caller.establishments


def ensure_may_submit_for(caller: Principal, establishment_code: str, field: str = "establishment_code") -> None:
    """A prison submits only for its own establishments (403 naming the field: the caller chose the value)."""
    if not acts_for_establishment(caller, establishment_code):
        raise Problem(
            403,
            "Forbidden",
            f"This client may not submit for establishment {establishment_code}.",
            "forbidden-establishment",
            errors=[{"field": field, "pointer": f"#/{field}", "detail": "not an establishment of this client"}],
        )


def ensure_establishment(caller: Principal, establishment_code: str, what: str = "resource") -> None:
    """Reads of an establishment's resources: only its own prison healthcare (others: 404)."""
    if not acts_for_establishment(caller, establishment_code):
        raise not_found(what)


def is_addressee(caller: Principal, addressee_codes: set[str] | frozenset[str]) -> bool:
    return caller.role in (Role.AGENCY, Role.PROBATION) and caller.organisation in addressee_codes


def ensure_addressee(caller: Principal, addressee_codes: set[str] | frozenset[str], what: str = "resource") -> None:
    """Agencies and probation act only on what is addressed to them (others: 404)."""
    if not is_addressee(caller, addressee_codes):
        raise not_found(what)


def ensure_organisation(caller: Principal, organisation_code: str, what: str = "resource") -> None:
    """Lists under ``/agencies/{code}``: only that organisation itself (others: 404)."""
    if caller.role not in (Role.AGENCY, Role.PROBATION) or caller.organisation != organisation_code:
        raise not_found(what)
