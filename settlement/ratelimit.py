"""Rate limits: a token bucket per key (a client's IP, an API key's id, a Pioneer's uid).

``RateLimiter`` is the interface: ``take`` spends one request of ``key``'s allowance and says how
long to wait when there is none. ``InProcessLimiter`` keeps the buckets in this process's
memory, which is right for one process (the embedded default); behind several (``msc serve
--processes``) each process would count alone, so with ``MSC_REDIS_URL`` set ``RedisLimiter``
keeps them in Redis (an atomic script over a hash per key, one round trip), shared by every
API process. Redis unreachable, ``RedisLimiter`` admits (fails open, decision 0038): a limit
protects the service, and refusing every payment because its guard is down would be the outage
the limit exists to prevent.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import redis
import structlog

from escrow.calendar import US_PER_S
from escrow.clock import Clock
from escrow.refusals import Refusal

log = structlog.get_logger(__name__)

buckets_max = 100_000
"""Keys an in-process limiter remembers; the least recently seen is forgotten first (a full
bucket, which is what a forgotten key starts with again)."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether the request may go on, and if not how many whole seconds to wait."""

    allowed: bool
    retry_after_s: int = 0


class RateLimiter(Protocol):
    """Spends one request of a key's allowance."""

    def take(self, key: str) -> RateDecision:
        """Spend one request of ``key``'s allowance, if it has one."""
        ...


class InProcessLimiter:
    """``requests_max`` requests per ``window_s`` per key, refilled continuously."""

    def __init__(self, requests_max: int, window_s: float, clock: Clock) -> None:
        if requests_max < 1 or window_s <= 0:
            raise ValueError("a rate limit allows at least one request per positive window")
        self._capacity = float(requests_max)
        self._per_us = requests_max / (window_s * US_PER_S)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> RateDecision:
        """Spend one request of ``key``'s allowance, if it has one."""
        now = self._clock.now_us()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + max(0, now - at) * self._per_us)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > buckets_max:
                self._buckets.popitem(last=False)
        if allowed:
            return RateDecision(True)
        return refused(tokens, self._per_us)


def refused(tokens: float, per_us: float) -> RateDecision:
    """A refusal saying how many whole seconds until ``tokens`` refill to one."""
    return RateDecision(False, max(1, math.ceil((1 - tokens) / per_us / US_PER_S)))


_BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local per_us = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or capacity
local at = tonumber(held[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_us)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {allowed, string.format('%.17g', tokens)}
"""
"""One bucket's refill and spend, atomic in Redis. ``at`` is kept as sent (µs, exact); the
key expires once a full refill has passed (a missing bucket is a full one)."""
redis_timeout_s = 0.25
"""How long a request waits for Redis before it is admitted unlimited (fails open)."""


class RedisLimiter:
    """``InProcessLimiter``'s bucket kept in Redis under ``prefix + key``: shared by every
    process on the same Redis; admits when Redis does not answer (decision 0038)."""

    def __init__(
        self, client: redis.Redis, prefix: str, requests_max: int, window_s: float, clock: Clock
    ) -> None:
        if requests_max < 1 or window_s <= 0:
            raise ValueError("a rate limit allows at least one request per positive window")
        self._capacity = requests_max
        self._per_us = requests_max / (window_s * US_PER_S)
        self._ttl_ms = max(1, math.ceil(window_s * 1000))
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_BUCKET_SCRIPT)

    def take(self, key: str) -> RateDecision:
        """Spend one request of ``key``'s allowance, if it has one (or Redis is down)."""
        args: list[int | str] = [
            self._capacity,
            repr(self._per_us),
            self._clock.now_us(),
            self._ttl_ms,
        ]
        try:
            allowed, tokens = self._script(keys=[self._prefix + key], args=args)
        except redis.RedisError as error:
            log.warning("rate_limit_unavailable", error=type(error).__name__)
            return RateDecision(True)
        if int(allowed) == 1:
            return RateDecision(True)
        return refused(float(tokens), self._per_us)


def redis_client(url: str) -> redis.Redis:
    """A client whose calls give up after ``redis_timeout_s`` (the limiter then admits)."""
    return redis.Redis.from_url(
        url, socket_timeout=redis_timeout_s, socket_connect_timeout=redis_timeout_s
    )


class RateLimited(Refusal):
    """The client (an IP, an API key, a Pioneer) spent its allowance; ``retry_after_s`` says
    when to come back."""

    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits of the authenticated routes: per API key id, per Pioneer uid, per client IP
    (the Pioneer routes'). The public routes' own per-IP limit is the container's
    ``public_limiter``."""

    key: RateLimiter
    pioneer: RateLimiter
    ip: RateLimiter
