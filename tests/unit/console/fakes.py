"""In-memory accounts and sessions, the console's fake unit of work and canned answers of the services, for
use-case unit tests (no database, no HTTP)."""

from __future__ import annotations

from typing import Any

import httpx

from services.common.delegation import Person
from services.common.roles import Role
from services.console.adapters.backend import NotFound
from services.console.adapters.tables import Account, ConsoleSession
from tests.unit.fakes import FakeUnitOfWork


class FakeAccounts:
    def __init__(self) -> None:
        self.rows: dict[str, Account] = {}

    async def get(self, user_id: str) -> Account | None:
        return self.rows.get(user_id)

    async def all(self) -> list[Account]:
        return sorted(self.rows.values(), key=lambda row: (row.organisation, row.user_id))

    def save(self, account: Account) -> None:
        self.rows[account.user_id] = account


class FakeSessions:
    def __init__(self) -> None:
        self.rows: dict[str, ConsoleSession] = {}

    async def get(self, token_hash: str) -> ConsoleSession | None:
        return self.rows.get(token_hash)

    def add(self, console_session: ConsoleSession) -> None:
        self.rows[console_session.token_hash] = console_session

    async def remove(self, token_hash: str) -> None:
        self.rows.pop(token_hash, None)

    async def remove_all_of(self, user_id: str) -> None:
        for key in [key for key, row in self.rows.items() if row.user_id == user_id]:
            del self.rows[key]


class FakeConsoleUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.accounts = FakeAccounts()
        self.sessions = FakeSessions()


class FakeServices:
    """The services' answers by (service, method, path); an answer that is an exception is raised."""

    def __init__(self, answers: dict[tuple[str, str, str], object]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    async def get_json(self, person: Person, service: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(person, service, "GET", path, **kwargs)).json()

    async def call(self, person: Person, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.calls.append((service, method, path, kwargs))
        answer = self.answers.get((service, method, path), NotFound(path))
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)


NURSE = Person(user_id="nurse", organisation="DMI-HC", role=Role.PRISON_HEALTHCARE, establishments=("DMI",))
OPERATOR = Person(user_id="ops", organisation="TTG", role=Role.OPERATOR, establishments=())
