"""Refuse oversized and too deeply nested request bodies before any route reads them.

The middleware reads the body itself, counting bytes as they arrive (a declared
``Content-Length`` over the cap is refused before a byte is read, a chunked body as soon as the
count passes it), then scans it for nesting depth without parsing, and replays it to the app.
Holding at most ``body_bytes_max`` per request is the price of refusing before parsing.
"""

from __future__ import annotations

import json
import re

import structlog
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, Problem

log = structlog.get_logger(__name__)

json_depth_max = 64
"""Arrays and objects nested deeper than this are refused; our documents nest a few levels."""

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|"', re.DOTALL)
"""A whole string (skipped), a bracket, or an unterminated string's opening quote."""


def json_depth(body: bytes, stop_above: int = json_depth_max) -> int:
    """The nesting depth of ``body`` read as JSON, found by a linear scan (no recursion).

    Exact for valid JSON in any encoding ``json.loads`` accepts; for invalid JSON an upper bound
    on how deep a parser gets before it fails. Stops counting once past ``stop_above``.
    """
    text = body.decode(json.detect_encoding(body), errors="replace")
    depth = deepest = 0
    for token in _TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_above:
                break
        elif mark in "]}":
            depth = max(depth - 1, 0)
        elif mark == '"':
            break  # an unterminated string: the rest is inside it
    return deepest


class BodyLimitMiddleware:
    """Pure ASGI middleware: 413 over ``body_bytes_max`` bytes, 400 past ``json_depth_max``."""

    def __init__(self, app: ASGIApp, body_bytes_max: int) -> None:
        self._app = app
        self._body_bytes_max = body_bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if _declared_length(scope) > self._body_bytes_max:
            await self._too_large(scope, receive, send)
            return
        body = await self._read(receive)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        if json_depth(body) > json_depth_max:
            problem = Problem(
                400,
                "json_too_deep",
                "Request body nested too deeply",
                f"arrays and objects may nest at most {json_depth_max} levels",
                json_depth_max=json_depth_max,
            )
            await _refuse(problem, scope, receive, send)
            return
        await self._app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the cap (the rest stays unread)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)  # the client left; the app sees an empty body
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._body_bytes_max:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(
            413,
            "request_body_too_large",
            "Request body too large",
            f"at most {self._body_bytes_max} bytes",
            body_bytes_max=self._body_bytes_max,
        )
        await _refuse(problem, scope, receive, send, close=True)


def _declared_length(scope: Scope) -> int:
    """The ``Content-Length`` header's value; 0 when absent (the server has checked its form)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the client's own messages."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(
    problem: Problem, scope: Scope, receive: Receive, send: Send, close: bool = False
) -> None:
    log.info("request_refused", code=problem.code, status=problem.status)
    response = JSONResponse(
        problem.body(scope["path"]),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"connection": "close"} if close else None,
    )
    await response(scope, receive, send)
