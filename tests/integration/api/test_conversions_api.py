"""Pi to MSC over HTTP, end to end on PostgreSQL with the in-process Pi sandbox: the Pioneer
quotes, converts, pays through the Pi app's callbacks and reads the conversion and their MSC;
another Pioneer reads a 404, the treasury reads it and sets a tier (issue 12, items 3 and 11)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.support.api import client, headers, operator, service

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
    body = {"username": name, "balance": "100"}
    found: dict[str, Any] = http.post("/pi-sandbox/sandbox/pioneers", json=body).json()
    found["auth"] = f"Bearer {found['access_token']}"
    return found


def test_a_pioneer_converts_pi_to_msc(app: FastAPI, http: httpx.Client) -> None:
    staff = operator(app)
    capital = {"reference": "CONV-CAP-1", "amount": "100000000.00", "value_date": "2026-12-01"}
    assert http.post("/v1/msc/bank-deposits", json=capital, headers=headers(staff)).is_success
    ani, budi = _pioneer(http, "ani"), _pioneer(http, "budi")
    body = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": "2.0000000"}
    quote = http.post("/v1/quotes", json=body, headers=headers(ani["auth"])).json()
    created = http.post(
        "/v1/conversions", json={"quote_id": quote["id"]}, headers=headers(ani["auth"])
    )
    assert created.status_code == 201, created.text
    conversion = created.json()
    assert conversion["status"] == "quoted"
    assert conversion["buy_amount"] == quote["buy_amount"]
    pid = http.post(
        f"/pi-sandbox/sandbox/pioneers/{ani['uid']}/payments",
        json={
            "amount": conversion["sell_amount"],
            "memo": "convert",
            "metadata": conversion["metadata"],
        },
    ).json()["identifier"]
    token = {"Authorization": ani["auth"]}
    assert http.post(f"/v1/pi/payments/{pid}/approve", headers=token).status_code == 200
    txid = http.post(f"/pi-sandbox/sandbox/payments/{pid}/pay").json()["txid"]
    done = http.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=token)
    assert done.status_code == 200, done.text
    url = f"/v1/conversions/{conversion['id']}"
    read = http.get(url, headers=headers(ani["auth"])).json()
    assert read["status"] == "converted"
    assert read["converted_amount"] == quote["buy_amount"]
    assert read["payment_id"] == pid
    assert http.get(url, headers=headers(budi["auth"])).status_code == 404
    assert http.get(url, headers=headers(staff)).json()["status"] == "converted"
    balances = http.get("/v1/me/balances", headers=headers(ani["auth"])).json()["balances"]
    msc = next(b for b in balances if b["asset"] == "MSC")
    assert msc["posted"]["amount"] == quote["buy_amount"]
    assert msc["posted"]["asset"] == "MSC"
    assert [b["asset"] for b in balances] == ["MSC", "MSCP"]
    again = http.post(
        "/v1/conversions", json={"quote_id": quote["id"]}, headers=headers(ani["auth"])
    )
    assert again.json()["id"] == conversion["id"]


def test_the_treasury_sets_a_tier_and_a_stranger_reads_no_conversion(
    app: FastAPI, http: httpx.Client
) -> None:
    staff = operator(app)
    ani = _pioneer(http, "citra")
    tier = http.put(f"/v1/pioneers/{ani['uid']}/tier", json={"tier": 1}, headers=headers(staff))
    assert tier.json() == {"uid": ani["uid"], "tier": 1}
    missing = http.get(
        "/v1/conversions/00000000-0000-4000-8000-000000000009", headers=headers(ani["auth"])
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "conversion_not_found"


def test_a_refused_conversion_request_writes_nothing(
    app: FastAPI, http: httpx.Client, module_engine: Engine
) -> None:
    dewi, eka = _pioneer(http, "dewi"), _pioneer(http, "eka")
    body = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": "5000.0000000"}
    big = http.post("/v1/quotes", json=body, headers=headers(dewi["auth"])).json()
    before = _written(module_engine)
    over = http.post("/v1/conversions", json={"quote_id": big["id"]}, headers=headers(dewi["auth"]))
    assert (over.status_code, over.json()["code"]) == (409, "conversion_limit_exceeded")
    stolen = http.post(
        "/v1/conversions", json={"quote_id": big["id"]}, headers=headers(eka["auth"])
    )
    assert (stolen.status_code, stolen.json()["code"]) == (404, "quote_not_found")
    assert _written(module_engine) == before


def _written(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("conversions", "pi_expectations", "outbox", "transfers")
        )
