"""``msc serve`` (the API and its in-process worker) killed with SIGKILL at seeded moments during
a stream of half-Pi, half-QRIS checkouts, and started again each time; the clients retry with
their Idempotency-Keys (Pi and QRIS deduplicate by their own ids). After the stream and a
drained outbox: every check of ``msc check`` on the database holds, every checkout exists once
and is released, and the Pi sandbox accepted exactly one completion of every payment.

The Pi sandbox and Midtrans' status sandbox run in this process (tests/support/fault_stack.py),
so what they recorded outlives the service's deaths. A failing seed is its test's id.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from settlement.db import make_engine
from tests.database import drop_database, fresh_database, worker_database_name
from tests.support.fault_stack import (
    Caller,
    Serve,
    World,
    books_hold,
    keyed,
    midtrans_notification,
    onboard,
    outside_world,
    pi_pioneer,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SEEDS = (11, 23, 37)
checkouts_n = 4
stream_max = 300
kills_n = 2
kill_after_s = (0.2, 2.0)
drain_timeout_s = 30.0
BODY = {
    "price": {"amount": "15000.00", "asset": "IDR"},
    "tenders": [{"tender": "PI", "share_bp": 5_000}, {"tender": "QRIS", "share_bp": 5_000}],
}


@dataclass
class Stack:
    serve: Serve
    world: World
    engine: Engine


@pytest.fixture
def stack(database_server_url: str, worker_id: str, tmp_path: Path) -> Iterator[Stack]:
    name = f"{worker_database_name(worker_id)}_kill_{uuid.uuid4().hex[:6]}"
    url = fresh_database(database_server_url, name)
    engine = make_engine(url)
    with outside_world() as world:
        serve = Serve(url, world, tmp_path / "serve.log")
        serve.start()
        try:
            yield Stack(serve, world, engine)
        finally:
            serve.stop()
    engine.dispose()
    drop_database(database_server_url, name)


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


def checkout_once(caller: Caller, world: World, merchant: dict[str, str], n: int) -> str:
    """Create, pay the Pi leg from the Pioneer's app, pay the QRIS leg, hand over."""
    create_key = uuid.uuid4().hex
    created = caller.send(
        "POST", "/v1/checkouts", json=BODY | {"merchant_reference": f"kill-{n}"},
        headers=keyed(merchant, create_key),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    checkout = created.json()
    pi_leg, qris_leg = checkout["legs"]

    pioneer = pi_pioneer(world, caller)
    params = pi_leg["pi_payment"]
    made = caller.http.post(
        f"{world.pi_url}/sandbox/pioneers/{pioneer['uid']}/payments",
        json={"amount": params["amount"], "memo": params["memo"], "metadata": params["metadata"]},
    )
    made.raise_for_status()
    pid = made.json()["identifier"]
    bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
    approved = caller.send("POST", f"/v1/pi/payments/{pid}/approve", headers=bearer)
    assert approved.status_code == 200, approved.text
    txid = caller.http.post(f"{world.pi_url}/sandbox/payments/{pid}/pay").json()["txid"]
    completed = caller.send(
        "POST", f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer
    )
    assert completed.status_code == 200, completed.text

    note = midtrans_notification(
        world, qris_leg["reference"], qris_leg["amount"]["amount"], "settlement"
    )
    notified = caller.send("POST", "/v1/qris/notifications/midtrans", content=note)
    assert notified.status_code == 200, notified.text

    handover_key = uuid.uuid4().hex
    released = caller.send(
        "POST", f"/v1/checkouts/{checkout['id']}/handover", headers=keyed(merchant, handover_key)
    )
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"
    return str(pid)


def wait_drained(engine: Engine) -> None:
    deadline = time.monotonic() + drain_timeout_s
    while True:
        with engine.connect() as conn:
            pending = conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
            if pending.scalar_one() == 0:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"the outbox did not drain within {drain_timeout_s} s")
        time.sleep(0.2)


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_9_mid_stream_loses_nothing_and_doubles_nothing(stack: Stack, seed: int) -> None:
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        killer = Killer(stack.serve, seed)
        killer.start()
        pids = [checkout_once(caller, stack.world, merchant, n) for n in range(checkouts_n)]
        while killer.is_alive() and len(pids) < stream_max:
            pids.append(checkout_once(caller, stack.world, merchant, len(pids)))
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
        assert books_hold(conn) == {}
    assert stack.world.completions.accepted == dict.fromkeys(pids, 1)
    for pid in pids:
        assert stack.world.pi.platform.payments[pid]["status"]["developer_completed"] is True  # type: ignore[index]
