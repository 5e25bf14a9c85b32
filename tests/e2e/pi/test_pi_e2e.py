"""The whole Pi rail over HTTP: the sandbox plays the Pioneer, the service and its worker settle.

The service runs in uvicorn on a real socket, with the Pi sandbox mounted in-process at
/pi-sandbox (the embedded default); its own database, so its worker sees only its messages.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from api.app import create_app
from escrow.clock import SystemClock
from escrow.ledger import Ledger
from settlement.bootstrap import Container, build_container
from settlement.config import Settings
from settlement.pi import a2u
from settlement.pi.accounts import CUSTODY
from settlement.pi.deps import PiDeps
from settlement.pi.expectations import create_expectation, metadata_for
from settlement.pi.reconcile import reconcile
from settlement.unit_of_work import bind
from tests.database import drop_database, fresh_database, worker_database_name

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
startup_timeout_s = 10.0


@dataclass
class Service:
    base: str
    http: httpx.Client
    container: Container

    @property
    def deps(self) -> PiDeps:
        deps = self.container.pi
        assert isinstance(deps, PiDeps)
        return deps

    def work(self) -> int:
        return self.container.dispatcher.dispatch_due()


@pytest.fixture(scope="module")
def service(database_server_url: str, worker_id: str) -> Iterator[Service]:
    name = worker_database_name(worker_id) + "_pi_e2e"
    url = fresh_database(database_server_url, name)
    settings = Settings(pi_sandbox=True, outbox_backoff_base_s=1)
    container = build_container(settings, url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(container), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=10) as http:
        yield Service(base, http, container)
    server.should_exit = True
    thread.join(timeout=10)
    container.engine.dispose()
    drop_database(database_server_url, name)
    container.engine.dispose()


def add_pioneer(svc: Service, balance: str) -> dict[str, str]:
    reply = svc.http.post(
        "/pi-sandbox/sandbox/pioneers", json={"username": "ani", "balance": balance}
    )
    reply.raise_for_status()
    return dict(reply.json())


def expectation(svc: Service, amount_units: int, account: str) -> dict[str, object]:
    with svc.container.engine.begin() as conn:
        exp = create_expectation(
            bind(conn, SystemClock()),
            purpose="test",
            amount_units=amount_units,
            credit_account=account,
        )
    return metadata_for(exp)


def bearer(pioneer: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pioneer['access_token']}"}


def pioneer_creates_payment(
    svc: Service, pioneer: dict[str, str], amount: str, meta: object
) -> str:
    reply = svc.http.post(
        f"/pi-sandbox/sandbox/pioneers/{pioneer['uid']}/payments",
        json={"amount": amount, "memo": "Madiun", "metadata": meta},
    )
    reply.raise_for_status()
    return str(reply.json()["identifier"])


def test_u2a_then_a2u_over_http(service: Service) -> None:
    svc = service
    liability = f"pioneer:{uuid.uuid4().hex[:12]}:PI"
    pioneer = add_pioneer(svc, "50")
    meta = expectation(svc, 31_415_926, liability)
    pid = pioneer_creates_payment(svc, pioneer, "3.1415926", meta)

    approved = svc.http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer(pioneer))
    assert approved.status_code == 200, approved.text
    again = svc.http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer(pioneer))
    assert again.status_code == 200
    txid = svc.http.post(f"/pi-sandbox/sandbox/payments/{pid}/pay").json()["txid"]
    done = svc.http.post(
        f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer(pioneer)
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "credited"
    assert svc.work() >= 1
    pi_view = svc.http.get(
        f"/pi-sandbox/v2/payments/{pid}",
        headers={"Authorization": f"Key {svc.container.settings.pi_api_key.get_secret_value()}"},
    ).json()
    assert pi_view["status"]["developer_completed"] is True

    with svc.container.engine.begin() as conn:
        payout_id = a2u.request_payout(
            bind(conn, svc.deps.clock),
            svc.deps,
            key=f"refund:{pid}",
            uid=pioneer["uid"],
            amount_units=11_415_926,
            memo="refund",
            debit_account=liability,
        )
    for _ in range(10):
        svc.work()
        with svc.container.engine.begin() as conn:
            if a2u.load(bind(conn, SystemClock()), payout_id, lock=False).status == "completed":
                break
    with svc.container.engine.begin() as conn:
        assert a2u.load(bind(conn, SystemClock()), payout_id, lock=False).status == "completed"
        assert Ledger(conn).balance(liability).posted == 20_000_000
        assert reconcile(bind(conn, svc.deps.clock), svc.deps).ok
        custody = Ledger(conn).balance(CUSTODY).posted
    account = svc.http.get(f"/pi-sandbox/accounts/{pioneer['address']}").json()
    # 50 - 3.1415926 paid - 0.01 network fee + 1.1415926 paid back
    assert account["balances"][0]["balance"] == "47.9900000"
    assert custody == 31_415_926 - 11_415_926 - 100_000


def test_refusals_are_problem_json(service: Service) -> None:
    svc = service
    pioneer = add_pioneer(svc, "50")
    meta = expectation(svc, 20_000_000, f"pioneer:{uuid.uuid4().hex[:12]}:PI")
    pid = pioneer_creates_payment(svc, pioneer, "2.0000001", meta)

    no_token = svc.http.post(f"/v1/pi/payments/{pid}/approve")
    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == "application/problem+json"
    assert no_token.json()["code"] == "pi_unauthorized"
    forged = svc.http.post(
        f"/v1/pi/payments/{pid}/approve", headers={"Authorization": "Bearer forged"}
    )
    assert forged.json()["code"] == "pi_unauthorized"

    wrong = svc.http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer(pioneer))
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["code"] == "pi_amount_mismatch"

    bad_id = svc.http.post("/v1/pi/payments/bad%20id/approve", headers=bearer(pioneer))
    assert bad_id.json()["code"] == "pi_bad_payment_id"


def test_incomplete_payment_found_by_the_sdk(service: Service) -> None:
    svc = service
    pioneer = add_pioneer(svc, "50")
    liability = f"pioneer:{uuid.uuid4().hex[:12]}:PI"
    meta = expectation(svc, 10_000_000, liability)
    pid = pioneer_creates_payment(svc, pioneer, "1", meta)
    assert (
        svc.http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer(pioneer)).status_code == 200
    )
    svc.http.post(f"/pi-sandbox/sandbox/payments/{pid}/pay")
    # The app died before onReadyForServerCompletion; at the next login the SDK reports it.
    found = svc.http.post(
        "/v1/pi/payments/incomplete", json={"payment": {"identifier": pid}}, headers=bearer(pioneer)
    )
    assert found.status_code == 200, found.text
    assert found.json()["status"] == "credited"
    with svc.container.engine.begin() as conn:
        assert Ledger(conn).balance(liability).posted == 10_000_000
        outbox = conn.execute(
            text("SELECT count(*) FROM outbox WHERE kind = 'pi.complete' AND key = :k"), {"k": pid}
        ).scalar_one()
    assert outbox == 1
