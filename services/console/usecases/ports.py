"""What the console's use cases need, as protocols: its own storage (the SQL unit of work in the console, the
in-memory fake in unit tests; members are read-only here so that either's own types fit) and the services."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from services.common.delegation import Person
from services.console.adapters.tables import Account, ConsoleSession


class Accounts(Protocol):
    async def get(self, user_id: str) -> Account | None: ...
    async def all(self) -> list[Account]: ...
    def save(self, account: Account) -> None: ...


class Sessions(Protocol):
    async def get(self, token_hash: str) -> ConsoleSession | None: ...
    def add(self, console_session: ConsoleSession) -> None: ...
    async def remove(self, token_hash: str) -> None: ...
    async def remove_all_of(self, user_id: str) -> None: ...


class ConsoleUnitOfWork(Protocol):
    @property
    def accounts(self) -> Accounts: ...
    @property
    def sessions(self) -> Sessions: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class Services(Protocol):
    """The services' public HTTP APIs, every call made as the person signed in (``adapters/backend.py``)."""

    async def get_json(self, person: Person, service: str, path: str, **kwargs: Any) -> Any: ...

    async def call(self, person: Person, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call as ``person``: keywords as :meth:`Backend.call` takes them (``expect``, ``correlation_id``, ...)."""
        ...
