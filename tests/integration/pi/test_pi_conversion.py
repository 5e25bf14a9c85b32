"""Pi to MSC conversion end to end on PostgreSQL with the Pi sandbox (decision 0027): a quote,
a conversion, the Pioneer's U2A payment verified on chain, MSC credited through the exchange
accounts; and every refusal at the receipt refunding the Pi once, with nothing converted."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import Connection, text

from escrow.errors import AccountNotFound
from escrow.ledger import Ledger
from settlement import chart, parameters
from settlement.conversions import conversion as conversions
from settlement.conversions.limits import LimitExceeded
from settlement.conversions.receipt import OUTBOX_PI_REFUND, conversion_paid
from settlement.conversions.refunds import pay_pi_refund
from settlement.conversions.tiers import set_tier
from settlement.outbox import OutboxMessage
from settlement.pi import u2a
from settlement.pi.deps import PiDeps
from settlement.rates.firm import QuoteRefused, find_firm_quote
from settlement.rates.panel import RatePanel
from settlement.reserves.reserve import CoverageBelowFloor, compute
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.pi.conftest import PiWorld
from tests.support.conversions import (
    TTL_S,
    MovableSource,
    fund_reserve,
    pay,
    quote_pi,
    start_conversion,
)

pytestmark = pytest.mark.integration
RP_5000 = 500_000
TEN_PI = 10 * 10**7


@pytest.fixture
def source(pi_world: PiWorld) -> MovableSource:
    return MovableSource(pi_world.clock, RP_5000)


@pytest.fixture
def deps(pi_world: PiWorld, source: MovableSource) -> PiDeps:
    return replace(pi_world.deps, rates=RatePanel((source,)))


def _uow(conn: Connection, world: PiWorld) -> UnitOfWork:
    return bind(conn, world.clock)


def _posted(conn: Connection, code: str) -> int:
    try:
        return Ledger(conn).balance(code).posted
    except AccountNotFound:
        return 0


def _refunds(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        text("SELECT key, payload FROM outbox WHERE kind = :k ORDER BY id"), {"k": OUTBOX_PI_REFUND}
    ).all()
    return [{"key": r.key, **r.payload} for r in rows]


def _balanced_per_asset(conn: Connection) -> None:
    for line in Ledger(conn).trial_balance():
        assert line.debits_posted == line.credits_posted, line


def test_conversion_end_to_end(db_conn: Connection, pi_world: PiWorld, deps: PiDeps) -> None:
    uow = _uow(db_conn, pi_world)
    fund_reserve(uow, 10**10)
    pioneer = pi_world.driver.add_pioneer("ani", "100")
    conv, pid = start_conversion(uow, deps, pi_world.driver, pioneer, TEN_PI)
    assert conv.status is conversions.ConversionStatus.QUOTED
    quote = find_firm_quote(db_conn, conv.quote_id)
    assert quote is not None
    txid = pay(uow, deps, pi_world.driver, pid, pioneer.uid)
    done = conversions.find(db_conn, conv.id)
    assert done is not None
    assert done.status is conversions.ConversionStatus.CONVERTED
    assert done.converted_units == quote.buy_units == 49_500_00  # 10 PI at Rp 5,000 less 1 %
    assert done.payment_id == pid
    assert done.paid_at is not None
    assert done.converted_at is not None
    assert _posted(db_conn, chart.pioneer_balance(pioneer.uid, "MSC").code) == quote.buy_units
    assert _posted(db_conn, chart.exchange("PI").code) == TEN_PI - quote.fee_units
    assert _posted(db_conn, chart.conversion_fees().code) == quote.fee_units
    assert _posted(db_conn, chart.conversions_pi().code) == 0
    assert _refunds(db_conn) == []
    _balanced_per_asset(db_conn)
    again = conversions.find(db_conn, conv.id)
    u2a.complete(uow, deps, pid, txid, pioneer.uid)  # the Pi app retries: nothing changes
    conversion_paid(uow, conv.reference, TEN_PI, pid, None)
    assert conversions.find(db_conn, conv.id) == again
    assert _posted(db_conn, chart.pioneer_balance(pioneer.uid, "MSC").code) == quote.buy_units


def _refunded_once(conn: Connection, deps: PiDeps, conv_id: uuid.UUID, uid: str, code: str) -> None:
    done = conversions.find(conn, conv_id)
    assert done is not None
    assert done.status is conversions.ConversionStatus.REFUNDED
    assert done.refund_code == code
    assert done.converted_units is None
    assert _posted(conn, chart.pioneer_balance(uid, "MSC").code) == 0
    assert _posted(conn, chart.exchange("MSC").code) == 0
    assert _posted(conn, chart.pioneer_pi(uid).code) == done.sell_units
    queued = _refunds(conn)
    assert [q["key"] for q in queued] == [str(conv_id)]
    message = OutboxMessage(1, OUTBOX_PI_REFUND, str(conv_id), dict(queued[0]), 0)
    pay_pi_refund(deps)(conn, message)
    pay_pi_refund(deps)(conn, message)  # a duplicated message: the same payout
    payouts = conn.execute(
        text("SELECT key, amount_units FROM pi_payouts WHERE uid = :u"), {"u": uid}
    ).all()
    assert [(p.key, p.amount_units) for p in payouts] == [
        (f"conversion-refund:{conv_id}", done.sell_units)
    ]
    _balanced_per_asset(conn)


def test_below_the_floor_after_posting_refunds(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps
) -> None:
    uow = _uow(db_conn, pi_world)  # no reserve at all: the MSC would be uncovered
    pioneer = pi_world.driver.add_pioneer("budi", "100")
    conv, pid = start_conversion(uow, deps, pi_world.driver, pioneer, TEN_PI)
    pay(uow, deps, pi_world.driver, pid, pioneer.uid)
    _refunded_once(db_conn, deps, conv.id, pioneer.uid, "reserve_coverage_below_floor")


def test_limit_reached_at_receipt_refunds(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps
) -> None:
    uow = _uow(db_conn, pi_world)
    fund_reserve(uow, 10**10)
    pioneer = pi_world.driver.add_pioneer("citra", "100")
    conv, pid = start_conversion(uow, deps, pi_world.driver, pioneer, TEN_PI)
    parameters.set_(uow, parameters.conversion_limit_name(0, "day"), "100.00", "test")
    pay(uow, deps, pi_world.driver, pid, pioneer.uid)
    _refunded_once(db_conn, deps, conv.id, pioneer.uid, "conversion_limit_exceeded")


def test_expired_quote_within_tolerance_converts_at_the_fresh_quote(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps, source: MovableSource
) -> None:
    uow = _uow(db_conn, pi_world)
    fund_reserve(uow, 10**10)
    pioneer = pi_world.driver.add_pioneer("dewi", "100")
    conv, pid = start_conversion(uow, deps, pi_world.driver, pioneer, TEN_PI)
    pi_world.clock.now += TTL_S + 1
    source.idr_units_per_pi = RP_5000 - 2_500  # 50 bp less: the default tolerance
    pay(uow, deps, pi_world.driver, pid, pioneer.uid)
    done = conversions.find(db_conn, conv.id)
    assert done is not None
    assert done.status is conversions.ConversionStatus.CONVERTED
    assert done.requote_id is not None
    assert done.converted_units is not None
    assert done.converted_units < conv.buy_units
    assert _posted(db_conn, chart.pioneer_balance(pioneer.uid, "MSC").code) == done.converted_units
    assert _refunds(db_conn) == []


def test_expired_quote_past_tolerance_refunds(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps, source: MovableSource
) -> None:
    uow = _uow(db_conn, pi_world)
    fund_reserve(uow, 10**10)
    pioneer = pi_world.driver.add_pioneer("eka", "100")
    conv, pid = start_conversion(uow, deps, pi_world.driver, pioneer, TEN_PI)
    pi_world.clock.now += TTL_S + 1
    source.idr_units_per_pi = RP_5000 - 2_600
    pay(uow, deps, pi_world.driver, pid, pioneer.uid)
    _refunded_once(db_conn, deps, conv.id, pioneer.uid, "conversion_requote_worse")


def test_expired_quote_without_a_rate_refunds(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps, source: MovableSource
) -> None:
    uow = _uow(db_conn, pi_world)
    fund_reserve(uow, 10**10)
    pioneer = pi_world.driver.add_pioneer("fajar", "100")
    conv, pid = start_conversion(uow, deps, pi_world.driver, pioneer, TEN_PI)
    pi_world.clock.now += TTL_S + 1
    source.idr_units_per_pi = None
    pay(uow, deps, pi_world.driver, pid, pioneer.uid)
    _refunded_once(db_conn, deps, conv.id, pioneer.uid, "conversion_quote_expired")


def _written(conn: Connection) -> tuple[int, ...]:
    """Rows a conversion request could write, and the Pi it could post."""
    counts = tuple(
        int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        for table in ("conversions", "pi_expectations", "outbox", "transfers")
    )
    return (*counts, _posted(conn, chart.conversions_pi().code))


def test_create_refusals_write_nothing(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps
) -> None:
    uow = _uow(db_conn, pi_world)
    quote = quote_pi(uow, deps.rates, "uid-ani", TEN_PI)
    before = _written(db_conn)
    with pytest.raises(QuoteRefused) as other:
        conversions.create(uow, uid="uid-other", quote_id=quote.id)
    with pytest.raises(QuoteRefused) as unknown:
        conversions.create(uow, uid="uid-ani", quote_id=uuid.uuid4())
    assert other.value.code == unknown.value.code == "quote_not_found"
    parameters.set_(uow, parameters.conversion_limit_name(0, "month"), "1000.00", "test")
    with pytest.raises(LimitExceeded):
        conversions.create(uow, uid="uid-ani", quote_id=quote.id)
    set_tier(uow, "uid-ani", 1, "test")  # tier 1 has its own, larger limits
    compute(uow, None, "test", issuing_msc=1)  # below the floor: nothing in the reserve
    with pytest.raises(CoverageBelowFloor):
        conversions.create(uow, uid="uid-ani", quote_id=quote.id)
    pi_world.clock.now += TTL_S + 1
    with pytest.raises(QuoteRefused) as expired:
        conversions.create(uow, uid="uid-ani", quote_id=quote.id)
    assert expired.value.code == "quote_expired"
    assert _written(db_conn) == before


def test_create_is_idempotent_by_quote(
    db_conn: Connection, pi_world: PiWorld, deps: PiDeps
) -> None:
    uow = _uow(db_conn, pi_world)
    quote = quote_pi(uow, deps.rates, "uid-ani", TEN_PI)
    first = conversions.create(uow, uid="uid-ani", quote_id=quote.id)
    assert conversions.create(uow, uid="uid-ani", quote_id=quote.id) == first
    assert first.tier == 0
    assert conversions.page(db_conn, uid="uid-ani") == [first]
    with pytest.raises(conversions.ConversionNotFound):
        conversions.require(db_conn, first.id, "uid-other")
    assert conversions.require(db_conn, first.id, None) == first
