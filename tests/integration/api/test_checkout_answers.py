"""The answers of ``POST /v1/checkouts`` and ``GET /v1/checkouts`` are built from the checkout the
request created or listed, not read again: they must be what ``GET /v1/checkouts/{id}`` reads
back from the database, field for field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.api import client, headers, onboarded_merchant_key, service

pytestmark = pytest.mark.integration
HALF_AND_HALF = {
    "price": {"amount": "15000.00", "asset": "IDR"},
    "tenders": [{"tender": "PI", "share_bp": 5000}, {"tender": "QRIS", "share_bp": 5000}],
    "merchant_reference": "plate-1",
}


@pytest.fixture(scope="module")
def http(database_url: str, db_engine: Engine) -> Iterator[tuple[httpx.Client, str]]:
    with service(database_url) as app, client(app) as found:
        yield found, onboarded_merchant_key(app, found)


def _shown(http: httpx.Client, key: str, checkout_id: str) -> dict[str, Any]:
    shown = http.get(f"/v1/checkouts/{checkout_id}", headers={"Authorization": key})
    assert shown.status_code == 200, shown.text
    found: dict[str, Any] = shown.json()
    return found


def test_the_created_checkout_answers_what_is_stored(http: tuple[httpx.Client, str]) -> None:
    client_, key = http
    created = client_.post("/v1/checkouts", json=HALF_AND_HALF, headers=headers(key))
    assert created.status_code == 201, created.text
    answer = created.json()
    assert [leg["tender"] for leg in answer["legs"]] == ["PI", "QRIS"]
    assert answer["legs"][0]["pi_payment"] is not None
    assert answer["legs"][1]["qris"] is not None
    assert answer == _shown(client_, key, answer["id"])


def test_a_listed_checkout_answers_what_is_stored(http: tuple[httpx.Client, str]) -> None:
    client_, key = http
    body = HALF_AND_HALF | {"merchant_reference": "plate-2"}
    created = client_.post("/v1/checkouts", json=body, headers=headers(key))
    assert created.status_code == 201, created.text
    listed = client_.get("/v1/checkouts", headers={"Authorization": key})
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert items
    assert all(item == _shown(client_, key, item["id"]) for item in items)
