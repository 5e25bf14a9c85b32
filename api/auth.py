"""Who calls: ``Authorization: Bearer msk_<prefix>_<secret>`` (an API key) or the operator token.

``authenticated`` answers 401 ``unauthenticated`` without a valid, unrevoked key; ``require``
answers 403 ``forbidden`` to a principal of another role. A route states its callers with one of
the ``Treasury``, ``MerchantOrTreasury``, ``Gateway`` parameters and its document with
``openapi_extra=security(API_KEY, OPERATOR_TOKEN)`` (``API_KEY_SECURITY``). The operator token
(``MSC_OPERATOR_TOKEN``) authenticates as the treasury principal owned by ``operator``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from api.dependencies import services
from api.openapi import API_KEY, OPERATOR_TOKEN, security
from api.problems import Problem
from api.routers.pi import pioneer_uid
from settlement.access.keys import authenticate
from settlement.access.principal import AccessRefused, Principal, Role
from settlement.unit_of_work import transaction

__all__ = [
    "API_KEY_SECURITY",
    "Gateway",
    "MerchantOrTreasury",
    "Treasury",
    "authenticated",
    "key_caller_of",
    "pioneer_caller_of",
    "require",
]

OPERATOR_OWNER = "operator"
_PRINCIPAL = "msc.principal"
"""Scope key of the principal a request authenticated as: looked up once per request (the
Idempotency-Key middleware asks first, the route's dependency after it)."""
API_KEY_SECURITY: dict[str, Any] = security(API_KEY, OPERATOR_TOKEN)
"""``openapi_extra`` of a route that takes an API key (or the operator token)."""


async def authenticated(request: Request) -> Principal:
    """The principal of the request's bearer credential; 401 ``unauthenticated`` without one.

    Its database read runs in the thread pool, once per request (``principal_of``); a request
    the Idempotency-Key middleware authenticated already costs nothing here.
    """
    known = request.scope.get(_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    return await run_in_threadpool(principal_of, request)


def principal_of(request: Request, conn: Connection | None = None) -> Principal:
    """``authenticated`` for a caller already off the event loop, its key read on ``conn`` if
    given (else in a transaction of its own); the first lookup of a request is kept in its
    scope for the next."""
    known = request.scope.get(_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    principal = _lookup(request, conn)
    request.scope[_PRINCIPAL] = principal
    return principal


def _lookup(request: Request, conn: Connection | None) -> Principal:
    """The principal of the request's bearer credential, read from the keys (401 if none)."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise AccessRefused("send Authorization: Bearer <API key>", code="unauthenticated")
    wired = services(request)
    operator = wired.settings.operator_token.get_secret_value()
    if operator and hmac.compare_digest(presented.encode(), operator.encode()):
        return Principal(Role.TREASURY, OPERATOR_OWNER, None)
    if conn is None:
        with transaction(wired.engine) as own:
            principal = authenticate(own, presented, wired.clock.now_us())
    else:
        principal = authenticate(conn, presented, wired.clock.now_us())
    if principal is None:
        raise AccessRefused("the API key is unknown or revoked", code="unauthenticated")
    return principal


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting principals of ``roles`` only (403 ``forbidden`` to the others)."""
    admitted = frozenset(roles)
    names = ", ".join(sorted(admitted))

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in admitted:
            raise AccessRefused(f"{principal.role} keys may not do this; needs {names}")
        return principal

    return dependency


PIONEER_PATHS = re.compile(
    r"^/v1/(checkouts/[^/]+/(dispute|legs/[^/]+/pay)|msc/withdrawals|quotes(/[^/]+)?"
    r"|conversions(/[^/]+)?|me/balances|me/receipts/[^/]+(/[^/]+)?|me/points"
    r"|locks(/[^/]+/(unlock|maturity-action))?)$"
)
"""Routes outside /v1/pi whose caller is a Pioneer (a Pi access token), not an API key."""


def key_caller_of(scope: Scope, conn: Connection) -> str | None:
    """Who a request's API key (or the operator token) acts as (``merchant:UM001``,
    ``treasury:operator``), read on ``conn``; None without a valid one. With
    ``pioneer_caller_of``, what an Idempotency-Key is scoped by, so a revoked key replays
    nothing and one caller's ways of writing its header share one key space."""
    try:
        return principal_of(Request(scope), conn).actor
    except AccessRefused:
        return None


def pioneer_caller_of(scope: Scope) -> str | None:
    """``pioneer:<uid>`` of a Pi access token on the Pioneer's routes (``PIONEER_PATHS``), else
    None: a stranger's token elsewhere costs no call to Pi. Call it outside any transaction
    (it may ask Pi)."""
    request = Request(scope)
    if not PIONEER_PATHS.match(request.url.path):
        return None
    try:
        return f"pioneer:{pioneer_uid(request)}"
    except Problem:
        return None


Treasury = Annotated[Principal, Depends(require(Role.TREASURY))]
MerchantOrTreasury = Annotated[Principal, Depends(require(Role.MERCHANT, Role.TREASURY))]
Gateway = Annotated[Principal, Depends(require(Role.GATEWAY, Role.TREASURY))]
