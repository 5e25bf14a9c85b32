"""Every outside event of a checkout delivered twice and out of order, over HTTP to ``msc serve``:
the Pi app's approve and complete callbacks (again, and approve arriving after complete), and
Midtrans' notifications (again, an older ``pending`` after ``settlement``, and again after the
hand-over). Nothing is posted twice, no state moves backwards, Pi is told once, and every check of
``msc check`` holds.

The same properties at the use-case level (and for the bank's confirmation file and chain
deposits re-scanned) are in tests/integration: test_qris_reconcile.py, api/test_refusals.py,
pi/test_pi_u2a.py, payouts/test_payout_batch.py, test_evm_bridge.py; this is the whole rail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.database import worker_database_name
from tests.support.fault_stack import (
    BODY,
    Caller,
    Stack,
    books_hold,
    keyed,
    midtrans_notification,
    onboard,
    pi_pioneer,
    serving_stack,
    wait_drained,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
FORWARD_OF = {"credited": {"credited", "completed"}, "completed": {"completed"}}
"""A Pi payment's statuses a later answer may show: the same, or Pi told (by the outbox)."""


@pytest.fixture(scope="module")
def stack(
    database_server_url: str, worker_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    name = f"{worker_database_name(worker_id)}_redeliver_{uuid.uuid4().hex[:6]}"
    with serving_stack(database_server_url, name, tmp_path_factory.mktemp("re")) as stack:
        yield stack


def _transfers(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM transfers")).scalar_one())


def test_twice_and_reversed_deliveries_post_once_and_never_go_back(stack: Stack) -> None:
    world = stack.world
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        created = http.post("/v1/checkouts", json=BODY, headers=keyed(merchant))
        assert created.status_code == 201, created.text
        checkout = created.json()
        pi_leg, qris_leg = checkout["legs"]
        status_url = f"/v1/checkouts/{checkout['id']}"

        def status() -> str:
            return str(http.get(status_url, headers=merchant).json()["status"])

        pioneer = pi_pioneer(world, caller)
        params = pi_leg["pi_payment"]
        made = http.post(
            f"{world.pi_url}/sandbox/pioneers/{pioneer['uid']}/payments",
            json={k: params[k] for k in ("amount", "memo", "metadata")},
        )
        pid = made.json()["identifier"]
        bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
        approve = f"/v1/pi/payments/{pid}/approve"
        assert [http.post(approve, headers=bearer).status_code for _ in range(2)] == [200, 200]
        txid = http.post(f"{world.pi_url}/sandbox/payments/{pid}/pay").json()["txid"]
        complete = f"/v1/pi/payments/{pid}/complete"
        first = http.post(complete, json={"txid": txid}, headers=bearer)
        assert first.status_code == 200, first.text
        after_pi = _transfers(stack.engine)
        second = http.post(complete, json={"txid": txid}, headers=bearer)
        assert second.status_code == 200, second.text
        assert second.json()["status"] in FORWARD_OF[first.json()["status"]]
        late_approve = http.post(approve, headers=bearer)  # the Pi app's retry, arriving last
        assert late_approve.status_code in {200, 409}, late_approve.text
        assert _transfers(stack.engine) == after_pi

        reference, gross = qris_leg["reference"], qris_leg["amount"]["amount"]
        settled = midtrans_notification(world, reference, gross, "settlement")
        notify = "/v1/qris/notifications/midtrans"
        assert http.post(notify, content=settled).json()["outcome"] == "posted"
        assert status() == "paid"
        paid = _transfers(stack.engine)
        assert http.post(notify, content=settled).json()["outcome"] == "duplicate"
        older = world.midtrans.notification(reference, transaction_status="pending",
                                            status_code="201")  # fmt: skip
        assert http.post(notify, content=older).json()["outcome"] in {"stale", "duplicate"}
        assert status() == "paid"
        assert _transfers(stack.engine) == paid

        released = http.post(f"{status_url}/handover", headers=keyed(merchant))
        assert released.json()["status"] == "released"
        handed = _transfers(stack.engine)
        assert http.post(notify, content=settled).json()["outcome"] == "duplicate"
        again = http.post(complete, json={"txid": txid}, headers=bearer)
        assert again.status_code == 200, again.text
        assert again.json()["status"] in FORWARD_OF[second.json()["status"]]
        assert status() == "released"
        assert _transfers(stack.engine) == handed

    wait_drained(stack.engine)
    assert world.completions.accepted == {pid: 1}
    operator = stack.serve.check()  # msc check itself, Pi custody and the token's supply too
    assert operator.returncode == 0, operator.stdout.decode()[-3000:]
    with stack.engine.connect() as conn:
        assert books_hold(conn) == {}
