"""Rate limits of the public routes: a token bucket per key (a client's IP).

``RateLimiter`` is the interface: ``take`` spends one request of ``key``'s allowance and says how
long to wait when there is none. ``InProcessLimiter`` keeps the buckets in this process's
memory, which is right for one process; behind several (``msc serve --processes``) each process
counts alone, and a Redis-backed limiter with the same interface (an atomic script over a hash
per key) makes the limit shared.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from escrow.calendar import US_PER_S
from escrow.clock import Clock
from escrow.refusals import Refusal

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
        return RateDecision(False, max(1, math.ceil((1 - tokens) / self._per_us / US_PER_S)))


class RateLimited(Refusal):
    """The client spent its allowance of the public routes; ``retry_after_s`` says when to
    come back."""

    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s
