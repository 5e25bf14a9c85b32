"""The Redis token bucket against the in-process one: on the same history of requests and
clock they decide the same (admitted, and Retry-After when refused), so a limit means the same
behind one process or many; two limiters on one Redis share one allowance; Redis down admits."""

from __future__ import annotations

import uuid

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.clock import FixedClock
from settlement.ratelimit import InProcessLimiter, RedisLimiter, redis_client

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/0"
START_US = 1_750_000_000 * 10**6


@pytest.fixture(scope="module")
def client() -> redis.Redis:
    return redis_client(REDIS_URL)


def _prefix() -> str:
    return f"msc:test:ratelimit:{uuid.uuid4().hex}:"


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 10),
    st.integers(1, 120),
    st.lists(st.tuples(st.integers(0, 20_000_000), st.sampled_from("ab")), max_size=60),
)
def test_redis_decides_as_the_in_process_bucket(
    client: redis.Redis, allowed: int, window_s: int, history: list[tuple[int, str]]
) -> None:
    clock = FixedClock(START_US)
    local = InProcessLimiter(allowed, float(window_s), clock)
    shared = RedisLimiter(client, _prefix(), allowed, float(window_s), clock)
    for gap_us, key in history:
        clock.advance_to(clock.now_us() + gap_us)
        assert shared.take(key) == local.take(key)


def test_two_limiters_on_one_redis_share_the_allowance(client: redis.Redis) -> None:
    clock = FixedClock(START_US)
    prefix = _prefix()
    first, second = (RedisLimiter(client, prefix, 3, 60.0, clock) for _ in range(2))
    taken = [limiter.take("key:k").allowed for limiter in (first, second, first, second)]
    assert taken == [True, True, True, False]
    assert first.take("key:other").allowed


def test_redis_down_admits() -> None:
    down = RedisLimiter(
        redis_client("redis://127.0.0.1:1/0"), _prefix(), 1, 60.0, FixedClock(START_US)
    )
    assert all(down.take("key:k").allowed for _ in range(3))
