"""The Pi API and Horizon answering 5xx, HTML error pages, gateway timeouts after a wait, and
answers lost after the work was done (the Pi sandbox's fault switches), to ``msc serve`` on
loopback.

A request that needs Pi now (approve, complete) is refused with its typed code and posts
nothing; its retry lands once. A side effect (telling Pi a payment is completed) is retried by the
outbox through every fault, is carried out at Pi exactly once even when an answer was lost, and
no state moves backwards; after recovery every check of ``msc check`` holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from chain.pi.sandbox.app import Fault
from settlement.pi.u2a import OUTBOX_COMPLETE
from tests.database import worker_database_name
from tests.support.fault_stack import (
    BODY,
    Caller,
    Stack,
    World,
    books_hold,
    checkout_once,
    keyed,
    midtrans_notification,
    onboard,
    pi_pioneer,
    serving_stack,
    wait_drained,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
transport_attempts = 3  # chain/pi/transport.py HttpLimits.attempts_max: one outbox try's calls
gateway_wait_s = 0.3
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def stack(
    database_server_url: str, worker_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    name = f"{worker_database_name(worker_id)}_pifaults_{uuid.uuid4().hex[:6]}"
    with serving_stack(database_server_url, name, tmp_path_factory.mktemp("pi")) as stack:
        yield stack


def arm(world: World, scope: str, kind: str, path: str, times: int = transport_attempts) -> None:
    world.pi.faults.append(Fault(scope, kind, times, path, delay_s=gateway_wait_s))


def test_the_completion_side_effect_survives_every_fault_and_lands_once(stack: Stack) -> None:
    for kind in ("status_500", "html_502", "timeout"):
        arm(stack.world, "platform", kind, "/complete")
    arm(stack.world, "platform", "lost_response", "/complete", times=1)
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        pid = checkout_once(caller, stack.world, merchant, 0)
    wait_drained(stack.engine)

    assert stack.world.pi.faults == []  # every fault was met
    assert stack.world.completions.accepted == {pid: 1}  # the lost answer was not redone
    with stack.engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, attempts FROM outbox WHERE kind = :kind AND key = :key"),
            {"kind": OUTBOX_COMPLETE, "key": pid},
        ).one()
        assert row.status == "done"
        assert row.attempts >= 4  # three failed tries, then the one that found it completed
        assert books_hold(conn) == {}


def _new_checkout(caller: Caller, merchant: dict[str, str]) -> dict[str, Any]:
    created = caller.send(
        "POST", "/v1/checkouts", json=BODY | {"merchant_reference": f"f-{uuid.uuid4().hex[:6]}"},
        headers=keyed(merchant),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return dict(created.json())


def _transfers(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM transfers")).scalar_one())


@pytest.mark.parametrize("kind", ["status_500", "html_502", "timeout"])
def test_pi_failing_during_a_request_is_a_typed_refusal_that_posts_nothing(
    stack: Stack, kind: str
) -> None:
    world = stack.world
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        checkout = _new_checkout(caller, merchant)
        pi_leg, qris_leg = checkout["legs"]
        pioneer = pi_pioneer(world, caller)
        params = pi_leg["pi_payment"]
        made = http.post(
            f"{world.pi_url}/sandbox/pioneers/{pioneer['uid']}/payments",
            json={k: params[k] for k in ("amount", "memo", "metadata")},
        )
        pid = made.json()["identifier"]
        bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}

        arm(world, "platform", kind, "/approve")
        refused = http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer)
        assert (refused.status_code, refused.headers["content-type"]) == (503, PROBLEM)
        assert refused.json()["code"] == "pi_unavailable"
        assert world.pi.platform.payments[pid]["status"]["developer_approved"] is False  # type: ignore[index]
        assert http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer).status_code == 200

        txid = http.post(f"{world.pi_url}/sandbox/payments/{pid}/pay").json()["txid"]
        before = _transfers(stack.engine)
        arm(world, "horizon", kind, "/transactions")
        refused = http.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer)
        assert (refused.status_code, refused.headers["content-type"]) == (503, PROBLEM)
        assert refused.json()["code"] == "pi_unavailable"
        assert _transfers(stack.engine) == before  # nothing posted
        done = http.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer)
        assert done.status_code == 200, done.text
        again = http.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer)
        assert again.status_code == 200
        assert _transfers(stack.engine) > before

        note = midtrans_notification(world, qris_leg["reference"], qris_leg["amount"]["amount"],
                                     "settlement")  # fmt: skip
        assert http.post("/v1/qris/notifications/midtrans", content=note).status_code == 200
        paid = http.get(f"/v1/checkouts/{checkout['id']}", headers=merchant).json()
        assert paid["status"] == "paid"
    wait_drained(stack.engine)
    assert world.completions.accepted[pid] == 1
    with stack.engine.connect() as conn:
        assert books_hold(conn) == {}


def _approved_payment(stack: Stack, caller: Caller) -> tuple[str, str, dict[str, str]]:
    """A fresh checkout's Pi leg, created in the Pioneer's app and approved: (pid, txid, auth)."""
    world = stack.world
    _, merchant = onboard(caller)
    pi_leg = _new_checkout(caller, merchant)["legs"][0]
    pioneer = pi_pioneer(world, caller)
    made = caller.http.post(
        f"{world.pi_url}/sandbox/pioneers/{pioneer['uid']}/payments",
        json={k: pi_leg["pi_payment"][k] for k in ("amount", "memo", "metadata")},
    )
    pid = str(made.json()["identifier"])
    bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
    approved = caller.send("POST", f"/v1/pi/payments/{pid}/approve", headers=bearer)
    assert approved.status_code == 200, approved.text
    txid = str(caller.http.post(f"{world.pi_url}/sandbox/payments/{pid}/pay").json()["txid"])
    return pid, txid, bearer


@pytest.mark.parametrize("mode", ["status_503", "html", "hang"])
def test_a_broken_gateway_before_the_platform_api_is_a_typed_refusal(
    stack: Stack, mode: str
) -> None:
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        _, merchant = onboard(caller)
        pi_leg = _new_checkout(caller, merchant)["legs"][0]
        pioneer = pi_pioneer(stack.world, caller)
        made = http.post(
            f"{stack.world.pi_url}/sandbox/pioneers/{pioneer['uid']}/payments",
            json={k: pi_leg["pi_payment"][k] for k in ("amount", "memo", "metadata")},
        )
        pid = made.json()["identifier"]
        bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
        stack.pi_proxy.answer(mode, transport_attempts, delay_s=gateway_wait_s)
        refused = http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer)
        assert (refused.status_code, refused.headers["content-type"]) == (503, PROBLEM)
        assert refused.json()["code"] == "pi_unavailable"
        assert stack.world.pi.platform.payments[pid]["status"]["developer_approved"] is False  # type: ignore[index]
        assert http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer).status_code == 200


def test_a_completion_lands_once_through_a_broken_then_slow_gateway(stack: Stack) -> None:
    """The request and then its side effect meet the faults in turn (one proxy before both)."""
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        pid, txid, bearer = _approved_payment(stack, caller)
        for mode in ("status_503", "html", "hang"):
            stack.pi_proxy.answer(mode, transport_attempts, delay_s=gateway_wait_s)
        stack.pi_proxy.answer("slow", 1, delay_s=1.0)
        stack.pi_proxy.answered.clear()
        complete = f"/v1/pi/payments/{pid}/complete"
        completed = caller.send("POST", complete, json={"txid": txid}, headers=bearer)
        assert completed.status_code == 200, completed.text
        assert caller.retried["503"] >= 1  # refused (typed, retryable) while Pi was unreachable
        wait_drained(stack.engine)
    assert stack.pi_proxy.answered[: 3 * transport_attempts + 1] == [
        *["status_503"] * transport_attempts,
        *["html"] * transport_attempts,
        *["hang"] * transport_attempts,
        "slow",
    ]
    assert stack.world.completions.accepted[pid] == 1
    assert stack.world.pi.platform.payments[pid]["status"]["developer_completed"] is True  # type: ignore[index]
    with stack.engine.connect() as conn:
        assert books_hold(conn) == {}
