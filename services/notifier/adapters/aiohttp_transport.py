"""An httpx transport over aiohttp: the webhook client keeps httpx's API (and ``httpx.MockTransport`` in tests)
while requests go over aiohttp's connection pool, several times cheaper per request than httpx's own transport
on this kind of machine (docs: design notes, section 10; ``benchmarks/notifier_dispatch.py``).

aiohttp's errors are raised as the httpx errors of the same meaning, so what an attempt records (``ConnectError``,
``ReadTimeout``, ``RemoteProtocolError``, ...) and which failures are retried in-process stay as they were. Redirects
are never followed; proxies and ``.netrc`` from the environment are not used; cookies are not kept; an answer's
body is read up to ``MAX_ANSWER_BYTES`` (an excerpt is all that is kept of it).
"""

from __future__ import annotations

import aiohttp
import httpx

MAX_ANSWER_BYTES = 64 * 1024
# Headers of the answer that no longer describe the body httpx is given (aiohttp has decoded and de-chunked it).
_BODY_FRAMING = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
# Most specific first: ClientConnectorError and the timeouts are kinds of ClientOSError and ClientError.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


def as_httpx_error(error: BaseException, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx error that means what ``error`` (from aiohttp) means; None when it is not aiohttp's."""
    for kind, meaning in _ERRORS:
        if isinstance(error, kind):
            return meaning(str(error) or type(error).__name__, request=request)
    return None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One endpoint's connection pool: at most ``max_connections`` connections, opened on first use."""

    def __init__(self, *, max_connections: int) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _pool(self) -> aiohttp.ClientSession:
        if self._session is None:  # made in the running loop, as aiohttp wants
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        try:
            async with self._pool().request(
                request.method,
                str(request.url),
                headers=[(k, v) for k, v in request.headers.multi_items() if k.lower() != "transfer-encoding"],
                data=await request.aread() or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=timeout.get("connect"), sock_read=timeout.get("read")
                ),
            ) as answer:
                body = await answer.content.read(MAX_ANSWER_BYTES)
                headers = [(k, v) for k, v in answer.raw_headers if k.lower() not in _BODY_FRAMING]
                return httpx.Response(answer.status, headers=headers, content=body, request=request)
        except aiohttp.ClientError as error:
            mapped = as_httpx_error(error, request)
            if mapped is None:  # pragma: no cover - every ClientError maps
                raise
            raise mapped from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
