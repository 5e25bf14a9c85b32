"""The payout batch through HTTP (treasury): payout details, the cut, the file (the same bytes
each time), the bank's confirmation (applied once, a hostile one refused with nothing changed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from escrow.calendar import WIB, business_day
from escrow.clock import FixedClock, SystemClock
from settlement import chart
from settlement.config import Settings
from settlement.unit_of_work import unit_of_work
from tests.support.api import client, headers, operator, service
from tests.support.bank import confirmation
from tests.support.merchants import merchant_body
from tests.support.payouts import credit

pytestmark = pytest.mark.integration
DAY_US = 24 * 3600 * 1_000_000


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    # A cut-off at 00:00 WIB has passed whenever the test runs; yesterday's credit is before it.
    with service(module_database_url, Settings(payout_cutoff_wib="00:00")) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def test_a_merchant_is_paid_through_the_api(
    app: FastAPI, http: httpx.Client, module_engine: Engine
) -> None:
    staff = operator(app)
    body = merchant_body()
    assert http.post("/v1/merchants", json=body, headers=headers(staff)).status_code == 201
    bank = {"bank_code": "014", "account_number": "1234-567890", "holder_name": "pecel bu tin"}
    put = http.put(
        f"/v1/merchants/{body['id']}/payout-details",
        json={"bank_account": bank, "pi_uid": None},
        headers=headers(staff),
    )
    assert put.status_code == 200, put.text
    assert put.json()["bank_account"]["holder_name"] == "PECEL BU TIN"
    wrong = {**bank, "bank_code": "14"}
    refused = http.put(
        f"/v1/merchants/{body['id']}/payout-details",
        json={"bank_account": wrong, "pi_uid": None},
        headers=headers(staff),
    )
    assert refused.json()["code"] == "bank_account_invalid"
    yesterday = SystemClock().now_us() - DAY_US
    with unit_of_work(module_engine, FixedClock(yesterday)) as uow:
        credit(uow, body["id"], 2_500_000)
    today = business_day(datetime.now(WIB)).isoformat()

    cut = http.post("/v1/payouts/batches", json={"day": today}, headers=headers(staff))
    assert cut.status_code == 201, cut.text
    batch = cut.json()["batch"]
    assert (batch["line_count"], batch["total"], batch["status"]) == (1, "25000.00", "held")
    again = http.post("/v1/payouts/batches", json={"day": today}, headers=headers(staff))
    assert again.json()["written"] is False
    assert again.json()["batch"] == batch

    url = f"/v1/payouts/batches/{batch['id']}"
    first = http.get(f"{url}/file", headers=headers(staff))
    second = http.get(f"{url}/file", headers=headers(staff))
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/csv")
    assert first.content == second.content
    assert first.content.decode().splitlines()[-1].endswith(batch["file_sha256"])

    answer = confirmation(first.content, {1: "R03"}).decode()
    hostile = answer.replace("T,1,25000.00", "T,1,25000.01")
    bad = http.post(f"{url}/confirmation", json={"file": hostile}, headers=headers(staff))
    assert (bad.status_code, bad.json()["code"]) == (422, "payout_confirmation_total_mismatch")
    assert http.get(url, headers=headers(staff)).json()["status"] == "held"

    done = http.post(f"{url}/confirmation", json={"file": answer}, headers=headers(staff))
    assert done.status_code == 200, done.text
    assert done.json()["applied"] is True
    assert done.json()["batch"]["rejected_units"] == 2_500_000
    repeat = http.post(f"{url}/confirmation", json={"file": answer}, headers=headers(staff))
    assert repeat.json()["applied"] is False
    listed = http.get("/v1/payouts/batches", headers=headers(staff)).json()["items"]
    assert [item["id"] for item in listed] == [batch["id"]]
    with unit_of_work(module_engine, SystemClock()) as uow:
        balance = uow.ledger.balance(chart.merchant_idr(body["id"]).code)
    assert (balance.posted, balance.pending_out) == (2_500_000, 0)
