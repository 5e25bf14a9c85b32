"""What the public (unauthenticated) routes share: a rate limit per client IP, and answers
that caches may keep (``Cache-Control`` and a strong ``ETag``; ``If-None-Match`` gets 304).

The client IP is the connection's peer: behind a reverse proxy, the proxy must limit (or the
server must be told to trust its forwarded-for header), or every client shares one allowance.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response

from api.dependencies import services
from api.problems import refusal_problem
from settlement.audit.published import etag
from settlement.ratelimit import RateLimited

SHORT_CACHE = "public, max-age=60"
"""Lists and files that still grow (signatures, anchors): a minute."""
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
"""Files a digest commits to: they never change once published."""


def public_limit(request: Request) -> None:
    """Spend one request of the client IP's allowance; 429 ``rate_limited`` with
    ``Retry-After`` when it has none."""
    peer = request.client.host if request.client is not None else "unknown"
    decision = services(request).public_limiter.take(f"ip:{peer}")
    if not decision.allowed:
        retry = str(decision.retry_after_s)
        raise refusal_problem(
            RateLimited(decision.retry_after_s), request, headers={"Retry-After": retry}
        )


def cached(
    request: Request, body: bytes, media_type: str, cache_control: str = SHORT_CACHE
) -> Response:
    """``body`` with its entity tag and caching rule; 304 when the client holds it already."""
    tag = etag(body)
    headers = {"ETag": tag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    held = request.headers.get("if-none-match", "")
    if tag in {part.strip() for part in held.split(",")} or held.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def cached_json(request: Request, value: Any, cache_control: str = SHORT_CACHE) -> Response:  # noqa: ANN401 - a model's JSON
    """``value`` as canonical JSON (sorted keys, so equal answers share an ETag), cached."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return cached(request, body, "application/json", cache_control)
