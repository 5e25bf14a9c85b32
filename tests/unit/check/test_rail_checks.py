"""The rail checks read what the Pi chain and the EVM node answered: equal holds, any
difference or anything in flight fails with both sides named."""

from __future__ import annotations

from settlement.check.model import Outcome
from settlement.check.rail_checks import msc_onchain, pi_custody
from settlement.evm.reconcile import Reconciliation as Supply
from settlement.pi.reconcile import Reconciliation as Custody


def _custody(wallet: int, posted: int, in_flight: int = 0) -> Custody:
    return Custody(
        "GAPP",
        wallet,
        posted,
        0,
        wallet - posted,
        in_flight,
        ok=wallet == posted and in_flight == 0,
    )


def test_pi_custody_holds_only_when_the_wallet_equals_the_books() -> None:
    assert pi_custody(_custody(50_000_000, 50_000_000)).outcome is Outcome.HELD
    short = pi_custody(_custody(49_999_999, 50_000_000))
    assert short.outcome is Outcome.FAILED
    assert "= -1 (1e-7 Pi)" in short.detail
    assert pi_custody(_custody(5, 5, in_flight=1)).outcome is Outcome.FAILED


def test_msc_onchain_counts_what_is_in_flight() -> None:
    assert msc_onchain(Supply(900, 1_000, 100, 0, 2_000)).outcome is Outcome.HELD
    assert msc_onchain(Supply(900, 1_000, 0, 0, 2_000)).outcome is Outcome.FAILED
    uncovered = msc_onchain(Supply(1_000, 1_000, 0, 0, 999))
    assert uncovered.outcome is Outcome.FAILED
    assert "reserve cap 999" in uncovered.detail
