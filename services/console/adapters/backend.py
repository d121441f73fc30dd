"""The services as the console reaches them: their public HTTP APIs, every call made as the person signed in.

Each call carries the console's API key and a fresh ``X-TTG-On-Behalf-Of`` assertion naming the person
(:mod:`services.common.delegation`), so the services apply that person's organisation's rules and their audit
trails name the person. A 404 from a service (another organisation's resource, or none) becomes the console's
"Page not found"; anything the console cannot handle becomes a clear error page, never a half-done action.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from services.common import delegation
from services.common.roles import Role
from services.console.settings import ConsoleSettings


class NotFound(Exception):
    """The service knows nothing this person may see here."""


class ServiceError(Exception):
    """A service refused or failed in a way the page cannot recover from."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('title')}")
        self.status = status
        self.problem = problem


class Backend:
    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._key = settings.api_key.get_secret_value()
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=15.0, transport=transport)
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
        """One call as ``person``; a status outside ``expect`` raises :class:`NotFound` or :class:`ServiceError`."""
        response = await self._clients[service].request(
            method, path, headers={**self._headers(person, correlation_id), **(headers_extra or {})}, **kwargs
        )
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
