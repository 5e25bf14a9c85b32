"""Redis lost under the production worker path (``MSC_REDIS_URL``: ``msc serve`` runs no worker
of its own; ``msc worker`` and ``msc beat`` run the outbox over Redis). While Redis is down the
API still takes checkouts, Pi completions and QRIS notifications and posts them; the Pi
completions wait in the outbox, none reaches Pi. Once Redis is back the worker and beat
reconnect and drain them, each completion once, and the books check out.

Redis is a redis-server of the test's own, on a free port, so stopping it disturbs no one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from settlement.pi.u2a import OUTBOX_COMPLETE
from tests.database import worker_database_name
from tests.support.fault_stack import (
    Caller,
    PrivateRedis,
    Stack,
    books_hold,
    checkout_once,
    onboard,
    serving_stack,
    stop,
    wait_drained,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
checkouts_n = 3
outage_s = 3.0  # longer than beat's dispatch interval: a working path would have drained


@pytest.fixture
def stack_and_redis(
    database_server_url: str, worker_id: str, tmp_path: Path
) -> Iterator[tuple[Stack, PrivateRedis]]:
    name = f"{worker_database_name(worker_id)}_redis_{uuid.uuid4().hex[:6]}"
    redis = PrivateRedis()
    redis.start()
    extra = {"MSC_REDIS_URL": redis.url}
    try:
        with serving_stack(database_server_url, name, tmp_path, extra) as stack:
            workers = [stack.serve.spawn("worker", "--concurrency", "1"), stack.serve.spawn("beat")]
            try:
                yield stack, redis
            finally:
                for process in workers:
                    stop(process)
    finally:
        redis.stop()


def pending_completions(engine: Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM outbox WHERE kind = :kind AND status = 'pending'"
        return int(conn.execute(text(query), {"kind": OUTBOX_COMPLETE}).scalar_one())


def test_with_redis_down_requests_post_and_side_effects_wait_then_drain(
    stack_and_redis: tuple[Stack, PrivateRedis],
) -> None:
    stack, redis = stack_and_redis
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        first = checkout_once(caller, stack.world, merchant, 0)
        wait_drained(stack.engine)  # the worker path runs while Redis is up
        assert stack.world.completions.accepted == {first: 1}

        redis.stop()
        pids = [checkout_once(caller, stack.world, merchant, n) for n in range(1, checkouts_n)]
        time.sleep(outage_s)
        assert pending_completions(stack.engine) == len(pids)
        assert stack.world.completions.accepted == {first: 1}
        assert caller.retried == {}  # the API never needed Redis

        redis.start()
        wait_drained(stack.engine)

    assert stack.world.completions.accepted == dict.fromkeys([first, *pids], 1)
    operator = stack.serve.check()  # msc check itself, Pi custody and the token's supply too
    assert operator.returncode == 0, operator.stdout.decode()[-3000:]
    with stack.engine.connect() as conn:
        released = conn.execute(text("SELECT count(*) FROM checkouts WHERE status = 'released'"))
        assert released.scalar_one() == checkouts_n
        assert books_hold(conn) == {}
