"""``msc serve`` (the API and its in-process worker) killed with SIGKILL at seeded moments during
a stream of half-Pi, half-QRIS checkouts, Pi to MSC conversions and MSC withdrawals, with the
day's payout cut in the middle of it (the bank file and the A2U payout of the merchant, who
keeps its Pi); started again each time. The clients retry with their Idempotency-Keys (Pi and
QRIS deduplicate by their own ids). One kill lands a seeded moment (0-2 s) after the cut is
asked for (in the cut, the file, the confirmation, the A2U's first steps or the stream after
them), one the moment Pi's chain took the A2U payout: its answer is held until the service is
dead (a tripwire across the Pi sandbox's Horizon), so the service never heard of it.
After the stream and a drained outbox: every check of ``msc check`` holds, every checkout
exists once and is released, every conversion is converted, every withdrawal minted once, the
Pi sandbox carried out exactly one completion of every payment (the A2U's too), and the
payout left the wallet once and the bank file in one line, applied once.

The Pi sandbox and Midtrans' status sandbox run in this process (tests/support/fault_stack.py),
so what they recorded outlives the service's deaths. A failing seed is its test's id.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.database import worker_database_name
from tests.support.fault_kills import Killer, Once
from tests.support.fault_payouts import (
    CUTOFF_WIB,
    a2u_paid,
    assert_paid_once,
    cut_and_confirm,
    owed_from_yesterday,
    pi_keeping_payee,
)
from tests.support.fault_stack import (
    OFFICER,
    Caller,
    Stack,
    assert_minted_once,
    books_hold,
    checkout_once,
    convert_once,
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
kill_after_cut_s = (0.0, 2.0)
cut_round = 1
OWED_IDR = 2_500_000  # sen: Rp 25,000.00 earned yesterday
OWED_PI = 30_000_000  # 3 Pi earned yesterday


@pytest.fixture
def stack(database_server_url: str, worker_id: str, tmp_path: Path) -> Iterator[Stack]:
    name = f"{worker_database_name(worker_id)}_kill_{uuid.uuid4().hex[:6]}"
    extra = {"MSC_PAYOUT_CUTOFF_WIB": CUTOFF_WIB}
    with serving_stack(database_server_url, name, tmp_path, extra) as stack:
        yield stack


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_9_mid_stream_loses_nothing_and_doubles_nothing(stack: Stack, seed: int) -> None:
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        payee = pi_keeping_payee(caller, stack.world)
        day = owed_from_yesterday(stack.engine, stack.world, payee, OWED_IDR, OWED_PI)
        reserve_capital(caller, RESERVE_CAPITAL_IDR)
        attested = stack.serve.run("chain", "attest", "--by", OFFICER)  # the mint cap
        assert attested.returncode == 0, attested.stderr.decode()
        cut_asked = threading.Event()
        tripwire = stack.world.tripwire
        tripwire.tripped_by = lambda: bool(a2u_paid(stack.world, payee.pi_address))
        moments = [Once(cut_asked, *kill_after_cut_s), tripwire]
        killer = Killer(stack.serve, seed, moments)
        killer.start()
        paid = None
        pids: list[str] = []
        conversions: list[str] = []
        paid_pi: list[str] = []
        withdrawals: list[str] = []
        while len(pids) < checkouts_n or (killer.is_alive() and len(pids) < stream_max):
            if len(pids) == cut_round:
                cut_asked.set()
                paid = cut_and_confirm(caller, day)
            pids.append(checkout_once(caller, stack.world, payee.till, len(pids)))
            conversion, pid, pioneer = convert_once(caller, stack.world, CONVERT_PI)
            conversions.append(conversion)
            paid_pi.append(pid)
            withdrawals.append(withdraw_once(caller, pioneer, WITHDRAW_MSC))
        killer.join()
    assert killer.failure is None, killer.failure
    assert killer.kills == len(moments)
    assert tripwire.held, "the A2U's answer reached the service before the kill"
    assert caller.retried, "no request met a dead service"
    wait_drained(stack.engine)

    with stack.engine.connect() as conn:
        statuses = conn.execute(
            text("SELECT merchant_reference, status, count(*) FROM checkouts GROUP BY 1, 2")
        ).all()
        assert sorted(statuses) == sorted((f"kill-{n}", "released", 1) for n in range(len(pids)))
        converted = conn.execute(
            text("SELECT status, count(*) FROM conversions WHERE id = ANY(:ids) GROUP BY 1"),
            {"ids": conversions},
        ).all()
        assert converted == [("converted", len(conversions))]
        assert_minted_once(conn, withdrawals)
        assert books_hold(conn) == {}
    operator = stack.serve.check()
    assert operator.returncode == 0, operator.stdout.decode()[-3000:]
    assert paid is not None
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        assert_paid_once(Caller(http), stack.engine, stack.world, payee, paid, OWED_IDR, OWED_PI)
    a2u = [p for p, r in stack.world.pi.platform.payments.items() if r["user_uid"] == payee.pi_uid]
    assert stack.world.completions.accepted == dict.fromkeys([*pids, *paid_pi, *a2u], 1)
    for pid in [*pids, *paid_pi]:
        assert stack.world.pi.platform.payments[pid]["status"]["developer_completed"] is True  # type: ignore[index]
