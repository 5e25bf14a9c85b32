"""Property: across random contributions, releases of Pi sales at moving rates, claims, their
decisions and changes of the caps, on PostgreSQL with the Pi sandbox:

- the ledger balances per asset (a conversion creates no money in any asset);
- the fund never pays past its caps (per shortfall or claim, per merchant per WIB month) nor
  past its balance, which is always the contributions less every payment;
- a merchant settling in IDR is credited what its checkout owed when the Pi rose, and when it
  fell the release value plus the fund's payment, the rest claimed: nothing lost, nothing twice;
- a refused decision posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from escrow.money import IDR, format_amount
from escrow.refusals import Refusal
from settlement import chart, parameters
from settlement.checkout import repository, service
from settlement.fund import claims
from settlement.fund.claims import ClaimKind, ClaimRequest, Outcome
from settlement.fund.fund import Contribution, ContributionSource, contribute
from tests.integration.fund.support import (
    MovingPrice,
    balance,
    deps_with,
    onboard_settling,
    paid_pi_checkout,
    uow_of,
)
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration
FUND = "fund:guarantee:IDR"


@dataclass(frozen=True)
class Give:
    sen: int


@dataclass(frozen=True)
class Sale:
    merchant: int
    price_sen: int
    release_rate: int


@dataclass(frozen=True)
class File:
    merchant: int
    sen: int


@dataclass(frozen=True)
class Decide:
    claim: int
    approve: bool
    share_bp: int


@dataclass(frozen=True)
class Caps:
    per_claim: int
    per_month: int


rates = st.integers(100_000, 1_000_000)
steps = st.one_of(
    st.builds(Give, st.integers(1, 3_000_000)),
    st.builds(Sale, st.integers(0, 1), st.integers(10_000, 3_000_000), rates),
    st.builds(File, st.integers(0, 1), st.integers(1, 500_000)),
    st.builds(Decide, st.integers(0, 9), st.booleans(), st.integers(1, 10_000)),
    st.builds(Caps, st.integers(1, 1_000_000), st.integers(1, 2_000_000)),
)


def ledger_balances(conn: Connection) -> None:
    rows = conn.execute(
        text("SELECT asset, sum(debits_posted), sum(credits_posted) FROM accounts GROUP BY asset")
    ).all()
    for asset, debits, credits in rows:
        assert debits == credits, asset


def sums(conn: Connection) -> tuple[int, int]:
    given_ = conn.execute(text("SELECT coalesce(sum(amount), 0) FROM fund_contributions"))
    paid = conn.execute(text("SELECT coalesce(sum(amount), 0) FROM fund_payments"))
    return int(given_.scalar_one()), int(paid.scalar_one())


def new_payments(conn: Connection, seen: set[object]) -> list[tuple[int, int]]:
    """(amount, the merchant's total that month) of each payment not ``seen`` yet (added)."""
    rows = conn.execute(
        text(
            "SELECT p.transfer_id, p.amount, (SELECT sum(q.amount) FROM fund_payments q"
            " WHERE q.merchant_id = p.merchant_id AND q.month = p.month) AS month_total"
            " FROM fund_payments p"
        )
    ).all()
    fresh = [(int(r[1]), int(r[2])) for r in rows if r[0] not in seen]
    seen.update(r[0] for r in rows)
    return fresh


def set_caps(conn: Connection, world: PiWorld, caps: Caps) -> None:
    uow = uow_of(conn, world)
    for name, sen in (
        (parameters.FUND_CLAIM_CAP_IDR, caps.per_claim),
        (parameters.FUND_MERCHANT_MONTH_CAP_IDR, caps.per_month),
    ):
        parameters.set_(uow, name, format_amount(sen, IDR.scale), "test")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.builds(Caps, st.integers(1, 1_000_000), st.integers(1, 2_000_000)),
       st.lists(steps, min_size=1, max_size=15))  # fmt: skip
def test_the_fund_never_pays_past_its_caps_or_its_balance(
    db_conn: Connection, pi_world: PiWorld, start: Caps, plan: list[object]
) -> None:
    savepoint = db_conn.begin_nested()
    try:
        source = MovingPrice(pi_world.clock)
        deps = deps_with(source)
        merchants = [onboard_settling(db_conn, pi_world, "IDR") for _ in range(2)]
        caps = start
        set_caps(db_conn, pi_world, caps)
        filed: list[str] = []
        seen: set[object] = set()
        for number, step in enumerate(plan):
            before = db_conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
            try:
                if isinstance(step, Give):
                    wanted = Contribution(f"C-{number}", ContributionSource.CSR, "CSR", step.sen)
                    contribute(uow_of(db_conn, pi_world), wanted, "test")
                elif isinstance(step, Caps):
                    caps = step
                    set_caps(db_conn, pi_world, caps)
                elif isinstance(step, Sale):
                    merchant = merchants[step.merchant]
                    source.price_units = 500_000
                    sold = paid_pi_checkout(db_conn, pi_world, deps, merchant, step.price_sen)
                    source.price_units = step.release_rate
                    owed_before = balance(db_conn, chart.merchant_balance(merchant, "IDR").code)
                    service.handover(uow_of(db_conn, pi_world), deps, sold.id, merchant, "m")
                    detail = next(
                        e["detail"]
                        for e in repository.events(db_conn, sold.id)
                        if e["kind"] == "settlement_converted"
                    )
                    credited = balance(db_conn, chart.merchant_balance(merchant, "IDR").code)
                    assert credited - owed_before == detail["credited_units"]
                    owed, value = detail["owed_units"], detail["value_units"]
                    assert isinstance(owed, int)
                    assert isinstance(value, int)
                    if value >= owed:
                        assert detail["credited_units"] == owed
                    else:
                        event("shortfall paid" if detail["fund_paid_units"] else "shortfall")
                        assert detail["credited_units"] == value + detail["fund_paid_units"]
                        assert owed - value == detail["fund_paid_units"] + detail["claimed_units"]
                        if detail["claimed_units"]:
                            filed.append(claims.claim_id(f"fx_shortfall:{sold.legs[0].reference}"))
                elif isinstance(step, File):
                    wanted_claim = ClaimRequest(
                        f"k-{number}", ClaimKind.FAILED_PAYOUT, merchants[step.merchant],
                        step.sen, "the bank returned the transfer",
                    )  # fmt: skip
                    filed.append(
                        claims.file_claim(uow_of(db_conn, pi_world), wanted_claim, "t")["id"]
                    )
                elif isinstance(step, Decide) and filed:
                    found = claims.find(db_conn, filed[step.claim % len(filed)])
                    part = max(found["amount_units"] * step.share_bp // 10_000, 1)
                    outcome = Outcome.APPROVE if step.approve else Outcome.REJECT
                    with db_conn.begin_nested():
                        claims.decide(
                            uow_of(db_conn, pi_world), found["id"], outcome, "t",
                            reason=None if step.approve else "no", amount=part,
                        )  # fmt: skip
                    event("decided")
            except Refusal as refused:
                event(f"refused {refused.code}")
                after = db_conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
                if not isinstance(step, Sale):
                    assert after == before
            for amount, month_total in new_payments(db_conn, seen):
                assert amount <= caps.per_claim
                assert month_total <= caps.per_month
            given_, paid = sums(db_conn)
            assert balance(db_conn, FUND) == given_ - paid >= 0
            ledger_balances(db_conn)
    finally:
        savepoint.rollback()
