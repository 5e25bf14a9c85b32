"""A database that cannot be reached answers 503 ``database_unavailable`` with ``Retry-After``.

Outermost of the project's middlewares, so a lost connection anywhere inside (the idempotency
claim, the route's unit of work, the answer kept after it) is answered the same way, and the
server keeps the client's connection: an exception escaping to the server would close it.
"""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import DATABASE_UNREACHABLE, database_unavailable

log = structlog.get_logger(__name__)


class DatabaseUnavailableMiddleware:
    """Turn ``DATABASE_UNREACHABLE`` into the 503 problem while no response has started."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, tracking)
        except DATABASE_UNREACHABLE as lost:
            if started:
                raise
            log.warning("database_unavailable", error=type(lost).__name__)
            await database_unavailable(Request(scope))(scope, receive, send)
