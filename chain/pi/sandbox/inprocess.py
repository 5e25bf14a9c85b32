"""Call an ASGI app (the sandbox) from a synchronous httpx.Client without opening a socket."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


class SyncASGITransport(httpx.BaseTransport):
    """Each request runs the app on a fresh event loop; fine for the sandbox's in-memory state."""

    def __init__(self, app: ASGIApp, raise_app_exceptions: bool = True) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward one request and buffer the reply."""
        request.read()

        async def run() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(run())


def inprocess_client(
    app: ASGIApp, base_url: str, raise_app_exceptions: bool = True
) -> httpx.Client:
    """An httpx.Client whose requests go straight into `app`.

    With ``raise_app_exceptions=False`` a crash reaches the client as the app's 500 response, as
    it would over a socket.
    """
    transport = SyncASGITransport(app, raise_app_exceptions=raise_app_exceptions)
    return httpx.Client(transport=transport, base_url=base_url)
