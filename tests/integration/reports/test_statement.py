"""The monthly statement on PostgreSQL, from rows and transfers made here as a release makes them:
Bu Tin's month (a plate for half Pi, half QRIS, a Pi-Zone discount, a refund, a payout), and
for random months of movements, opening + movements = closing for every asset."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from escrow.calendar import month_of
from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.model import TransferFlags, TransferRequest
from escrow.periods import period
from settlement.chart import TransferCode
from settlement.merchants.model import MerchantRefused
from settlement.reports.statement import Category, monthly_statement, statement_csv
from settlement.unit_of_work import UnitOfWork, bind
from tests.conftest import rolled_back
from tests.support.checkout_rows import (
    insert_merchant,
    insert_refund,
    merchant_id,
    open_checkout_accounts,
    post,
    sell_plate,
)

pytestmark = pytest.mark.integration
day_us = 24 * 3600 * 1_000_000


def next_month(clock: FixedClock, days: int = 4) -> str:
    """Move the clock ``days`` into the next month; that month's name."""
    following = period(month_of(clock.now_us())).ends_at_us + 1
    clock.advance_to(following + days * day_us)
    return month_of(clock.now_us())


def test_bu_tins_month(module_conn: Connection, clock: FixedClock) -> None:
    uow = bind(module_conn, clock)
    mid = merchant_id()
    insert_merchant(module_conn, mid, nmid="ID" + mid[1:])
    open_checkout_accounts(uow, mid)
    earlier = month_of(clock.now_us())
    sell_plate(uow, mid, discount=False)  # the month before: the opening balance
    month = next_month(clock)
    cid = sell_plate(uow, mid, discount=True)
    sell_plate(uow, mid, discount=False)
    insert_refund(
        module_conn,
        cid,
        f"{cid}-qr",
        reason="excess",
        asset="IDR",
        units=50_000,
        at_us=clock.now_us(),
    )
    post(
        uow,
        TransferRequest(
            uuid.uuid4(),
            f"merchant:{mid}:PI",
            "treasury:pi_custody",
            2_000_000,
            "PI",
            TransferCode.PI_PAYOUT,
        ),
    )
    end_of_month = period(month).ends_at_us
    later = next_month(clock)
    sell_plate(uow, mid, discount=False)  # the month after: not in the closing balance

    s = monthly_statement(module_conn, mid, month, now_us=clock.now_us())
    assert (s.final, s.checkouts_released, s.price_units, s.discount_units) == (
        True,
        2,
        3_000_000,
        150_000,
    )
    assert [(x.tender, x.asset, x.legs, x.amount_units, x.idr_units) for x in s.sales] == [
        ("PI", "PI", 2, 10_000_000, 1_500_000),
        ("QRIS", "IDR", 2, 1_500_000, 1_500_000),
    ]
    assert sorted((f.kind, f.asset, f.transfers, f.amount_units, f.deducted) for f in s.fees) == [
        ("community_fund", "IDR", 2, 7_500, True),
        ("community_fund", "PI", 2, 50_000, True),
        ("platform_fee", "IDR", 2, 15_000, True),
        ("platform_fee", "PI", 2, 100_000, True),
        ("qris_mdr", "IDR", 2, 4_500, False),
    ]
    assert [(r.reason, r.asset, r.refunds, r.amount_units) for r in s.refunds] == [
        ("excess", "IDR", 1, 50_000)
    ]
    idr, pi = s.assets[0], s.assets[1]
    assert [a.asset for a in s.assets] == ["IDR", "PI", "MSC", "MSCP"]
    assert (idr.opening_units, pi.opening_units) == (738_750, 4_925_000)
    assert [(m.category, m.transfers, m.amount_units) for m in idr.movements] == [
        (Category.SALES, 2, 1_477_500),
        (Category.DISCOUNT, 1, 150_000),
    ]
    assert [(m.category, m.transfers, m.amount_units) for m in pi.movements] == [
        (Category.SALES, 2, 9_850_000),
        (Category.PAYOUT, 1, 2_000_000),
    ]
    assert (idr.closing_units, pi.closing_units) == (2_366_250, 12_775_000)
    for account in s.assets:
        assert account.balanced
        code = f"merchant:{mid}:{account.asset}"
        assert account.closing_units == Ledger(module_conn).balance(code, end_of_month).posted
    before = monthly_statement(module_conn, mid, earlier, now_us=clock.now_us())
    after = monthly_statement(module_conn, mid, later, now_us=clock.now_us())
    assert [a.closing_units for a in before.assets] == [a.opening_units for a in s.assets]
    assert [a.opening_units for a in after.assets] == [a.closing_units for a in s.assets]
    assert not after.final
    assert [a.closing_units for a in after.assets] == [
        uow.ledger.balance(f"merchant:{mid}:{a.asset}").posted for a in after.assets
    ]
    assert "Saldo akhir" in statement_csv(s)


def test_another_merchants_month_is_not_in_the_statement(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    mine, theirs = merchant_id(), merchant_id()
    for mid in (mine, theirs):
        insert_merchant(module_conn, mid)
        open_checkout_accounts(uow, mid)
    sell_plate(uow, theirs, discount=True)
    s = monthly_statement(module_conn, mine, month_of(clock.now_us()), now_us=clock.now_us())
    assert (s.checkouts_released, s.sales, s.fees, s.refunds) == (0, (), (), ())
    assert [(a.asset, a.opening_units, a.movements, a.closing_units) for a in s.assets] == [
        (asset, 0, (), 0) for asset in ("IDR", "PI", "MSC", "MSCP")
    ]


def test_a_merchant_never_onboarded_has_no_statement(
    module_conn: Connection, clock: FixedClock
) -> None:
    with pytest.raises(MerchantRefused) as refused:
        monthly_statement(
            module_conn, merchant_id(), month_of(clock.now_us()), now_us=clock.now_us()
        )
    assert refused.value.code == "merchant_unknown"


def test_a_merchant_without_accounts_shows_a_zero_rupiah_balance(
    module_conn: Connection, clock: FixedClock
) -> None:
    mid = merchant_id()
    insert_merchant(module_conn, mid)
    s = monthly_statement(module_conn, mid, month_of(clock.now_us()), now_us=clock.now_us())
    assert [(a.asset, a.opening_units, a.closing_units) for a in s.assets] == [("IDR", 0, 0)]


COUNTERPARTS = {
    "IDR": "suspense:IDR",
    "PI": "suspense:PI",
    "MSC": "suspense:MSC",
    "MSCP": "mscp:authorised",
}
movement = st.tuples(
    st.integers(0, 2),  # month: 0, 1 or 2 after the first
    st.sampled_from(sorted(COUNTERPARTS)),
    st.sampled_from(["in", "out", "held", "held_posted", "held_voided"]),
    st.integers(1, 10**12),
    st.sampled_from([str(c) for c in TransferCode]),
)


@settings(max_examples=20, deadline=None)
@given(st.lists(movement, max_size=24))
def test_opening_plus_movements_is_closing_for_every_asset(
    module_engine: Engine, movements: list[tuple[int, str, str, int, str]]
) -> None:
    with rolled_back(module_engine) as conn:
        last = conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
        clock = FixedClock(period(month_of(int(last) + 40 * day_us)).starts_at_us + day_us)
        uow = bind(conn, clock)
        mid = merchant_id()
        insert_merchant(conn, mid)
        open_checkout_accounts(uow, mid)
        months = [month_of(clock.now_us())]
        for offset in range(3):
            for _, asset, kind, units, code in (m for m in movements if m[0] == offset):
                post_movement(uow, mid, asset, kind, units, code)
            months.append(next_month(clock, days=2))
        statements = [monthly_statement(conn, mid, m, now_us=clock.now_us()) for m in months]
        for earlier, later in itertools.pairwise(statements):
            assert [a.closing_units for a in earlier.assets] == [
                a.opening_units for a in later.assets
            ]
        for s in statements:
            for account in s.assets:
                assert account.opening_units + account.credits_units - account.debits_units == (
                    account.closing_units
                )
        assert [a.closing_units for a in statements[-1].assets] == [
            uow.ledger.balance(f"merchant:{mid}:{a.asset}").posted for a in statements[-1].assets
        ]


def post_movement(uow: UnitOfWork, mid: str, asset: str, kind: str, units: int, code: str) -> None:
    """One movement of the merchant's ``asset`` account against an account without limits."""
    mine, other = f"merchant:{mid}:{asset}", COUNTERPARTS[asset]
    if kind == "in":
        post(uow, TransferRequest(uuid.uuid4(), other, mine, units, asset, code))
    elif kind == "out":
        post(uow, TransferRequest(uuid.uuid4(), mine, other, units, asset, code))
    else:
        held = uuid.uuid4()
        post(uow, TransferRequest(held, other, mine, units, asset, code, TransferFlags.PENDING))
        if kind != "held":
            posted = kind == "held_posted"
            flags = TransferFlags.POST_PENDING if posted else TransferFlags.VOID_PENDING
            post(
                uow,
                TransferRequest(
                    uuid.uuid4(),
                    "",
                    "",
                    units if posted else 0,
                    asset,
                    code,
                    flags,
                    pending_id=held,
                ),
            )
