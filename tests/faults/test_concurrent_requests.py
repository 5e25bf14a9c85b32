"""A hundred callers at once on the same money, over real HTTP: exactly one wins, the others get
their stable codes, and the books say it happened once.

The service runs in uvicorn on a loopback socket with its own database; a thread pool sends the
requests together, so each runs in its own worker thread and its own database transaction.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text

from api.app import create_app
from escrow.clock import SystemClock
from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.bootstrap import build_container
from settlement.chart import TransferCode, open_account
from settlement.config import Settings
from settlement.unit_of_work import unit_of_work
from tests.database import drop_database, fresh_database, worker_database_name
from tests.support.api import bearer, headers
from tests.support.merchants import merchant_body

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
callers_count = 100
startup_timeout_s = 10.0
request_timeout_s = 60.0
PLATE_SEN = 1_500_000  # Rp 15.000


@dataclass(frozen=True)
class Live:
    """The running service: its base URL, its database and the operator's header."""

    base: str
    engine: Engine
    operator: str


@pytest.fixture(scope="module")
def live(database_server_url: str, worker_id: str) -> Iterator[Live]:
    name = worker_database_name(worker_id) + "_concurrent"
    url = fresh_database(database_server_url, name)
    container = build_container(Settings(), url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(container), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    operator = "Bearer " + container.settings.operator_token.get_secret_value()
    yield Live(f"http://127.0.0.1:{sock.getsockname()[1]}", container.engine, operator)
    server.should_exit = True
    thread.join(timeout=10)
    container.engine.dispose()
    drop_database(database_server_url, name)


def _post(
    live: Live, path: str, body: dict[str, Any] | None, sent: dict[str, str]
) -> httpx.Response:
    with httpx.Client(base_url=live.base, timeout=request_timeout_s) as http:
        return http.post(path, json=body, headers=sent)


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Every call started together (a barrier releases them), their answers in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _merchant(live: Live) -> str:
    """A merchant accepting MSC, and its key's ``Authorization`` value."""
    body = merchant_body(
        tenders=["PI", "QRIS", "MSC"], settlement={"PI": "PI", "QRIS": "IDR", "MSC": "MSC"}
    )
    with httpx.Client(base_url=live.base, timeout=request_timeout_s) as http:
        made = http.post("/v1/merchants", json=body, headers=headers(live.operator))
        assert made.status_code == 201, made.text
        issued = http.post(
            f"/v1/merchants/{body['id']}/keys",
            json={"label": "till"},
            headers=headers(live.operator),
        )
        assert issued.status_code == 201, issued.text
    return bearer(issued.json()["token"])


def _pioneer_with_msc(live: Live, sen: int) -> tuple[str, str]:
    """A sandbox Pioneer (uid, ``Authorization`` value) holding ``sen`` of MSC."""
    with httpx.Client(base_url=live.base, timeout=request_timeout_s) as http:
        made = http.post("/pi-sandbox/sandbox/pioneers", json={"username": "ani", "balance": "1"})
    pioneer = made.json()
    with unit_of_work(live.engine, SystemClock()) as uow:
        issued = open_account(uow.ledger, chart.msc_issued()).code
        wallet = open_account(uow.ledger, chart.pioneer_balance(pioneer["uid"], "MSC")).code
        credited = uow.ledger.post(
            TransferRequest(
                transfer_id("test.msc", pioneer["uid"]),
                issued,
                wallet,
                sen,
                "MSC",
                TransferCode.MSC_ISSUE,
            )
        )
        assert credited.ok, credited
    return pioneer["uid"], f"Bearer {pioneer['access_token']}"


def _msc_checkout(live: Live, merchant: str, uid: str, reference: str) -> str:
    body = {
        "price": {"amount": "15000.00", "asset": "IDR"},
        "pioneer_uid": uid,
        "tenders": [{"tender": "MSC", "share_bp": 10_000}],
        "merchant_reference": reference,
    }
    made = _post(live, "/v1/checkouts", body, headers(merchant))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _codes(answers: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter(
        (a.status_code, a.json().get("code", "") if a.status_code >= 400 else "") for a in answers
    )


def _count(live: Live, sql: str, **params: Any) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_one_balance_spent_by_a_hundred_checkouts_at_once_pays_one(live: Live) -> None:
    merchant = _merchant(live)
    uid, pioneer = _pioneer_with_msc(live, PLATE_SEN)
    checkouts = [_msc_checkout(live, merchant, uid, f"spend-{n}") for n in range(callers_count)]
    answers = _at_once(
        [
            lambda cid=cid: _post(live, f"/v1/checkouts/{cid}/legs/MSC/pay", None, headers(pioneer))
            for cid in checkouts
        ]
    )
    assert _codes(answers) == {
        (200, ""): 1,
        (409, "checkout_insufficient_balance"): callers_count - 1,
    }
    wallet = chart.pioneer_balance(uid, "MSC").code
    assert (
        _count(
            live,
            "SELECT credits_posted - debits_posted - debits_pending FROM accounts"
            " WHERE code = :code",
            code=wallet,
        )
        == 0
    )
    assert (
        _count(
            live,
            "SELECT count(*) FROM checkouts WHERE status = 'paid'"
            " AND merchant_reference LIKE 'spend-%'",
        )
        == 1
    )


def test_one_checkout_handed_over_a_hundred_times_at_once_is_released_once(live: Live) -> None:
    merchant = _merchant(live)
    uid, pioneer = _pioneer_with_msc(live, PLATE_SEN)
    cid = _msc_checkout(live, merchant, uid, "handover-race")
    paid = _post(live, f"/v1/checkouts/{cid}/legs/MSC/pay", None, headers(pioneer))
    assert paid.status_code == 200, paid.text
    answers = _at_once(
        [
            lambda: _post(live, f"/v1/checkouts/{cid}/handover", None, headers(merchant))
            for _ in range(callers_count)
        ]
    )
    codes = _codes(answers)
    released = [a for a in answers if a.status_code == 200]
    assert released, codes
    assert {a.json()["status"] for a in released} == {"released"}
    assert {code for status, code in codes if status != 200} <= {"checkout_already_released"}
    assert (
        _count(
            live,
            "SELECT count(*) FROM transfers WHERE code = 'checkout.release'"
            " AND user_data ->> 'checkout' = :cid",
            cid=cid,
        )
        == 1
    )
    assert (
        _count(
            live,
            "SELECT count(*) FROM checkout_events WHERE checkout_id = :cid"
            " AND to_status = 'released'",
            cid=cid,
        )
        == 1
    )


def test_one_idempotency_key_sent_a_hundred_times_at_once_opens_one_checkout(live: Live) -> None:
    merchant = _merchant(live)
    key = str(uuid.uuid4())
    body = {
        "price": {"amount": "15000.00", "asset": "IDR"},
        "tenders": [{"tender": "QRIS", "share_bp": 10_000}],
        "merchant_reference": "same-key",
    }
    answers = _at_once(
        [
            lambda: _post(live, "/v1/checkouts", body, headers(merchant, key))
            for _ in range(callers_count)
        ]
    )
    codes = _codes(answers)
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1, codes
    assert all(status in (201, 409) for status, _ in codes), codes
    assert {code for status, code in codes if status == 409} <= {"idempotency_key_in_use"}
    assert _count(live, "SELECT count(*) FROM checkouts WHERE merchant_reference = 'same-key'") == 1
