"""Pi-Zone campaigns and share rules through HTTP on PostgreSQL (treasury only): creation funds
the budget, the same campaign again is the same, amounts are exact decimal text, the rule put
is the rule read back, refusals are stable codes with nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from escrow.ledger import Ledger
from settlement import chart
from tests.support.api import bearer, client, headers, operator, service
from tests.support.governance import govern_http
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(database_url: str, db_engine: Engine) -> Iterator[FastAPI]:
    with service(database_url) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


@pytest.fixture(scope="module")
def treasury(app: FastAPI) -> str:
    return operator(app)


@pytest.fixture(scope="module")
def merchant(http: httpx.Client, treasury: str) -> dict[str, str]:
    """An onboarded merchant and its key's Authorization value."""
    body = merchant_body()
    assert http.post("/v1/merchants", json=body, headers=headers(treasury)).status_code == 201
    key = http.post(
        f"/v1/merchants/{body['id']}/keys", json={"label": "till"}, headers=headers(treasury)
    )
    assert key.status_code == 201, key.text
    return {"id": body["id"], "authorization": bearer(key.json()["token"])}


def _idr(text_amount: str) -> dict[str, str]:
    return {"amount": text_amount, "asset": "IDR"}


def _campaign(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "id": f"pz-{uuid.uuid4().hex[:12]}",
        "name": "Pi-Zone Juni",
        "discount_bp": 1000,
        "budget": _idr("100000.00"),
        "cap_per_pioneer_day": _idr("3000"),
        "cap_per_merchant_day": _idr("10000.00"),
        "merchant_ids": ["UM001"],
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
    }
    return body | changes


def _problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == code


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_campaign_is_created_funded_and_listed(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    body = _campaign()
    created = http.post("/v1/campaigns", json=body, headers=headers(treasury))
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["budget"] == {"amount": "100000.00", "asset": "IDR", "amount_units": 10_000_000}
    assert answer["cap_per_pioneer_day"]["amount_units"] == 300_000
    assert answer["merchant_ids"] == ["UM001"]
    with db_engine.connect() as conn:
        assert Ledger(conn).balance(chart.campaign_budget(body["id"]).code).posted == 10_000_000
    again = http.post("/v1/campaigns", json=body, headers=headers(treasury))
    assert (again.status_code, again.json()) == (201, answer)
    listed: list[dict[str, Any]] = []
    after = ""
    while True:
        page = http.get(
            "/v1/campaigns", params={"after": after}, headers={"Authorization": treasury}
        )
        assert page.status_code == 200, page.text
        listed += page.json()["items"]
        after = page.json()["next_after"]
        if after is None:
            break
    assert answer in listed


def test_another_campaign_under_the_same_id_is_409_and_nothing_moves(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    body = _campaign()
    assert http.post("/v1/campaigns", json=body, headers=headers(treasury)).status_code == 201
    before = _count(db_engine, "transfers")
    other = body | {"budget": _idr("200000.00")}
    _problem(http.post("/v1/campaigns", json=other, headers=headers(treasury)), 409,
             "campaign_exists")  # fmt: skip
    assert _count(db_engine, "transfers") == before


@pytest.mark.parametrize(
    "changes",
    [
        {"budget": {"amount": 100000.0, "asset": "IDR"}},
        {"budget": _idr("100.001")},
        {"budget": {"amount": "100", "asset": "PI"}},
        {"discount_bp": 5001},
        {"discount_bp": 10.0},
        {"starts_at": "2026-06-01T00:00:00"},
        {"merchant_ids": []},
        {"extra": 1},
    ],
)
def test_a_body_the_schema_refuses_is_422(
    http: httpx.Client, treasury: str, db_engine: Engine, changes: dict[str, Any]
) -> None:
    before = _count(db_engine, "campaigns")
    reply = http.post("/v1/campaigns", json=_campaign(**changes), headers=headers(treasury))
    _problem(reply, 422, "invalid_request")
    assert _count(db_engine, "campaigns") == before


def test_a_zero_budget_and_a_backwards_window_are_refused(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    before = _count(db_engine, "campaigns")
    zero = _campaign(budget=_idr("0"))
    _problem(http.post("/v1/campaigns", json=zero, headers=headers(treasury)), 422,
             "amount_out_of_range")  # fmt: skip
    body = _campaign()
    backwards = body | {"starts_at": body["ends_at"], "ends_at": body["starts_at"]}
    _problem(http.post("/v1/campaigns", json=backwards, headers=headers(treasury)), 422,
             "campaign_invalid")  # fmt: skip
    assert _count(db_engine, "campaigns") == before


def test_only_the_treasury_reaches_campaigns_and_rules(
    http: httpx.Client, merchant: dict[str, str]
) -> None:
    own = merchant["authorization"]
    _problem(http.post("/v1/campaigns", json=_campaign(), headers=headers(own)), 403, "forbidden")
    _problem(http.get("/v1/campaigns", headers={"Authorization": own}), 403, "forbidden")
    _problem(http.get(f"/v1/share-rules/{merchant['id']}", headers={"Authorization": own}), 403,
             "forbidden")  # fmt: skip
    _problem(http.get("/v1/campaigns"), 401, "unauthenticated")


def test_a_share_rule_set_by_proposal_is_the_rule_read_back(
    app: FastAPI, http: httpx.Client, treasury: str, merchant: dict[str, str]
) -> None:
    path = f"/v1/share-rules/{merchant['id']}"
    _problem(http.get(path, headers={"Authorization": treasury}), 404, "share_rule_not_found")
    clauses = [
        {"to": "platform_fee", "fixed": {"IDR": "200.00"}},
        {"to": "platform_fee", "percent_bp": 100},
        {"to": "community_fund", "percent_bp": 50},
        {"to": "merchant", "remaining": True},
    ]
    params = {"rule_id": merchant["id"], "allotments": clauses, "cashback_bp": 200,
              "cashback_cap": "500"}  # fmt: skip
    done = govern_http(http, app.state.services.engine, treasury, "share.set", params)
    assert done.status_code == 200, done.text
    answer = http.get(path, headers={"Authorization": treasury}).json()
    assert answer["allotments"] == clauses
    assert answer["cashback_cap"] == {"amount": "500.00", "asset": "IDR", "amount_units": 50_000}
    assert answer["updated_by"] == done.json()["by"]
    default = http.get("/v1/share-rules/default", headers={"Authorization": treasury})
    assert default.status_code == 200
    assert default.json()["allotments"][-1] == {"to": "merchant", "remaining": True}


@pytest.mark.parametrize(
    ("rule_id", "params", "status", "code"),
    [
        ("default", {"allotments": [{"to": "platform_fee", "remaining": True}]}, 422,
         "share_rule_invalid"),
        ("default", {"allotments": [{"to": "merchant", "percent_bp": 9000}]}, 422,
         "share_rule_invalid"),
        ("default", {"allotments": [{"to": "merchant", "remaining": True, "percent_bp": 5}]}, 422,
         "share_rule_invalid"),
        ("default", {"allotments": [{"to": "merchant", "percent_bp": 99.5}]}, 422,
         "governance_proposal_malformed"),
        ("default", {"allotments": [{"to": "merchant", "remaining": True}], "cashback_cap": 5},
         422, "governance_action_invalid"),
        ("NOBODY", {"allotments": [{"to": "merchant", "remaining": True}]}, 404,
         "share_rule_merchant_unknown"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_and_the_rule_before_stays(
    app: FastAPI,
    http: httpx.Client,
    treasury: str,
    rule_id: str,
    params: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = http.get("/v1/share-rules/default", headers={"Authorization": treasury}).json()
    engine = app.state.services.engine
    refused = govern_http(http, engine, treasury, "share.set", {"rule_id": rule_id, **params})
    _problem(refused, status, code)
    assert http.get("/v1/share-rules/default", headers={"Authorization": treasury}).json() == before
