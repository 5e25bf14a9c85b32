"""Firm quotes and the rate panel through HTTP on PostgreSQL: the Pioneer asks with the Pi
access token and reads their own quote, the treasury reads any and enters its own rate; the
rates sandbox (mounted under /rates-sandbox) serves stale and wild prices on demand, refused as
problem+json with stable codes, nothing quoted, every reading kept.

On the module's own database: the treasury rate entered here is a source of every later quote
on it, which must stay out of other modules' checkouts."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from api.problems import PROBLEM_MEDIA_TYPE
from settlement.config import Settings
from tests.support.api import client, headers, operator, service
from tests.support.governance import govern_http

pytestmark = pytest.mark.integration
TEN_PI = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": "10.0000000"}


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    with service(module_database_url, Settings(rates_reuse_s=0)) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def _pioneer(http: httpx.Client, name: str) -> str:
    made = http.post("/pi-sandbox/sandbox/pioneers", json={"username": name, "balance": "1"})
    return f"Bearer {made.json()['access_token']}"


@pytest.fixture(scope="module")
def pioneer(http: httpx.Client) -> str:
    return _pioneer(http, "quoter")


@pytest.fixture
def sandbox(http: httpx.Client) -> Iterator[httpx.Client]:
    """The rates sandbox, back to Rp 5.000 and fresh after each test."""
    yield http
    http.post("/rates-sandbox/sandbox/mode", json={"mode": "fresh"})
    http.post("/rates-sandbox/sandbox/price", json={"price": "5000.00"})


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert reply.json()["code"] == code


def test_a_pioneer_quotes_ten_pi_and_reads_it_back(
    http: httpx.Client, app: FastAPI, pioneer: str
) -> None:
    key = headers(pioneer)
    created = http.post("/v1/quotes", json=TEN_PI, headers=key)
    assert created.status_code == 201, created.text
    quote = created.json()
    assert (quote["sell_asset"], quote["sell_amount"], quote["buy_asset"]) == (
        "PI", "10.0000000", "MSC",
    )  # fmt: skip
    assert quote["fee"] == {
        "total": "0.1000000",
        "asset": "PI",
        "details": [{"name": "spread", "amount": "0.1000000",
                     "description": "The treasury's spread of 100 bp of the Pi sold."}],
    }  # fmt: skip
    assert quote["buy_amount"] == "49500.00"  # 9.9 PI at Rp 5.000
    assert Decimal(quote["price"]) == Decimal("0.0002")
    assert quote["rate"]["price"] == "5000.00"
    assert quote["rate"]["source"] == "sandbox"

    again = http.post("/v1/quotes", json=TEN_PI, headers=key)
    assert again.json() == quote
    assert again.headers["Idempotent-Replayed"] == "true"
    mine = http.get(f"/v1/quotes/{quote['id']}", headers={"Authorization": pioneer})
    assert mine.json() == quote
    staff = http.get(f"/v1/quotes/{quote['id']}", headers={"Authorization": operator(app)})
    assert staff.json() == quote
    other = http.get(
        f"/v1/quotes/{quote['id']}", headers={"Authorization": _pioneer(http, "stranger")}
    )
    _problem(other, 404, "quote_not_found")


def test_buying_an_amount_names_the_pi_to_sell(http: httpx.Client, pioneer: str) -> None:
    body = {"sell_asset": "PI", "buy_asset": "MSC", "buy_amount": "49500.00"}
    created = http.post("/v1/quotes", json=body, headers=headers(pioneer))
    assert created.status_code == 201, created.text
    assert (created.json()["sell_amount"], created.json()["given"]) == ("10.0000000", "buy")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**TEN_PI, "buy_amount": "1.00"}, 422, "quote_amount_invalid"),
        ({"sell_asset": "MSC", "buy_asset": "PI", "sell_amount": "1.00"}, 422,
         "quote_pair_unsupported"),
        ({**TEN_PI, "sell_amount": "1.00000001"}, 422, "amount_too_precise"),
        ({**TEN_PI, "sell_amount": 10}, 422, "invalid_request"),
        ({**TEN_PI, "sell_amount": "0.0000001"}, 422, "quote_amount_too_small"),
    ],
)  # fmt: skip
def test_a_bad_request_is_a_stable_problem_and_quotes_nothing(
    http: httpx.Client, module_engine: Engine, pioneer: str, body: object, status: int, code: str
) -> None:
    before = _count(module_engine, "firm_quotes"), _count(module_engine, "rate_quotes")
    _problem(http.post("/v1/quotes", json=body, headers=headers(pioneer)), status, code)
    assert (_count(module_engine, "firm_quotes"), _count(module_engine, "rate_quotes")) == before


def test_a_stale_sandbox_refuses_and_its_reading_is_kept(
    sandbox: httpx.Client, module_engine: Engine, pioneer: str
) -> None:
    assert sandbox.post("/rates-sandbox/sandbox/mode", json={"mode": "stale"}).status_code == 200
    quotes, readings = _count(module_engine, "rate_quotes"), _count(module_engine, "rate_readings")
    _problem(sandbox.post("/v1/quotes", json=TEN_PI, headers=headers(pioneer)), 503, "rate_stale")
    assert _count(module_engine, "rate_quotes") == quotes
    assert _count(module_engine, "rate_readings") == readings + 1  # committed on its own


def test_only_a_pioneer_asks_for_a_quote(http: httpx.Client) -> None:
    _problem(http.post("/v1/quotes", json=TEN_PI, headers=headers(None)), 401, "pi_unauthorized")


def test_the_treasury_rate_joins_the_median_and_a_wild_source_is_refused(
    sandbox: httpx.Client, app: FastAPI, pioneer: str
) -> None:
    staff = operator(app)
    engine = app.state.services.engine
    body = {"price": "5100.00", "valid_s": 600}
    entered = govern_http(sandbox, engine, staff, "rate.override", body)
    assert entered.status_code == 200, entered.text
    readings = sandbox.get("/v1/rates", headers={"Authorization": staff}).json()["readings"]
    assert readings[-1]["entered_by"] == entered.json()["by"]
    quote = sandbox.post("/v1/quotes", json=TEN_PI, headers=headers(pioneer)).json()
    assert (quote["rate"]["price"], quote["rate"]["source"]) == ("5050.00", "median")
    assert len(quote["rate"]["reading_ids"]) == 2

    sandbox.post("/rates-sandbox/sandbox/mode", json={"mode": "wild"})
    refused = sandbox.post("/v1/quotes", json=TEN_PI, headers=headers(pioneer))
    _problem(refused, 503, "rate_spread_exceeded")
    state = sandbox.get("/v1/rates", headers={"Authorization": staff}).json()
    assert (state["price"], state["refusal"]) == (None, "rate_spread_exceeded")
    assert {r["source"]: r["price"] for r in state["readings"]} == {
        "sandbox": "50000.00", "treasury": "5100.00",
    }  # fmt: skip
    wrong = {"price": "5100.001", "valid_s": 600}
    _problem(govern_http(sandbox, engine, staff, "rate.override", wrong), 422, "amount_too_precise")
