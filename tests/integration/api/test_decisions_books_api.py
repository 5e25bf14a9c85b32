"""The treasury's decisions and books through HTTP on PostgreSQL: a decision answered and
replayed, refusals as stable problem codes, the books of a closed month as JSON, CSV and a
printable page, a month not closed refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from escrow.clock import SystemClock
from escrow.ledger import Ledger
from escrow.periods import period, period_of
from settlement.qris import exceptions
from settlement.qris.exceptions import ExceptionLine
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


def _fee_mismatch(engine: Engine) -> int:
    source_id = uuid.uuid4().hex
    with engine.begin() as conn:
        exceptions.record(
            conn,
            ExceptionLine(kind="fee_mismatch", source="event", source_id=source_id,
                          business_date=date(2026, 11, 2), detail="MDR 1200 sen reported",
                          action=exceptions.ACTIONS["fee_mismatch"], actual_sen=1_200),
        )  # fmt: skip
        return int(
            conn.execute(
                text("SELECT id FROM qris_exceptions WHERE source_id = :s"), {"s": source_id}
            ).scalar_one()
        )


def test_a_decision_is_answered_replayed_and_never_changed(
    http: httpx.Client, app: FastAPI, module_engine: Engine
) -> None:
    exception_id = _fee_mismatch(module_engine)
    path = f"/v1/qris/exceptions/{exception_id}/decision"
    body = {"outcome": "dismiss", "note": "acquirer confirmed the schedule"}

    first = http.post(path, json=body, headers=headers(operator(app)))
    again = http.post(path, json=body, headers=headers(operator(app)))
    other = http.post(path, json=body | {"outcome": "refund"}, headers=headers(operator(app)))

    assert first.status_code == 200, first.text
    assert first.json()["decided_by"] == "treasury:operator"
    assert first.json()["replayed"] is False
    assert again.json()["replayed"] is True
    assert again.json()["decided_at"] == first.json()["decided_at"]
    assert other.status_code == 409
    assert other.json()["code"] == "exception_already_decided"


def test_refusals_are_problem_codes(http: httpx.Client, app: FastAPI) -> None:
    unknown = http.post(
        "/v1/pi-flags/999999/decision",
        json={"outcome": "dismiss", "note": "n"},
        headers=headers(operator(app)),
    )
    bad_amount = http.post(
        "/v1/pi-flags/999999/decision",
        json={"outcome": "refund", "note": "n", "amount": "0"},
        headers=headers(operator(app)),
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "exception_unknown")
    assert (bad_amount.status_code, bad_amount.json()["code"]) == (422, "exception_amount_invalid")


@pytest.mark.parametrize("note", ["n\x00", "bell\x07", "   "], ids=repr)
def test_a_note_no_ledger_can_keep_is_refused_and_nothing_is_decided(
    http: httpx.Client, app: FastAPI, module_engine: Engine, note: str
) -> None:
    """A NUL in a decision's note reached PostgreSQL (a 500); a line break stays allowed."""
    exception_id = _fee_mismatch(module_engine)
    path = f"/v1/qris/exceptions/{exception_id}/decision"
    refused = http.post(
        path, json={"outcome": "dismiss", "note": note}, headers=headers(operator(app))
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "exception_decision_invalid")
    with module_engine.connect() as conn:
        decided = conn.execute(
            text("SELECT count(*) FROM exception_decisions WHERE subject_id = :i"),
            {"i": exception_id},
        ).scalar_one()
    assert decided == 0
    lines = {"outcome": "dismiss", "note": "schedule confirmed\nby the acquirer"}
    assert http.post(path, json=lines, headers=headers(operator(app))).status_code == 200


def test_the_books_of_a_closed_month(
    http: httpx.Client, app: FastAPI, module_engine: Engine
) -> None:
    now = SystemClock().now_us()
    current = period_of(now)
    last = period_of(period(current).starts_at_us - 1)
    with module_engine.begin() as conn:
        Ledger(conn, SystemClock()).close_period(last, "test")
    auth = {"Authorization": operator(app)}

    answer = http.get(f"/v1/books/{last}/neraca", headers=auth)
    csv_file = http.get(f"/v1/books/{last}/laba-rugi.csv", headers=auth)
    page = http.get(f"/v1/books/{last}/neraca.html", headers=auth)
    open_month = http.get(f"/v1/books/{current}/neraca", headers=auth)

    assert answer.status_code == 200, answer.text
    assert [a["asset"] for a in answer.json()["assets"]] == ["IDR", "PI", "MSC", "MSCP"]
    assert all(a["balanced"] for a in answer.json()["assets"])
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.text.startswith('"Bagian","Uraian","Aset","Jumlah","Akun","Keterangan"')
    assert "Laba (rugi) bersih" in csv_file.text
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Neraca Treasury</h1>" in page.text
    assert (open_month.status_code, open_month.json()["code"]) == (409, "books_month_not_closed")
