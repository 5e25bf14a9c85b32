"""Rate limits of the authenticated routes, before anything runs: per API key, per Pioneer (Pi
uid) and per client IP on the Pioneer routes (decision 0038).

``RateLimitMiddleware`` sits outside ``IdempotencyMiddleware``: a refused request claims no
Idempotency-Key, stores no answer and runs no use case, so its retry (after ``Retry-After``)
runs as if it were the first. A request with an API key spends its key's allowance (the
operator token counts as one key), found from the credential itself with no read of the keys
(the idempotency claim reads them, in its one transaction); one on a Pioneer route spends its
client IP's allowance, then its key's, or its Pioneer's for a Pi access token (only a token
that is no API key is asked of Pi). A request with no credential spends no key's or Pioneer's
allowance: the route answers it 401. The public audit routes keep their own limit (``api.public``).
"""

from __future__ import annotations

import hashlib
import hmac

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import PIONEER_PATHS
from api.dependencies import services
from api.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    problem_response,
    problem_responses,
    refusal_problem,
)
from api.routers.pi import pioneer_uid
from settlement.access.keys import parse_token
from settlement.ratelimit import RateDecision, RateLimited
from settlement.services import Services

__all__ = ["RateLimitMiddleware", "client_ip", "document_limits", "limited"]

log = structlog.get_logger(__name__)

LIMITED_PREFIX = "/v1/"
UNLIMITED_PREFIXES = ("/v1/audit/", "/v1/qris/")
"""The public audit routes (their own per-IP limit) and the gateways' notifications (a
gateway's retries must reach us; they are authenticated by signature, not a key)."""
PIONEER_PREFIX = "/v1/pi/"
credential_hex_chars = 32


def client_ip(scope: Scope) -> str:
    """The connection's peer (behind a proxy, the proxy's: see ``api.public``)."""
    peer = scope.get("client")
    return str(peer[0]) if peer else "unknown"


def limited(path: str) -> bool:
    """Whether requests to ``path`` spend an allowance here."""
    return path.startswith(LIMITED_PREFIX) and not path.startswith(UNLIMITED_PREFIXES)


def document_limits(app: FastAPI) -> None:
    """Document 429 ``rate_limited`` on every limited operation (call after the routers)."""
    too_many = problem_responses(429)[429]
    for route in app.routes:
        if isinstance(route, APIRoute) and limited(route.path):
            route.responses.setdefault(429, too_many)


def pioneer_route(path: str) -> bool:
    """Whether a Pioneer (a Pi access token) calls ``path``."""
    return path.startswith(PIONEER_PREFIX) or PIONEER_PATHS.match(path) is not None


class RateLimitMiddleware:
    """Pure ASGI middleware answering 429 ``rate_limited`` with ``Retry-After``."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not limited(path):
            await self._app(scope, receive, send)
            return
        try:
            decision = await run_in_threadpool(self._decide, scope)
        except Problem as unanswerable:  # Pi could not say who the Pioneer is: nor can the route
            log.info("request_refused", code=unanswerable.code, status=unanswerable.status)
            await problem_response(unanswerable, Request(scope))(scope, receive, send)
            return
        if decision.allowed:
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        problem = refusal_problem(RateLimited(decision.retry_after_s), request)
        log.info("request_refused", code=problem.code, status=problem.status)
        response = JSONResponse(
            problem.body(path),
            status_code=problem.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={"Retry-After": str(decision.retry_after_s)},
        )
        await response(scope, receive, send)

    def _decide(self, scope: Scope) -> RateDecision:
        """Spend the request's allowances (off the event loop: Redis, Pi)."""
        limits = self._services.limits
        request = Request(scope)
        pioneers = pioneer_route(scope["path"])
        if pioneers:
            by_ip = limits.ip.take(f"ip:{client_ip(scope)}")
            if not by_ip.allowed:
                return by_ip
        credential = _api_credential(request)
        if credential is not None:
            return limits.key.take(f"key:{credential}")
        if not pioneers:
            return RateDecision(True)  # no API key: the route answers 401 unauthenticated
        try:  # not an API key: a Pi access token, asked of Pi (as the routes do, key first)
            uid = pioneer_uid(request)
        except Problem as refused:
            if refused.status != 401:
                raise  # Pi unreachable: the route would meet the same refusal (a typed 503)
            return RateDecision(True)  # the route answers 401 pi_unauthorized
        return limits.pioneer.take(f"pioneer:{uid}")


def _api_credential(request: Request) -> str | None:
    """The bucket of the request's API key or operator token, without reading the keys: the
    SHA-256 of the credential as presented (one token per key, so one bucket per key; a forged
    or revoked token spends only its own, and the route still answers it 401). None when the
    bearer is no API key (a Pi access token, or nothing)."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return None
    operator = services(request).settings.operator_token.get_secret_value()
    is_operator = bool(operator) and hmac.compare_digest(presented.encode(), operator.encode())
    if not is_operator and parse_token(presented) is None:
        return None
    return hashlib.sha256(presented.encode()).hexdigest()[:credential_hex_chars]
