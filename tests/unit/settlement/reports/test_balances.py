"""A merchant's balances from the ledger: posted and held apart, zero before any account."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.chart import AccountUndeclared
from escrow.memory import MemoryLedger
from escrow.model import TransferFlags, TransferRequest
from settlement import chart
from settlement.chart import CHART, TransferCode, open_account
from settlement.reports import MERCHANT_ASSETS
from settlement.reports.balances import AssetBalance, merchant_balances


def ledger_with_escrow() -> MemoryLedger:
    ledger = MemoryLedger(policy=CHART)
    open_account(ledger, chart.pi_custody())
    open_account(ledger, chart.checkout_escrow("PI"))
    open_account(ledger, chart.merchant_balance("UM001", "PI"))
    open_account(ledger, chart.pi_custody())
    return ledger


def pay(ledger: MemoryLedger, units: int) -> None:
    """A Pi leg paid into the checkout escrow."""
    ledger.post(
        TransferRequest(
            uuid.uuid4(),
            "treasury:pi_custody",
            "escrow:checkout:PI",
            units,
            "PI",
            TransferCode.PI_RECEIVED,
        )
    )


def hold(ledger: MemoryLedger, units: int) -> uuid.UUID:
    held = uuid.uuid4()
    result = ledger.post(
        TransferRequest(
            held,
            "escrow:checkout:PI",
            "merchant:UM001:PI",
            units,
            "PI",
            TransferCode.CHECKOUT_HOLD,
            TransferFlags.PENDING,
        )
    )
    assert result.ok
    return held


def test_a_merchant_without_accounts_has_zero_in_every_asset() -> None:
    balances = merchant_balances(MemoryLedger(policy=CHART), "UM404")
    assert balances == [AssetBalance(a, 0, 0, 0) for a in MERCHANT_ASSETS]
    assert [b.available_units for b in balances] == [0, 0, 0, 0]


def test_held_money_is_shown_apart_from_the_posted_balance_until_release() -> None:
    ledger = ledger_with_escrow()
    pay(ledger, 50_000_000)
    held = hold(ledger, 50_000_000)
    (_, pi, *_) = merchant_balances(ledger, "UM001")
    assert (pi.asset, pi.posted_units, pi.pending_incoming_units) == ("PI", 0, 50_000_000)
    release = TransferRequest(
        uuid.uuid4(),
        "",
        "",
        49_250_000,
        "PI",
        TransferCode.CHECKOUT_RELEASE,
        TransferFlags.POST_PENDING,
        pending_id=held,
    )
    assert ledger.post(release).ok
    (_, pi, *_) = merchant_balances(ledger, "UM001")
    assert (pi.posted_units, pi.pending_incoming_units, pi.available_units) == (
        49_250_000,
        0,
        49_250_000,
    )


@given(st.lists(st.tuples(st.integers(1, 10**9), st.booleans()), max_size=12))
def test_posted_plus_held_is_what_was_paid_and_not_voided(holds: list[tuple[int, bool]]) -> None:
    ledger = ledger_with_escrow()
    kept = 0
    for units, void in holds:
        pay(ledger, units)
        held = hold(ledger, units)
        if void:
            ledger.post(
                TransferRequest(
                    uuid.uuid4(),
                    "",
                    "",
                    0,
                    "PI",
                    TransferCode.CHECKOUT_UNHOLD,
                    TransferFlags.VOID_PENDING,
                    pending_id=held,
                )
            )
        else:
            kept += units
    (_, pi, *_) = merchant_balances(ledger, "UM001")
    assert pi.posted_units + pi.pending_incoming_units == kept
    assert pi.posted_units == 0


def test_a_merchant_id_no_account_could_have_is_refused() -> None:
    with pytest.raises(AccountUndeclared):
        merchant_balances(MemoryLedger(policy=CHART), "UM:001")
