"""The body cap and the depth scan, driven at the ASGI level (no sockets)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from api.body_limit import (
    BodyLimitMiddleware,
    is_json_media_type,
    json_depth,
    json_depth_max,
    json_error,
)

cap_bytes = 1024


class Recorder:
    """The inner app: records whether it ran and the body it read."""

    def __init__(self) -> None:
        self.calls = 0
        self.body = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run(
    chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[Recorder, list[Message], int]:
    """Send ``chunks`` through the middleware; the inner app, what was sent, chunks pulled."""
    inner = Recorder()
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            return {"type": "http.disconnect"}
        return {
            "type": "http.request",
            "body": chunks[pulled - 1],
            "more_body": pulled < len(chunks),
        }

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/v1/anything",
        "headers": headers or [],
    }
    asyncio.run(BodyLimitMiddleware(inner, body_bytes_max=cap_bytes)(scope, receive, send))
    return inner, sent, pulled


def problem(sent: list[Message]) -> tuple[int, dict[str, str], dict[str, Any]]:
    start, body = sent[0], sent[1]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body["body"])


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    inner, sent, pulled = run([b"x" * 100], headers=[(b"content-length", b"20000000")])
    status, headers, body = problem(sent)
    assert (status, body["code"], body["body_bytes_max"]) == (413, "request_body_too_large", 1024)
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert body["instance"] == "/v1/anything"
    assert (inner.calls, pulled) == (0, 0)


def test_a_chunked_body_stops_being_read_at_the_cap() -> None:
    chunks = [b" " * 300] * 100  # 30 KB, no Content-Length
    inner, sent, pulled = run(chunks)
    assert problem(sent)[0] == 413
    assert inner.calls == 0
    assert pulled == 4  # 1200 bytes: the first chunk past 1024 ends the reading


def test_a_body_at_the_cap_reaches_the_app_whole() -> None:
    chunks = [b"[" + b" " * 510, b" " * 512 + b"]"]
    inner, sent, _ = run(chunks, headers=[(b"content-length", b"1024")])
    assert inner.calls == 1
    assert inner.body == b"".join(chunks)
    assert sent[0]["status"] == 200


def test_nesting_past_the_limit_is_refused_without_the_app() -> None:
    deep = b"[" * (json_depth_max + 1) + b"]" * (json_depth_max + 1)
    inner, sent, _ = run([deep])
    status, _, body = problem(sent)
    assert (status, body["code"], body["json_depth_max"]) == (400, "json_too_deep", json_depth_max)
    assert inner.calls == 0
    at_limit = b"[" * json_depth_max + b"]" * json_depth_max
    assert run([at_limit])[0].calls == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=30,
)


def nesting(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@given(json_values, st.booleans(), st.sampled_from(["utf-8", "utf-16", "utf-32-le"]))
def test_the_scan_finds_the_exact_depth_of_valid_json(
    value: object, ascii_only: bool, encoding: str
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode(encoding)
    assert json.loads(body) == value  # json.loads reads every one of these encodings
    assert json_depth(body, stop_above=1000) == nesting(value)


@given(st.binary(max_size=2000))
def test_the_scan_bounds_how_deep_a_parser_gets(body: bytes) -> None:
    depth = json_depth(body, stop_above=1000)
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return
    assert nesting(value) <= depth


def test_a_body_declared_as_another_media_type_is_415_without_the_app() -> None:
    inner, sent, _ = run([b"{}"], headers=[(b"content-type", b"text/plain; charset=utf-8")])
    status, headers, body = problem(sent)
    assert (status, body["code"]) == (415, "unsupported_media_type")
    assert headers["content-type"] == "application/problem+json"
    assert inner.calls == 0


def test_a_body_that_is_not_json_is_400_without_the_app() -> None:
    inner, sent, _ = run([b'{"a": '], headers=[(b"content-type", b"application/json")])
    status, _, body = problem(sent)
    assert (status, body["code"]) == (400, "malformed_json")
    assert inner.calls == 0


def test_an_empty_body_and_an_exempt_path_reach_the_app() -> None:
    assert run([b""], headers=[(b"content-type", b"text/plain")])[0].calls == 1
    assert run([b"  \n"])[0].calls == 1
    inner = Recorder()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"tx=AAAA", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/pi-sandbox/transactions",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }
    middleware = BodyLimitMiddleware(
        inner, body_bytes_max=cap_bytes, exempt_prefixes=("/pi-sandbox",)
    )
    asyncio.run(middleware(scope, receive, send))
    assert inner.calls == 1
    assert inner.body == b"tx=AAAA"


@given(st.sampled_from(["application/json", "application/problem+json", "application/x+json"]))
def test_json_media_types(media_type: str) -> None:
    assert is_json_media_type(media_type)


@given(st.text(max_size=30).filter(lambda t: t != "application/json" and not t.endswith("+json")))
def test_other_media_types_are_not_json(media_type: str) -> None:
    assert not is_json_media_type(media_type)


@given(json_values)
def test_valid_json_has_no_error(value: object) -> None:
    assert json_error(json.dumps(value).encode()) is None


@given(st.binary(max_size=200))
def test_json_error_agrees_with_json_loads(body: bytes) -> None:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        assert json_error(body) is not None
        return
    assert json_error(body) is None
