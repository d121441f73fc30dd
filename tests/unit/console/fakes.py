"""In-memory accounts and sessions and the console's fake unit of work, for use-case unit tests (no database)."""

from __future__ import annotations

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
