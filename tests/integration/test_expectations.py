"""One expectation concept: the same semantics on every rail, tested against each."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import Connection, text

from escrow.refusals import Refusal
from settlement import chart
from settlement.expectations import (
    EXPECTATION_CONFLICT,
    Expectation,
    ExpectationRail,
    ExpectationRequest,
    ExpectationStatus,
)
from settlement.pi.expectations import PI_EXPECTATIONS
from settlement.qris.expectations import QRIS_EXPECTATIONS

pytestmark = pytest.mark.integration
RAILS: dict[str, ExpectationRail] = {"pi": PI_EXPECTATIONS, "qris": QRIS_EXPECTATIONS}
HOUR_US = 3_600_000_000


def _request(rail: str) -> ExpectationRequest:
    tag = uuid.uuid4().hex[:12]
    opens = time.time_ns() // 1000 // 1_000_000 * 1_000_000  # whole seconds: Pi stores seconds
    if rail == "pi":
        credit, payee = chart.pioneer_pi(tag).code, None
    else:
        payee = f"ID{uuid.uuid4().int % 10**13:013d}"
        credit = chart.merchant_idr(payee).code
    return ExpectationRequest(
        reference=f"R{tag}",
        amount_units=1_500_000,
        credit_account=credit,
        purpose="checkout",
        opens_at_us=opens,
        expires_at_us=opens + HOUR_US,
        payee=payee,
    )


def _rows(conn: Connection, rail: str) -> int:
    table = {"pi": "pi_expectations", "qris": "qris_expectations"}[rail]
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.parametrize("rail", sorted(RAILS))
def test_create_has_the_shared_shape(db_conn: Connection, rail: str) -> None:
    request = _request(rail)
    created = RAILS[rail].create(db_conn, request)
    assert isinstance(created, Expectation)
    assert (created.rail, created.asset) == (rail, {"pi": "PI", "qris": "IDR"}[rail])
    assert (created.reference, created.amount_units, created.credit_account) == (
        request.reference,
        request.amount_units,
        request.credit_account,
    )
    assert created.purpose == "checkout"
    assert (created.opens_at_us, created.expires_at_us) == (
        request.opens_at_us,
        request.expires_at_us,
    )
    assert created.status is ExpectationStatus.PENDING
    assert RAILS[rail].find(db_conn, request.reference) == created
    assert RAILS[rail].find(db_conn, "nobody-expects-this") is None


@pytest.mark.parametrize("rail", sorted(RAILS))
def test_a_repeat_with_the_same_fields_returns_the_existing(db_conn: Connection, rail: str) -> None:
    request = _request(rail)
    first = RAILS[rail].create(db_conn, request)
    rows = _rows(db_conn, rail)
    later = replace(request, opens_at_us=request.opens_at_us + 1_000_000)  # a retry, later
    assert RAILS[rail].create(db_conn, later) == first
    assert _rows(db_conn, rail) == rows


@pytest.mark.parametrize("rail", sorted(RAILS))
@pytest.mark.parametrize("field", ["amount_units", "purpose", "credit_account"])
def test_a_repeat_with_other_fields_is_refused_with_one_code(
    db_conn: Connection, rail: str, field: str
) -> None:
    request = _request(rail)
    first = RAILS[rail].create(db_conn, request)
    rows = _rows(db_conn, rail)
    other = {
        "amount_units": 1_500_001,
        "purpose": "convert",
        "credit_account": chart.pioneer_pi("someone").code
        if rail == "pi"
        else chart.merchant_idr("ID0000000000001").code,
    }[field]
    with pytest.raises(Refusal) as refused:
        RAILS[rail].create(db_conn, replace(request, **{field: other}))
    assert refused.value.code == EXPECTATION_CONFLICT
    assert _rows(db_conn, rail) == rows
    assert RAILS[rail].find(db_conn, request.reference) == first


@pytest.mark.parametrize("rail", sorted(RAILS))
def test_an_undeclared_credit_account_is_refused(db_conn: Connection, rail: str) -> None:
    rows = _rows(db_conn, rail)
    with pytest.raises(Refusal) as refused:
        RAILS[rail].create(db_conn, replace(_request(rail), credit_account="nope:nope"))
    assert refused.value.code == "account_undeclared"
    assert _rows(db_conn, rail) == rows
    count = db_conn.execute(text("SELECT count(*) FROM accounts WHERE code = 'nope:nope'"))
    assert count.scalar_one() == 0


def test_pi_completion_marks_paid_once(db_conn: Connection) -> None:
    rail = "pi"
    request = _request(rail)
    PI_EXPECTATIONS.create(db_conn, request)
    paid = PI_EXPECTATIONS.mark_paid(
        db_conn, request.reference, paid_at_us=request.opens_at_us + 5, by="PAY1"
    )
    assert paid.status is ExpectationStatus.PAID
    again = PI_EXPECTATIONS.mark_paid(
        db_conn, request.reference, paid_at_us=request.opens_at_us + 9, by="PAY2"
    )
    assert again == paid
