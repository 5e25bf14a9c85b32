"""``Idempotency-Key`` on every state-changing route under /v1: the first answer, replayed.

Every POST, PUT, PATCH and DELETE under ``/v1`` (except ``/v1/pi/`` and ``/v1/qris/``, whose
rails deduplicate by the payment's own id) must carry the header: without it the answer is 400
``idempotency_key_required`` and nothing runs. The same key with the same request replays the
first answer (status, body, content type) with ``Idempotent-Replayed: true``; with another
request it is 422 ``idempotency_key_reused``; while the first still runs, 409
``idempotency_key_in_use``. The storage and its rules are ``settlement.idempotency``.

The middleware sits inside ``BodyLimitMiddleware`` (body limits are refused before a key is
stored), reads the body once and replays it to the app. The key is claimed in a committed
transaction of its own before the route runs. A route that changes something keeps its answer in
the use case's own transaction (``keep_within``, through ``api.answers.run_kept``), so that the
change and the answer a retry replays commit together or not at all: a worker killed between
the two can never leave a change whose retry runs it again. Any other answer is recorded after
the route (before a byte of it is sent); a 5xx, a crash, or an answer that refused before any use
case ran (401, 403, a schema refusal) releases the key so the retry runs again. Routes declare
``idempotency_key: IdempotencyKey`` so that the header is in their OpenAPI document.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import structlog
from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import key_caller_of, pioneer_caller_of
from api.problems import PROBLEM_MEDIA_TYPE, refusal_problem
from settlement.idempotency import (
    Claim,
    IdempotencyRefused,
    Outcome,
    StoredAnswer,
    claim,
    record,
    release,
    request_digest,
)
from settlement.services import Services
from settlement.unit_of_work import transaction

__all__ = [
    "HEADER",
    "REPLAYED_HEADER",
    "IdempotencyKey",
    "IdempotencyMiddleware",
    "keep_instead",
    "keep_within",
]

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
key_chars_max = 255
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COVERED_PREFIX = "/v1/"
EXEMPT_PREFIXES = ("/v1/pi/", "/v1/qris/")
"""The Pi and QRIS rails deduplicate by the payment's own id (Pi's payment id, the gateway's
transaction id): their callers send no Idempotency-Key."""
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
"""Visible ASCII, inner spaces allowed (a UUID, a ULID, any client's own scheme)."""
_KEPT_INSTEAD = "msc.idempotency.kept_instead"
"""Scope key of the list a route appends its replayed body to (``keep_instead``)."""
_HELD = "msc.idempotency.held"
"""Scope key of the claim the request holds: (principal, key, claimed_at_us)."""
_KEPT_WITHIN = "msc.idempotency.kept_within"
"""Scope key of the answer a route kept in its own transaction (``keep_within``)."""
_NOT_EXECUTED = frozenset({401, 403})
"""Answers given before any use case ran (no principal, or the wrong one): never kept."""

IdempotencyKey = Annotated[
    str,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=key_chars_max,
        description="A key of the client's choosing (a UUID is good) naming this operation: a"
        " retry with the same key and the same body gets the first answer again (with"
        f" `{REPLAYED_HEADER}: true`) for at least 24 hours, never a second execution; the"
        " same key with another body is 422 `idempotency_key_reused`, and while the first"
        " request runs 409 `idempotency_key_in_use`.",
    ),
]
"""The parameter every state-changing route declares (the middleware does the work)."""


def covered(method: str, path: str) -> bool:
    """Whether a request needs an Idempotency-Key."""
    return (
        method in STATE_CHANGING
        and path.startswith(COVERED_PREFIX)
        and not path.startswith(EXEMPT_PREFIXES)
    )


class IdempotencyMiddleware:
    """Pure ASGI middleware storing and replaying the answers of state-changing requests."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not covered(scope["method"], scope["path"]):
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER.lower().encode())
        if raw_key is None:
            await _refuse(scope, receive, send, "idempotency_key_required", f"send {HEADER}")
            return
        key = raw_key.decode("latin-1")
        if len(key) > key_chars_max or not _KEY.fullmatch(key):
            detail = f"1 to {key_chars_max} visible ASCII characters"
            await _refuse(scope, receive, send, "idempotency_key_invalid", detail)
            return
        body = await _read(receive)
        digest = request_digest(scope["method"], scope["path"], scope["query_string"], body)
        principal, held = await run_in_threadpool(self._identify_and_claim, scope, key, digest)
        if principal is None or held is None:  # the route refuses it (401): nothing is claimed
            await self._app(scope, _once(body, receive), send)
            return
        if held.outcome is Outcome.REPLAY and held.answer is not None:
            await _replay(held.answer)(scope, receive, send)
        elif held.outcome is Outcome.REUSED:
            detail = "the key was used for another request; use a new key"
            await _refuse(scope, receive, send, "idempotency_key_reused", detail)
        elif held.outcome is Outcome.IN_USE:
            detail = "a request with this key is still running; retry later"
            await _refuse(scope, receive, send, "idempotency_key_in_use", detail)
        else:
            await self._execute(scope, _once(body, receive), send, principal, key, held)

    async def _execute(
        self, scope: Scope, receive: Receive, send: Send, principal: str, key: str, held: Claim
    ) -> None:
        """Run the app with the key held; keep or release its answer, then send it."""
        messages: list[Message] = []
        kept_instead: list[bytes] = []
        scope[_KEPT_INSTEAD] = kept_instead
        scope[_HELD] = (principal, key, held.claimed_at_us)

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            await self._app(scope, receive, capture)
        except BaseException:
            await run_in_threadpool(self._release, principal, key, held.claimed_at_us)
            raise
        answer = _answer(messages, kept_instead[-1] if kept_instead else None)
        routed = "endpoint" in scope  # the router found an operation (not its 307, 404, 405)
        if answer is not None and answer == scope.get(_KEPT_WITHIN):
            pass  # committed with the use case's change
        elif answer is not None and routed and kept(answer):
            await run_in_threadpool(self._record, principal, key, held.claimed_at_us, answer)
        else:
            await run_in_threadpool(self._release, principal, key, held.claimed_at_us)
        for message in messages:
            await send(message)

    def _identify_and_claim(
        self, scope: Scope, key: str, digest: bytes
    ) -> tuple[str | None, Claim | None]:
        """Who the request acts as and its claim on the key: an API key's lookup and the claim
        in one transaction; a Pioneer's token asked of Pi outside any. (None, None) for a
        request that authenticates as nobody."""
        with transaction(self._services.engine) as conn:
            principal = key_caller_of(scope, conn)
            if principal is not None:
                return principal, self._claim(conn, principal, key, digest)
        principal = pioneer_caller_of(scope)
        if principal is None:
            return None, None
        with transaction(self._services.engine) as conn:
            return principal, self._claim(conn, principal, key, digest)

    def _claim(self, conn: Connection, principal: str, key: str, digest: bytes) -> Claim:
        settings = self._services.settings
        return claim(
            conn,
            principal,
            key,
            digest,
            now_us=self._services.clock.now_us(),
            ttl_s=settings.idempotency_ttl_s,
            lock_s=settings.idempotency_lock_s,
        )

    def _record(self, principal: str, key: str, claimed_at_us: int, answer: StoredAnswer) -> None:
        with transaction(self._services.engine) as conn:
            if not record(conn, principal, key, claimed_at_us, answer):
                log.warning("idempotency_claim_lost", status=answer.status_code)

    def _release(self, principal: str, key: str, claimed_at_us: int) -> None:
        with transaction(self._services.engine) as conn:
            release(conn, principal, key, claimed_at_us)


def kept(answer: StoredAnswer) -> bool:
    """Whether an answer is the key's for good: not a 5xx (its transaction rolled back), not a
    redirect, not an answer given before any use case ran (401, 403, or the schema's
    ``invalid_request``)."""
    if answer.status_code >= 500 or answer.status_code in _NOT_EXECUTED:
        return False
    if 300 <= answer.status_code < 400:
        return False
    if answer.status_code == 422 and answer.content_type == PROBLEM_MEDIA_TYPE:
        try:
            code = json.loads(answer.body).get("code")
        except (ValueError, AttributeError):
            return True
        return bool(code != "invalid_request")
    return True


def keep_instead(request: Request, body: BaseModel) -> None:
    """Keep and replay ``body`` (same status and content type) instead of the answer sent: for
    an answer holding a secret shown once, whose replay must not show it (an API key's token is
    never stored in the clear, not even for a retry)."""
    holder = request.scope.get(_KEPT_INSTEAD)
    if isinstance(holder, list):
        holder.append(body.model_dump_json().encode())


def keep_within(request: Request, conn: Connection, answer: StoredAnswer) -> None:
    """Keep ``answer`` as the request's Idempotency-Key answer in the transaction of ``conn``,
    the one that makes the change, so both commit or neither does. A claim lost meanwhile (its
    lock passed and a retry took it over) is 409 ``idempotency_key_in_use``, raised so that the
    change rolls back and runs once, in the retry. Without a claim (no key needed) a no-op."""
    held = request.scope.get(_HELD)
    if held is None:
        return
    principal, key, claimed_at_us = held
    if not record(conn, principal, key, claimed_at_us, answer):
        detail = "the key's claim passed to a retry of this request; its answer is the retry's"
        raise IdempotencyRefused(detail, code="idempotency_key_in_use")
    request.scope[_KEPT_WITHIN] = answer


def _answer(messages: list[Message], instead: bytes | None) -> StoredAnswer | None:
    """The answer the app sent (its body replaced by ``instead`` if given), or None if it sent
    none."""
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        return None
    content_type = next(
        (v.decode("latin-1") for n, v in start.get("headers", []) if n.lower() == b"content-type"),
        None,
    )
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if instead is not None:
        body = instead
    return StoredAnswer(int(start["status"]), body, content_type)


def _replay(answer: StoredAnswer) -> Response:
    return Response(
        answer.body,
        status_code=answer.status_code,
        media_type=answer.content_type,
        headers={REPLAYED_HEADER: "true"},
    )


async def _read(receive: Receive) -> bytes:
    """The whole body (``BodyLimitMiddleware`` has bounded it already)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _once(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the client's own messages."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send, code: str, detail: str) -> None:
    problem = refusal_problem(IdempotencyRefused(detail, code=code), Request(scope))
    log.info("request_refused", code=problem.code, status=problem.status)
    response = JSONResponse(
        problem.body(scope["path"]), status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE
    )
    await response(scope, receive, send)
