"""``GET /v1/checkouts`` loads a page in a bounded number of statements, whatever its size: the
legs, their quotes and Pi expectations, the merchants' names are read for the whole page at once,
never checkout by checkout."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event

from tests.support.api import bearer, client, headers, operator, service
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration
PAGE = 20
HALF_AND_HALF = {
    "price": {"amount": "15000.00", "asset": "IDR"},
    "tenders": [{"tender": "PI", "share_bp": 5000}, {"tender": "QRIS", "share_bp": 5000}],
}


@pytest.fixture(scope="module")
def app_and_key(
    database_url: str, db_engine: Engine
) -> Iterator[tuple[FastAPI, httpx.Client, str]]:
    with service(database_url) as app, client(app) as http:
        treasury = operator(app)
        body = merchant_body()
        assert http.post("/v1/merchants", json=body, headers=headers(treasury)).status_code == 201
        issued = http.post(
            f"/v1/merchants/{body['id']}/keys", json={"label": "till"}, headers=headers(treasury)
        )
        assert issued.status_code == 201, issued.text
        key = bearer(issued.json()["token"])
        for _ in range(PAGE):
            created = http.post("/v1/checkouts", json=HALF_AND_HALF, headers=headers(key))
            assert created.status_code == 201, created.text
        yield app, http, key


def statements_of(app: FastAPI, http: httpx.Client, key: str, limit: int) -> tuple[int, Any]:
    engine: Engine = app.state.services.engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        listed = http.get(f"/v1/checkouts?limit={limit}", headers={"Authorization": key})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert listed.status_code == 200, listed.text
    return len(seen), listed.json()


def test_a_page_of_twenty_costs_what_a_page_of_one_does(
    app_and_key: tuple[FastAPI, httpx.Client, str],
) -> None:
    app, http, key = app_and_key
    statements_of(app, http, key, 1)  # the key's first use records its last-used time
    one, first = statements_of(app, http, key, 1)
    twenty, page = statements_of(app, http, key, PAGE)
    assert len(first["items"]) == 1
    assert len(page["items"]) == PAGE
    assert all(item["legs"][0]["pi_payment"] and item["legs"][0]["quote"] for item in page["items"])
    assert all(item["legs"][1]["qris"] for item in page["items"])
    assert twenty == one
