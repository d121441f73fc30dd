"""The console's calls to the services over real loopback HTTP when a connection fails: a read whose connection
is dropped before any answer (a kept-alive connection the server was closing at that instant) is tried once more;
a change is never sent twice and says it is uncertain; a service that is down is a ServiceUnavailable, never an
unhandled error (which the console would show as a bare "Internal Server Error")."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from services.common.api_keys import new_key
from services.common.delegation import Person
from services.common.roles import Role
from services.console.adapters.backend import Backend, ServiceUnavailable
from services.console.settings import ConsoleSettings

OPERATOR = Person(user_id="operator", organisation="TTG-OPS", role=Role.OPERATOR, establishments=())


@dataclass
class DroppingServer:
    """Answers ``200 {"ok": true}`` but drops the first ``drops`` connections after reading their request."""

    drops: int
    requests: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head.split(b" ", 2)[0].decode())
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
        )
        if length:
            await reader.readexactly(length)
        if len(self.requests) <= self.drops:
            writer.close()
            return
        body = json.dumps({"ok": True}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def backend_to(url: str) -> AsyncIterator[Backend]:
    key = SecretStr(new_key(datetime.now(UTC))[0])
    backend = Backend(ConsoleSettings(handover_url=url, release_events_url=url, notifier_url=url, api_key=key))
    try:
        yield backend
    finally:
        await backend.close()


@asynccontextmanager
async def serving(server: DroppingServer) -> AsyncIterator[str]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listening.close()
        await listening.wait_closed()


async def test_a_read_whose_connection_is_dropped_is_tried_once_more_and_answers() -> None:
    server = DroppingServer(drops=1)
    async with serving(server) as url, backend_to(url) as backend:
        assert await backend.get_json(OPERATOR, "handover", "/v1/directory/agencies") == {"ok": True}
    assert server.requests == ["GET", "GET"]


async def test_a_read_dropped_twice_is_a_service_unavailable_that_changed_nothing() -> None:
    server = DroppingServer(drops=2)
    async with serving(server) as url, backend_to(url) as backend:
        with pytest.raises(ServiceUnavailable) as raised:
            await backend.get_json(OPERATOR, "handover", "/v1/directory/agencies")
    assert raised.value.status == 503 and not raised.value.uncertain
    assert server.requests == ["GET", "GET"]


async def test_a_change_whose_connection_is_dropped_is_not_sent_again_and_is_uncertain() -> None:
    server = DroppingServer(drops=1)
    async with serving(server) as url, backend_to(url) as backend:
        with pytest.raises(ServiceUnavailable) as raised:
            await backend.call(OPERATOR, "notifier", "POST", "/v1/endpoints/A99001/pause", json={})
    assert raised.value.uncertain
    assert server.requests == ["POST"]


async def test_a_service_that_is_down_is_a_service_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with backend_to(f"http://127.0.0.1:{port}") as backend:
        with pytest.raises(ServiceUnavailable) as raised:
            await backend.get_json(OPERATOR, "handover", "/v1/directory/agencies")
    assert raised.value.problem["title"] == "handover unreachable: ConnectError"
