"""Redis lost under ``MSC_ENV=production`` itself (its guards untouched: fresh secrets, Pi's API
and Horizon spoken over HTTP with the sandbox mode off, two price sources, a chain id that is
not anvil's, two confirmations; tests/support/fault_production.py) and its worker path
(``MSC_REDIS_URL``: ``msc serve`` runs no worker of its own; ``msc worker`` and ``msc beat`` run
the outbox over Redis). While Redis is down the API still takes checkouts, Pi completions and
QRIS notifications and posts them; the Pi completions wait in the outbox, none reaches Pi.
Once Redis is back the worker and beat reconnect and drain them, each completion once, and
the books check out.

Redis is a redis-server of the test's own, on a free port, so stopping it disturbs no one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from settlement.pi.u2a import OUTBOX_COMPLETE
from tests.database import worker_database_name
from tests.support.fault_celery import CeleryStack, celery_stack
from tests.support.fault_production import Production
from tests.support.fault_stack import (
    Caller,
    books_hold,
    checkout_once,
    onboard,
    wait_drained,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
checkouts_n = 3
outage_s = 3.0  # longer than beat's dispatch interval: a working path would have drained


@pytest.fixture
def production(database_server_url: str, worker_id: str, tmp_path: Path) -> Iterator[CeleryStack]:
    name = f"{worker_database_name(worker_id)}_redis_{uuid.uuid4().hex[:6]}"
    with celery_stack(database_server_url, name, tmp_path, Production()) as found:
        yield found


def pending_completions(engine: Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM outbox WHERE kind = :kind AND status = 'pending'"
        return int(conn.execute(text(query), {"kind": OUTBOX_COMPLETE}).scalar_one())


def test_in_production_with_redis_down_requests_post_and_side_effects_wait_then_drain(
    production: CeleryStack,
) -> None:
    stack, redis = production.stack, production.redis
    sandboxed = replace(stack.serve, extra=stack.serve.extra | {"MSC_PI_SANDBOX": "true"})
    refused = sandboxed.run("check")  # the guards are on: the sandbox mode is refused
    assert refused.returncode != 0
    assert b"refusing to start in production" in refused.stderr + refused.stdout
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller, stack.operator)
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
