"""MSC against Rupiah over HTTP: the treasury books a bank line and issues, a Pioneer withdraws,
the treasury redeems, and anyone reads the reserve (issue 12, item 11)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.support.api import client, headers, operator, service

pytestmark = pytest.mark.integration

ADDRESS = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    with service(module_database_url) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


@pytest.fixture(scope="module")
def pioneer(http: httpx.Client) -> dict[str, Any]:
    body = {"username": "pemegang", "balance": "1"}
    found: dict[str, Any] = http.post("/pi-sandbox/sandbox/pioneers", json=body).json()
    return found


def deposit_body(reference: str, holder: str | None, amount: str = "25000.00") -> dict[str, Any]:
    body: dict[str, Any] = {"reference": reference, "amount": amount, "value_date": "2026-12-01"}
    if holder is not None:
        body["holder"] = holder
    return body


def test_deposit_issue_withdraw_redeem_and_read_the_reserve(
    app: FastAPI, http: httpx.Client, pioneer: dict[str, Any], module_engine: Engine
) -> None:
    staff = operator(app)
    holder = f"pioneer:{pioneer['uid']}:MSC"
    booked = http.post(
        "/v1/msc/bank-deposits", json=deposit_body("API-1", holder), headers=headers(staff)
    )
    assert booked.status_code == 201, booked.text
    assert (booked.json()["status"], booked.json()["amount_units"]) == ("received", 2_500_000)
    twice = http.post(
        "/v1/msc/bank-deposits",
        json=deposit_body("API-1", holder, "1.00"),
        headers=headers(staff),
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "bank_deposit_conflict")

    issued = http.post(
        "/v1/msc/issuances", json={"deposit_reference": "API-1"}, headers=headers(staff)
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["status"] == "issued"

    token = {"Authorization": f"Bearer {pioneer['access_token']}"}
    withdrawn = http.post(
        "/v1/msc/withdrawals",
        json={"to_address": ADDRESS, "amount": "5000.00"},
        headers=headers(None) | token,
    )
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["amount_units"] == 500_000

    redemption = {
        "holder": holder,
        "amount": "10000.00",
        "bank_code": "014",
        "account_number": "1234567890",
        "account_name": "Pemegang MSC",
    }
    redeemed = http.post("/v1/msc/redemptions", json=redemption, headers=headers(staff))
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["status"] == "owed"

    published = http.get("/v1/reserves")
    assert published.status_code == 200, published.text
    newest = published.json()["latest"]
    assert (newest["msc_ledger"], newest["msc_onchain"]) == (1_000_000, 500_000)
    assert (newest["idr_reserve"], newest["coverage_bps"]) == (1_500_000, 10_000)
    assert len(published.json()["history"]) >= 3
    scraped = http.get("/metrics").text
    assert "msc_reserve_coverage_bps 10000.0" in scraped
    assert "msc_reserve_below_floor 0.0" in scraped
    assert 'msc_outstanding_units{where="onchain"} 500000.0' in scraped
    with module_engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM outbox")).scalars().all()
    assert kinds == ["evm.mint"]


def test_issuance_below_the_floor_is_a_409_and_posts_nothing(
    app: FastAPI, http: httpx.Client, module_engine: Engine
) -> None:
    staff = operator(app)
    with module_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO treasury_parameters (name, value, updated_at, updated_by) VALUES"
                " ('reserve_floor_bps', '20000', now(), 'test') ON CONFLICT (name) DO UPDATE"
                " SET value = EXCLUDED.value"
            )
        )
    try:
        body = deposit_body("API-2", "merchant:UM001:MSC")
        assert http.post("/v1/msc/bank-deposits", json=body, headers=headers(staff)).is_success
        with module_engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
        refused = http.post(
            "/v1/msc/issuances", json={"deposit_reference": "API-2"}, headers=headers(staff)
        )
        assert (refused.status_code, refused.json()["code"]) == (
            409,
            "reserve_coverage_below_floor",
        )
        with module_engine.connect() as conn:
            after = conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
        assert after == before
    finally:
        with module_engine.begin() as conn:
            conn.execute(text("DELETE FROM treasury_parameters WHERE name = 'reserve_floor_bps'"))


def test_the_reserve_is_public_and_its_page_size_is_bounded(http: httpx.Client) -> None:
    assert http.get("/v1/reserves", params={"limit": 1}).status_code == 200
    assert http.get("/v1/reserves", params={"limit": 1000}).status_code == 422


@pytest.mark.parametrize("before", ["9223372036854775808", "13414548664471353342", "0"])
def test_a_page_cursor_past_the_ids_range_is_a_422(http: httpx.Client, before: str) -> None:
    refused = http.get("/v1/reserves", params={"before": before})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("memo", "code"),
    [
        ("h\x00i", "bank_deposit_invalid"),
        ("tab\there", "bank_deposit_invalid"),
        ("", "bank_deposit_invalid"),
        ("   ", "bank_deposit_invalid"),
        ("lone \ud9ea", "invalid_request"),  # not Unicode text: the body's schema refuses it
    ],
    ids=repr,
)
def test_a_memo_no_ledger_can_keep_is_refused_and_nothing_is_booked(
    app: FastAPI, http: httpx.Client, module_engine: Engine, memo: str, code: str
) -> None:
    """Schemathesis found a NUL in a bank line's memo reaching PostgreSQL (a 500)."""
    with module_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM msc_bank_deposits")).scalar_one()
    body = deposit_body(f"API-MEMO-{len(memo)}-{ord(memo[-1:] or ' ')}", None) | {"memo": memo}
    sent = json.dumps(body).encode()  # ASCII escapes: a lone surrogate travels escaped
    staff = headers(operator(app)) | {"Content-Type": "application/json"}
    refused = http.post("/v1/msc/bank-deposits", content=sent, headers=staff)
    assert (refused.status_code, refused.json()["code"]) == (422, code)
    with module_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*) FROM msc_bank_deposits")).scalar_one()
    assert after == before
