"""The services as the console reaches them: their public HTTP APIs, every call made as the person signed in.

Each call carries the console's API key and a fresh ``X-TTG-On-Behalf-Of`` assertion naming the person
(:mod:`services.common.delegation`), so the services apply that person's organisation's rules and their audit
trails name the person. A 404 from a service (another organisation's resource, or none) becomes the console's
"Page not found"; anything the console cannot handle becomes a clear error page, never a half-done action.
A service that cannot be reached (down, restarting, or a connection dropped) is a :class:`ServiceUnavailable`
page too, never a bare "Internal Server Error"; a read whose connection dropped before any answer is tried once
more, as reads change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from services.common import delegation
from services.common.roles import Role
from services.common.runtime import CLIENT_KEEPALIVE_SECONDS
from services.console.settings import ConsoleSettings


class NotFound(Exception):
    """The service knows nothing this person may see here."""


class ServiceError(Exception):
    """A service refused or failed in a way the page cannot recover from."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('title')}")
        self.status = status
        self.problem = problem


class ServiceUnavailable(ServiceError):
    """The service could not be reached or dropped the connection. ``uncertain``: a change was sent and may or
    may not have been made, so the page must say so rather than "nothing was changed"."""

    def __init__(self, service: str, error: httpx.TransportError, *, uncertain: bool) -> None:
        super().__init__(503, {"title": f"{service} unreachable: {type(error).__name__}"})
        self.uncertain = uncertain


SAFE_METHODS = frozenset({"GET", "HEAD"})
# Failures where a request may be sent again without doubt: nothing reached the service, or the connection was
# dropped before any answer (a read is safe to repeat either way).
RETRIED_ONCE = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class Backend:
    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._key = settings.api_key.get_secret_value()
        self._clients = {
            name: httpx.AsyncClient(
                base_url=url,
                timeout=15.0,
                transport=transport,
                limits=httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_SECONDS),
            )
            for name, url in (
                ("release_events", settings.release_events_url),
                ("handover", settings.handover_url),
                ("notifier", settings.notifier_url),
            )
        }

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _headers(self, person: delegation.Person, correlation_id: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._key}",
            delegation.HEADER: delegation.sign(person, api_key=self._key, now=datetime.now(UTC)),
        }
        if correlation_id:
            headers["X-Correlation-Id"] = correlation_id
        return headers

    async def call(
        self,
        person: delegation.Person,
        service: str,
        method: str,
        path: str,
        *,
        correlation_id: str | None = None,
        expect: tuple[int, ...] = (200,),
        headers_extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call as ``person``; a status outside ``expect`` raises :class:`NotFound` or :class:`ServiceError`,
        an unreachable service :class:`ServiceUnavailable`."""
        attempts = 2 if method in SAFE_METHODS else 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._clients[service].request(
                    method, path, headers={**self._headers(person, correlation_id), **(headers_extra or {})}, **kwargs
                )
                break
            except RETRIED_ONCE as error:
                if attempt == attempts:
                    raise ServiceUnavailable(service, error, uncertain=method not in SAFE_METHODS) from error
            except httpx.TransportError as error:  # a timeout: the service may be working on it
                raise ServiceUnavailable(service, error, uncertain=method not in SAFE_METHODS) from error
        if response.status_code in expect:
            return response
        if response.status_code == 404:
            raise NotFound(path)
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.reason_phrase}
        raise ServiceError(response.status_code, problem if isinstance(problem, dict) else {})

    async def get_json(self, person: delegation.Person, service: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(person, service, "GET", path, **kwargs)).json()


def person_of(user_id: str, organisation: str, role: str, establishments: tuple[str, ...]) -> delegation.Person:
    return delegation.Person(user_id=user_id, organisation=organisation, role=Role(role), establishments=establishments)
