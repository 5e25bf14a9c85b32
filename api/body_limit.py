"""The request body rules of every route, applied before any route reads the body.

One rule for every route (decision 0016): 413 over ``body_bytes_max`` bytes, 415 when the body
declares a content type that is not JSON, 400 when it is not JSON (or nests deeper than
``json_depth_max``); a well-formed body the route's schema refuses is the route's 422.

The middleware reads the body itself, counting bytes as they arrive (a declared
``Content-Length`` over the cap is refused before a byte is read, a chunked body as soon as the
count passes it), checks its content type, scans it for nesting depth without parsing, parses it
once to refuse malformed JSON, and replays it to the app. Holding at most ``body_bytes_max`` per
request is the price of refusing before parsing. Paths under ``exempt_prefixes`` (mounted
sandboxes with their own formats) get the size and depth limits only.
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
    """Pure ASGI middleware: 413 over ``body_bytes_max`` bytes, 415 for a content type that is not
    JSON, 400 past ``json_depth_max`` or for a body that is not JSON."""

    def __init__(
        self, app: ASGIApp, body_bytes_max: int, exempt_prefixes: tuple[str, ...] = ()
    ) -> None:
        self._app = app
        self._body_bytes_max = body_bytes_max
        self._exempt_prefixes = exempt_prefixes

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
        exempt = (
            str(scope["path"]).startswith(self._exempt_prefixes) if self._exempt_prefixes else False
        )
        checked = bool(body.strip()) and not exempt
        media_type = _media_type(scope)
        if checked and media_type is not None and not is_json_media_type(media_type):
            problem = Problem(
                415,
                "unsupported_media_type",
                "Request body must be JSON",
                f"send Content-Type: application/json, not {media_type}",
            )
            await _refuse(problem, scope, receive, send)
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
        if checked and (error := json_error(body)) is not None:
            problem = Problem(400, "malformed_json", "Request body is not JSON", error)
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


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` or a ``+json`` structured syntax suffix (RFC 6839)."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def json_error(body: bytes) -> str | None:
    """Why ``body`` is not one JSON text (any encoding ``json.loads`` reads), or None."""
    try:
        json.loads(body)
    except UnicodeDecodeError as error:
        return f"not text in a JSON encoding: {error.reason!s}"
    except ValueError as error:
        return str(error)
    return None


def _media_type(scope: Scope) -> str | None:
    """The declared ``Content-Type`` without parameters, lower case; None when absent (a body
    without one is read as JSON, as FastAPI does)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            declared: str = value.decode("latin-1")
            return declared.split(";", 1)[0].strip().lower()
    return None


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
