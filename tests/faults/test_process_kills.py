"""``msc serve`` (the API and its in-process worker) killed with SIGKILL at seeded moments during
a stream of half-Pi, half-QRIS checkouts and Pi to MSC conversions, and started again each
time; the clients retry with their Idempotency-Keys (Pi and QRIS deduplicate by their own ids).
After the stream and a drained outbox: every check of ``msc check`` on the database holds, every
checkout exists once and is released, every conversion is converted, and the Pi sandbox carried
out exactly one completion of every payment.

The Pi sandbox and Midtrans' status sandbox run in this process (tests/support/fault_stack.py),
so what they recorded outlives the service's deaths. A failing seed is its test's id.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.database import worker_database_name
from tests.support.fault_stack import (
    OFFICER,
    Caller,
    Serve,
    Stack,
    books_hold,
    checkout_once,
    convert_once,
    onboard,
    reserve_capital,
    serving_stack,
    wait_drained,
    withdraw_once,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SEEDS = (11, 23, 37)
checkouts_n = 4
stream_max = 60
RESERVE_CAPITAL_IDR = "100000000.00"
CONVERT_PI = "0.5000000"
WITHDRAW_MSC = "100.00"
kills_n = 2
kill_after_s = (0.2, 2.0)


@pytest.fixture
def stack(database_server_url: str, worker_id: str, tmp_path: Path) -> Iterator[Stack]:
    name = f"{worker_database_name(worker_id)}_kill_{uuid.uuid4().hex[:6]}"
    with serving_stack(database_server_url, name, tmp_path) as stack:
        yield stack


class Killer(threading.Thread):
    """Kills the service ``kills_n`` times at seeded moments, starting it again after each."""

    def __init__(self, serve: Serve, seed: int) -> None:
        super().__init__(daemon=True)
        self.serve = serve
        self.rng = random.Random(seed)
        self.kills = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for _ in range(kills_n):
                time.sleep(self.rng.uniform(*kill_after_s))
                self.serve.kill()
                self.kills += 1
                self.serve.start()
        except BaseException as failure:  # reported by the test
            self.failure = failure


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_9_mid_stream_loses_nothing_and_doubles_nothing(stack: Stack, seed: int) -> None:
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        reserve_capital(caller, RESERVE_CAPITAL_IDR)
        attested = stack.serve.run("chain", "attest", "--by", OFFICER)  # the mint cap
        assert attested.returncode == 0, attested.stderr.decode()
        killer = Killer(stack.serve, seed)
        killer.start()
        pids: list[str] = []
        conversions: list[str] = []
        paid_pi: list[str] = []
        withdrawals: list[str] = []
        while len(pids) < checkouts_n or (killer.is_alive() and len(pids) < stream_max):
            pids.append(checkout_once(caller, stack.world, merchant, len(pids)))
            conversion, pid, pioneer = convert_once(caller, stack.world, CONVERT_PI)
            conversions.append(conversion)
            paid_pi.append(pid)
            withdrawals.append(withdraw_once(caller, pioneer, WITHDRAW_MSC))
        killer.join()
    assert killer.failure is None, killer.failure
    assert killer.kills == kills_n
    assert caller.retried, "no request met a dead service"
    wait_drained(stack.engine)

    with stack.engine.connect() as conn:
        statuses = conn.execute(
            text("SELECT merchant_reference, status, count(*) FROM checkouts GROUP BY 1, 2")
        ).all()
        parked = conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'parked'"))
        assert parked.scalar_one() == 0
        assert sorted(statuses) == sorted((f"kill-{n}", "released", 1) for n in range(len(pids)))
        converted = conn.execute(
            text("SELECT status, count(*) FROM conversions WHERE id = ANY(:ids) GROUP BY 1"),
            {"ids": conversions},
        ).all()
        assert converted == [("converted", len(conversions))]
        minted = conn.execute(
            text("SELECT status, count(*) FROM evm_withdrawals WHERE transfer_id = ANY(:ids)"
                 " GROUP BY 1"),
            {"ids": withdrawals},
        ).all()  # fmt: skip
        assert minted == [("minted", len(withdrawals))]
        assert books_hold(conn) == {}
    operator = stack.serve.check()
    assert operator.returncode == 0, operator.stdout.decode()[-3000:]
    assert stack.world.completions.accepted == dict.fromkeys([*pids, *paid_pi], 1)
    for pid in [*pids, *paid_pi]:
        assert stack.world.pi.platform.payments[pid]["status"]["developer_completed"] is True  # type: ignore[index]
