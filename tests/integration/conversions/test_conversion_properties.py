"""Property: across random conversions, MSC issued against Rupiah and redeemed, rate moves,
limits, expiries, reserve capital and floors, on PostgreSQL (the Pi rail's receipt posted as the
U2A completion posts it):

- the ledger balances per asset, and ``conversions:PI`` is empty after every receipt: each Pi
  received for a conversion was exchanged or refunded;
- every Pi received for a refused conversion is refunded exactly once (one refund transfer, one
  A2U message), and a replayed receipt changes nothing;
- the MSC credited equals the MSC the exchange issued, and none is issued while the coverage is
  below the floor, nor so that it falls below it;
- a refused conversion request writes nothing;
- no MSC exists without its reserve entry: every MSC in the ledger was issued either against
  Rupiah (``msc:issued``, matched sen for sen by ``msc:backing:IDR``) or in exchange for Pi
  (``exchange:MSC``, its Pi in ``exchange:PI``), and a refused issuance or redemption posts
  nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from chain.bank.account import BankAccount
from escrow.clock import FixedClock
from escrow.errors import AccountNotFound
from escrow.model import TransferRequest
from escrow.refusals import Refusal
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.conversions import conversion as conversions
from settlement.conversions.receipt import (
    OUTBOX_PI_REFUND,
    conversion_paid,
    refund_transfer_id,
    requote,
)
from settlement.conversions.tiers import set_tier
from settlement.pi.accounts import CUSTODY, ensure_custody
from settlement.pi.u2a import receipt_transfer_id
from settlement.rates.panel import RatePanel
from settlement.reserves.coverage import meets_floor, pi_value_idr
from settlement.reserves.issuance import BankDeposit, issue, record_bank_deposit
from settlement.reserves.redemption import RedemptionRequest, redeem
from settlement.reserves.reserve import latest_recorded_price, read_figures
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.conversions import TTL_S, MovableSource, fund_reserve, quote_pi

pytestmark = pytest.mark.integration
ACCOUNT = BankAccount("014", "1234567890", "PEMEGANG MSC")
UIDS = ("uid-p1", "uid-p2")
REFUNDED, CONVERTED = conversions.ConversionStatus.REFUNDED, conversions.ConversionStatus.CONVERTED


@dataclass(frozen=True)
class Convert:
    """A conversion requested, then paid ``delay_s`` later, the rate having moved ``move_bp``
    (negative: worse for the Pioneer) and, if ``squeeze``, the Pioneer's daily limit cut to
    Rp 0.01 in between."""

    uid: int
    sell_units: int
    delay_s: int
    move_bp: int = 0
    squeeze: bool = False


@dataclass(frozen=True)
class Replay:
    index: int


@dataclass(frozen=True)
class Rate:
    sen_per_pi: int | None


@dataclass(frozen=True)
class Limit:
    tier: int
    period: str
    sen: int


@dataclass(frozen=True)
class Tier:
    uid: int
    tier: int


@dataclass(frozen=True)
class Capital:
    sen: int


@dataclass(frozen=True)
class Issue:
    """Rupiah received at the bank for a Pioneer, then issued as MSC (if the reserve allows)."""

    uid: int
    sen: int


@dataclass(frozen=True)
class Redeem:
    """A Pioneer redeems MSC for Rupiah (refused beyond their MSC or its Rupiah backing)."""

    uid: int
    sen: int


@dataclass(frozen=True)
class Knob:
    name: str
    bps: int


steps = st.one_of(
    st.builds(Convert, st.integers(0, 1), st.integers(1, 500 * 10**7), st.sampled_from([0, 30])),
    st.builds(
        Convert,
        st.integers(0, 1),
        st.integers(10**5, 50 * 10**7),
        st.just(TTL_S + 1),
        st.integers(-600, 200),
    ),
    st.builds(
        Convert,
        st.integers(0, 1),
        st.integers(10**5, 50 * 10**7),
        st.sampled_from([0, TTL_S + 1]),
        st.just(0),
        st.just(True),
    ),
    st.builds(Replay, st.integers(0, 10)),
    st.builds(Rate, st.one_of(st.none(), st.integers(400_000, 600_000))),
    st.builds(Limit, st.integers(0, 1), st.sampled_from(["day", "month"]), st.integers(1, 10**9)),
    st.builds(Tier, st.integers(0, 1), st.integers(0, 1)),
    st.builds(Capital, st.integers(1, 10**9)),
    st.builds(Issue, st.integers(0, 1), st.integers(1, 10**8)),
    st.builds(Redeem, st.integers(0, 1), st.integers(1, 10**8)),
    st.builds(Knob, st.just(parameters.RESERVE_FLOOR_BPS), st.sampled_from([0, 10_000, 20_000])),
    st.builds(Knob, st.just(parameters.RESERVE_HAIRCUT_BPS), st.integers(0, 10_000)),
    st.builds(Knob, st.just(parameters.CONVERSION_TOLERANCE_BP), st.sampled_from([0, 50, 500])),
)


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _posted(uow: UnitOfWork, code: str) -> int:
    try:
        return uow.ledger.balance(code).posted
    except AccountNotFound:
        return 0


def _covered(uow: UnitOfWork) -> bool:
    """The floor check recomputed from the ledger, the parameters and the newest price."""
    figures = read_figures(uow.conn)
    price = latest_recorded_price(uow.conn, uow.clock.now_us())
    haircut = parameters.reserve_haircut_bps(uow.conn)
    value = figures.idr_reserve + pi_value_idr(
        figures.pi_inventory, None if price is None else price.price_units, haircut
    )
    outstanding = figures.msc_ledger + figures.msc_onchain
    return meets_floor(value, outstanding, parameters.reserve_floor_bps(uow.conn))


def _receive(uow: UnitOfWork, panel: RatePanel, conv: conversions.Conversion, pid: str) -> None:
    """What the U2A completion does for a conversion: requote (before locks), post the Pi to the
    expectation's account, hand it to the conversion."""
    fresh = requote(uow, panel, conv.reference)
    ensure_custody(uow.ledger)
    receipt = TransferRequest(
        receipt_transfer_id(pid), CUSTODY, chart.conversions_pi().code, conv.sell_units, "PI",
        TransferCode.PI_RECEIVED, external_ref=pid,
    )  # fmt: skip
    assert uow.ledger.post(receipt).ok
    conversion_paid(uow, conv.reference, conv.sell_units, pid, fresh)


def _convert(
    uow: UnitOfWork, source: MovableSource, panel: RatePanel, clock: FixedClock, step: Convert
) -> tuple[conversions.Conversion, str] | None:
    uid = UIDS[step.uid]
    before = (_count(uow.conn, "conversions"), _count(uow.conn, "pi_expectations"))
    try:
        quote = quote_pi(uow, panel, uid, step.sell_units)
        conv = conversions.create(uow, uid=uid, quote_id=quote.id)
    except Refusal as refused:
        event(f"request refused: {refused.code}")
        assert (_count(uow.conn, "conversions"), _count(uow.conn, "pi_expectations")) == before
        return None
    clock.advance(step.delay_s)
    if source.idr_units_per_pi is not None:
        source.idr_units_per_pi = max(
            1, source.idr_units_per_pi * (10_000 + step.move_bp) // 10_000
        )
    limit = parameters.conversion_limit_name(conv.tier, "day")
    kept = parameters.get(uow.conn, limit) or parameters.CONVERSION_LIMIT_DEFAULTS[conv.tier, "day"]
    if step.squeeze:
        parameters.set_(uow, limit, "0.01", "prop")
    pid = f"pid{uuid.uuid4().hex[:20]}"
    covered_before = _covered(uow)
    _receive(uow, panel, conv, pid)
    parameters.set_(uow, limit, kept, "prop")
    after = conversions.find(uow.conn, conv.id)
    assert after is not None
    requoted = "at a fresh quote" if after.requote_id else ""
    event(f"receipt: {after.status} {after.refund_code or requoted}")
    if after.status is conversions.ConversionStatus.CONVERTED:
        assert covered_before
        assert _covered(uow)
    return after, pid


def _rupiah_side(uow: UnitOfWork, step: Issue | Redeem) -> None:
    """Issue MSC against a fresh bank deposit, or redeem it; a refusal posts nothing."""
    holder = chart.pioneer_balance(UIDS[step.uid], "MSC").code
    key = uuid.uuid4().hex[:12]
    before = _count(uow.conn, "transfers")
    try:
        with uow.conn.begin_nested():
            if isinstance(step, Issue):
                deposit = BankDeposit(f"dep-{key}", step.sen, holder, date(2026, 12, 1))
                record_bank_deposit(uow, deposit, by="prop")
                issue(uow, deposit.reference, by="prop")
            else:
                wanted = RedemptionRequest(f"prop:{key}", holder, step.sen, ACCOUNT)
                redeem(uow, wanted, by="prop")
    except Refusal as refused:
        event(f"{type(step).__name__.lower()} refused: {refused.code}")
        assert _count(uow.conn, "transfers") == before
    else:
        event(f"{type(step).__name__.lower()} posted")


def check(uow: UnitOfWork, paid: list[tuple[conversions.Conversion, str]]) -> None:
    for line in uow.ledger.trial_balance():
        assert line.balanced, line
    assert _posted(uow, chart.conversions_pi().code) == 0
    found = [conversions.find(uow.conn, c.id) for c, _ in paid]
    refunded = [
        c for c in found if c is not None and c.status is conversions.ConversionStatus.REFUNDED
    ]
    converted = [
        c for c in found if c is not None and c.status is conversions.ConversionStatus.CONVERTED
    ]
    assert len(refunded) + len(converted) == len(paid)
    for conv in refunded:
        record = uow.ledger.transfer(refund_transfer_id(conv.id))
        assert record is not None
        assert record.amount == conv.sell_units
    queued = uow.conn.execute(
        text("SELECT key, payload FROM outbox WHERE kind = :k"), {"k": OUTBOX_PI_REFUND}
    ).all()
    assert sorted(r.key for r in queued) == sorted(str(c.id) for c in refunded)
    assert sum(_posted(uow, chart.pioneer_pi(uid).code) for uid in UIDS) == sum(
        c.sell_units for c in refunded
    )
    issued = sum(c.converted_units or 0 for c in converted)
    assert -_posted(uow, chart.exchange("MSC").code) == issued  # equity debited
    against_rupiah = -_posted(uow, chart.msc_issued().code)
    assert against_rupiah == _posted(uow, chart.msc_backing().code)
    held = sum(_posted(uow, chart.pioneer_balance(uid, "MSC").code) for uid in UIDS)
    assert held == issued + against_rupiah == read_figures(uow.conn).msc_ledger
    took = _posted(uow, chart.exchange("PI").code) + _posted(uow, chart.conversion_fees().code)
    assert took == sum(c.sell_units for c in converted)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, 10**9), st.lists(steps, min_size=1, max_size=20))
def test_conversion_invariants_hold_across_random_steps(
    module_conn: Connection, clock: FixedClock, capital: int, plan: list[object]
) -> None:
    savepoint = module_conn.begin_nested()
    try:
        uow = bind(module_conn, clock)
        source = MovableSource(clock, 500_000)
        panel = RatePanel((source,))
        if capital:
            fund_reserve(uow, capital)
        paid: list[tuple[conversions.Conversion, str]] = []
        for step in plan:
            if isinstance(step, Convert):
                done = _convert(uow, source, panel, clock, step)
                if done is not None:
                    paid.append(done)
            elif isinstance(step, Replay) and paid:
                conv, pid = paid[step.index % len(paid)]
                before = (_count(module_conn, "transfers"), _count(module_conn, "outbox"))
                again = conversion_paid(uow, conv.reference, conv.sell_units, pid, None)
                assert again == conversions.find(module_conn, conv.id)
                assert (_count(module_conn, "transfers"), _count(module_conn, "outbox")) == before
            elif isinstance(step, Rate):
                source.idr_units_per_pi = step.sen_per_pi
            elif isinstance(step, Limit):
                name = parameters.conversion_limit_name(step.tier, step.period)
                parameters.set_(uow, name, f"{step.sen // 100}.{step.sen % 100:02d}", "prop")
            elif isinstance(step, Tier):
                set_tier(uow, UIDS[step.uid], step.tier, "prop")
            elif isinstance(step, Capital):
                fund_reserve(uow, step.sen)
            elif isinstance(step, Issue | Redeem):
                _rupiah_side(uow, step)
            elif isinstance(step, Knob):
                parameters.set_(uow, step.name, step.bps, "prop")
            check(uow, paid)
    finally:
        savepoint.rollback()
