"""Lock-and-earn and MSC Points over HTTP, on PostgreSQL with the in-process Pi sandbox: the
Pioneer locks Pi through the Pi app's callbacks, reads the position and their points (the reward
reserved for the lock), changes the maturity action, unlocks early; the treasury reads the
budget's commitments; a refused lock writes nothing (decision 0029)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from nacl.signing import SigningKey
from sqlalchemy import Engine, text

from escrow.clock import SystemClock
from settlement import parameters
from settlement.mscp.dividend import sign
from settlement.unit_of_work import UnitOfWork, run
from tests.support.api import client, headers, operator, service
from tests.support.locks import offer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    with service(module_database_url) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def _pioneer(http: httpx.Client, name: str) -> dict[str, Any]:
    body = {"username": name, "balance": "1000"}
    found: dict[str, Any] = http.post("/pi-sandbox/sandbox/pioneers", json=body).json()
    found["auth"] = f"Bearer {found['access_token']}"
    return found


def _written(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("lock_positions", "pi_expectations", "transfers", "outbox")
        )


def test_a_pioneer_locks_reads_and_unlocks(
    app: FastAPI, http: httpx.Client, module_engine: Engine
) -> None:
    run(module_engine, SystemClock(), lambda uow: offer(uow, {30: "0.05"}, budget=10_000))
    ani = _pioneer(http, "lock-ani")

    def mine() -> dict[str, str]:
        return headers(ani["auth"])  # a fresh Idempotency-Key for each request

    body = {"term_days": 30, "amount": "100", "maturity_action": "a2u"}
    created = http.post("/v1/locks", json=body, headers=mine())
    assert created.status_code == 201, created.text
    lock = created.json()
    assert (lock["status"], lock["reward_max"], lock["principal_units"]) == (
        "expected", 150, 100 * 10**7,
    )  # fmt: skip
    payment = lock["payment"]
    pid = http.post(f"/pi-sandbox/sandbox/pioneers/{ani['uid']}/payments", json=payment).json()[
        "identifier"
    ]
    token = {"Authorization": ani["auth"]}
    assert http.post(f"/v1/pi/payments/{pid}/approve", headers=token).status_code == 200
    txid = http.post(f"/pi-sandbox/sandbox/payments/{pid}/pay").json()["txid"]
    done = http.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=token)
    assert done.status_code == 200, done.text
    listed = http.get("/v1/locks", headers=mine()).json()
    assert [(i["id"], i["status"]) for i in listed["items"]] == [(lock["id"], "open")]
    points = http.get("/v1/me/points", headers=mine()).json()
    assert (points["balance"], points["reserved_for_locks"]) == (0, 150)
    assert [h["code"] for h in points["history"]] == ["lock.reward_reserved"]
    staff = operator(app)
    budget = http.get("/v1/points/commitments", headers=headers(staff)).json()
    assert budget["open_positions"] >= 1
    assert budget["reserved"] >= 150
    changed = http.put(
        f"/v1/locks/{lock['id']}/maturity-action", json={"maturity_action": "convert"},
        headers=mine(),
    )  # fmt: skip
    assert changed.json()["maturity_action"] == "convert"
    budi = _pioneer(http, "lock-budi")
    stranger = http.post(f"/v1/locks/{lock['id']}/unlock", headers=headers(budi["auth"]))
    assert (stranger.status_code, stranger.json()["code"]) == (404, "lock_not_found")
    closed = http.post(f"/v1/locks/{lock['id']}/unlock", headers=mine())
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["reward_points"]) == ("unlocked", 0)
    again = http.post(f"/v1/locks/{lock['id']}/unlock", headers=mine())
    assert (again.status_code, again.json()["code"]) == (409, "lock_not_open")
    after = http.get("/v1/me/points", headers=mine()).json()
    assert after["reserved_for_locks"] == 0


def test_a_refused_lock_writes_nothing(
    app: FastAPI, http: httpx.Client, module_engine: Engine
) -> None:
    citra = _pioneer(http, "lock-citra")
    before = _written(module_engine)
    for body, status, code in (
        ({"term_days": 45, "amount": "1"}, 422, "lock_term_not_offered"),
        ({"term_days": 30, "amount": "1", "maturity_action": "keep"}, 422,
         "lock_action_unsupported"),
        ({"term_days": 30, "amount": "99999999"}, 409, "lock_budget_exhausted"),
        ({"term_days": 30, "amount": "0.00000001"}, 422, "amount_too_precise"),
    ):  # fmt: skip
        sent = {**headers(citra["auth"]), "Idempotency-Key": uuid.uuid4().hex}
        reply = http.post("/v1/locks", json=body, headers=sent)
        assert (reply.status_code, reply.json()["code"]) == (status, code), reply.text
    assert _written(module_engine) == before


def test_the_treasury_uploads_a_signed_dividend_once(
    app: FastAPI, http: httpx.Client, module_engine: Engine
) -> None:
    seed = "55" * 32
    public = SigningKey(bytes.fromhex(seed)).verify_key.encode().hex()

    def treasury(uow: UnitOfWork) -> None:
        offer(uow, {}, budget=1_000)
        parameters.set_(uow, parameters.DATA_TEAM_KEYS, {"http": public}, "test")

    run(module_engine, SystemClock(), treasury)
    batch = {"batch_id": f"http-{uuid.uuid4().hex[:8]}", "month": "2026-11",
             "lines": [{"uid": "lock-dewi", "points": 12}]}  # fmt: skip
    signed = sign(batch, "http", seed)
    staff = operator(app)
    first = http.post("/v1/points/dividends", json=signed, headers=headers(staff))
    assert first.status_code == 201, first.text
    assert (first.json()["pioneers"], first.json()["points"]) == (1, 12)
    replay = http.post("/v1/points/dividends", json=signed, headers=headers(staff))
    assert (replay.status_code, replay.json()["code"]) == (409, "dividend_batch_replayed")
    forged = {**signed, "signature": "00" * 64}
    bad = http.post("/v1/points/dividends", json=forged, headers=headers(staff))
    assert (bad.status_code, bad.json()["code"]) == (422, "dividend_signature_invalid")
