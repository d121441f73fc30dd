"""Input hardening below the routes: chunked bodies over the cap and NUL characters never reach a route."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from services.common.hardening import InputGuard
from services.common.problems import install_problem_handlers


def app() -> TestClient:
    application = FastAPI()
    install_problem_handlers(application)
    application.add_middleware(InputGuard, max_body_bytes=1000)

    @application.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    @application.get("/items/{item}")
    async def item(item: str) -> dict[str, str]:
        return {"item": item}

    return TestClient(application)


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.hazard("H15")
def test_a_chunked_body_over_the_cap_is_refused_with_413() -> None:
    response = app().post("/echo", content=chunks(5000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_a_body_within_the_cap_reaches_the_route_whole() -> None:
    assert app().post("/echo", content=chunks(900)).json() == {"length": 900}


@pytest.mark.hazard("H14")
def test_nul_characters_are_refused_in_path_query_and_body() -> None:
    client = app()
    assert client.get("/items/a%00b").status_code == 400
    assert client.get("/items/a", params={"q": "x\x00"}).status_code == 400
    assert client.post("/echo", content=b'{"name": "a\\u0000b"}').status_code == 400
    assert client.get("/items/ab").status_code == 200
