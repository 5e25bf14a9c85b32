"""The separate Celery worker (``msc worker``: ``msc serve`` runs no worker of its own, ``msc
beat`` says "look now"), under ``MSC_ENV=production`` (tests/support/fault_production.py),
killed with SIGKILL at seeded moments during a stream of half-Pi, half-QRIS checkouts, Pi to
MSC conversions and MSC withdrawals, and started again each time: one a seeded pause after its
start (booting, or mid-task), one the moment Pi carried out a completion the worker asked for,
its answer held until the worker is dead (a tripwire across the Pi sandbox), so the outbox
never heard that it was done. After the stream and a drained outbox: every completion was
carried out at Pi exactly once, every withdrawal minted once (the token's supply on anvil),
``msc check`` exits 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.database import worker_database_name
from tests.support.fault_celery import CeleryStack, celery_stack
from tests.support.fault_kills import After, Killer
from tests.support.fault_production import Production
from tests.support.fault_stack import (
    OFFICER,
    Caller,
    assert_minted_once,
    books_hold,
    checkout_once,
    convert_once,
    onboard,
    reserve_capital,
    wait_drained,
    withdraw_once,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SEEDS = (5,)
rounds_n = 2
stream_max = 12
RESERVE_CAPITAL_IDR = "100000000.00"
CONVERT_PI = "0.5000000"
WITHDRAW_MSC = "100.00"
kill_after_s = (1.0, 4.0)
"""From the worker's (re)start: it takes about a second to boot, beat asks every 2 s."""


@pytest.fixture
def celery(database_server_url: str, worker_id: str, tmp_path: Path) -> Iterator[CeleryStack]:
    name = f"{worker_database_name(worker_id)}_wkill_{uuid.uuid4().hex[:6]}"
    with celery_stack(database_server_url, name, tmp_path, Production()) as found:
        yield found


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_9_of_the_celery_worker_mid_stream_loses_nothing_and_doubles_nothing(
    celery: CeleryStack, seed: int
) -> None:
    stack = celery.stack
    tripwire = stack.world.tripwire
    tripwire.path = "/complete"
    tripwire.tripped_by = lambda: sum(stack.world.completions.accepted.values()) >= 2
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller, stack.operator)
        reserve_capital(caller, RESERVE_CAPITAL_IDR, stack.operator)
        attested = stack.serve.run("chain", "attest", "--by", OFFICER)  # the mint cap
        assert attested.returncode == 0, attested.stderr.decode()
        killer = Killer(celery.worker, seed, [After(*kill_after_s), tripwire])
        killer.start()
        pids: list[str] = []
        withdrawals: list[str] = []
        while len(pids) < rounds_n * 2 or (killer.is_alive() and len(pids) < stream_max):
            pids.append(checkout_once(caller, stack.world, merchant, len(pids)))
            _, pid, pioneer = convert_once(caller, stack.world, CONVERT_PI)
            pids.append(pid)
            withdrawals.append(withdraw_once(caller, pioneer, WITHDRAW_MSC))
        killer.join()
    assert killer.failure is None, killer.failure
    assert killer.kills == 2
    assert tripwire.held, "the completion's answer reached the worker before the kill"
    assert caller.retried == {}  # the API never met a dead worker
    wait_drained(stack.engine)

    assert stack.world.completions.accepted == dict.fromkeys(pids, 1)
    with stack.engine.connect() as conn:
        released = conn.execute(text("SELECT count(*) FROM checkouts WHERE status = 'released'"))
        assert released.scalar_one() == len(pids) // 2
        assert_minted_once(conn, withdrawals)
        assert books_hold(conn) == {}
    operator = stack.serve.check()  # Pi custody and the token's supply (each mint once)
    assert operator.returncode == 0, operator.stdout.decode()[-3000:]
