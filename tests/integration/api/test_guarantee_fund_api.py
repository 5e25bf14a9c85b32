"""The guarantee fund over HTTP: the treasury books a contribution (once per reference), files
a claim and decides it by a signed proposal; anyone reads the figures and the history (issue 12,
items 7 and 11)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from settlement import parameters
from settlement.unit_of_work import UnitOfWork, run
from tests.support.api import client, headers, operator, service
from tests.support.governance import govern_http
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    with service(module_database_url) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def set_caps(app: FastAPI, *, per_claim: str, per_month: str) -> None:
    """The caps have no route of their own: the treasury sets them as parameters."""
    wired = app.state.services

    def work(uow: UnitOfWork) -> None:
        parameters.set_(uow, parameters.FUND_CLAIM_CAP_IDR, per_claim, "treasury:test")
        parameters.set_(uow, parameters.FUND_MERCHANT_MONTH_CAP_IDR, per_month, "treasury:test")

    run(wired.engine, wired.clock, work)


def test_contribute_claim_decide_and_read_the_fund(app: FastAPI, http: httpx.Client) -> None:
    staff = headers(operator(app))
    merchant = http.post("/v1/merchants", json=merchant_body(), headers=staff)
    assert merchant.status_code == 201, merchant.text
    merchant_id = merchant.json()["id"]
    set_caps(app, per_claim="1000.00", per_month="1500.00")
    body = {"reference": "CSR-API-1", "source": "csr", "contributor": "Bank Jatim",
            "amount": "5000.00"}  # fmt: skip
    booked = http.post(
        "/v1/guarantee-fund/contributions", json=body, headers=headers(operator(app))
    )
    assert booked.status_code == 201, booked.text
    assert (booked.json()["amount_units"], booked.json()["created"]) == (500_000, True)
    other = http.post(
        "/v1/guarantee-fund/contributions",
        json=body | {"amount": "1.00"},
        headers=headers(operator(app)),
    )
    assert (other.status_code, other.json()["code"]) == (409, "fund_contribution_conflict")

    claim = {"kind": "failed_payout", "merchant_id": merchant_id, "amount": "800.00",
             "evidence": "BCA returned line 17 of PO20261201"}  # fmt: skip
    filed = http.post("/v1/guarantee-fund/claims", json=claim, headers=headers(operator(app)))
    assert filed.status_code == 201, filed.text
    over = http.post(
        "/v1/guarantee-fund/claims",
        json=claim | {"amount": "1000.01"},
        headers=headers(operator(app)),
    )
    assert (over.status_code, over.json()["code"]) == (409, "fund_claim_over_cap")
    decision = {"claim": filed.json()["id"], "outcome": "approve"}
    decided = govern_http(http, app.state.services.engine, operator(app), "fund.claim_decide",
                          decision)  # fmt: skip
    assert decided.status_code == 200, decided.text
    result = decided.json()["result"]
    assert (result["status"], result["paid_units"]) == ("approved", 80_000)

    read = http.get("/v1/guarantee-fund")
    assert read.status_code == 200
    figures = read.json()["figures"]
    assert figures["balance_units"] == 420_000
    kinds = [m["kind"] for m in read.json()["history"]]
    assert kinds[:2] == ["claim", "contribution"]
    assert read.json()["history"][0]["claim_id"] == filed.json()["id"]
