"""The checkout's rules on the in-memory ledger: how unit tests and the state machine apply a
decision without PostgreSQL, and the money sums they check it against."""

from __future__ import annotations

from collections.abc import Iterable

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode
from settlement.checkout.model import Checkout, CheckoutStatus, Leg, leg_reference
from settlement.checkout.rules import Decision, accounts_to_open, linked
from settlement.shares.rules import parse_rule
from settlement.tenders import TENDER_ASSET, Tender

MERCHANT = "UM001"
ASSETS = ("IDR", "PI", "MSC", "MSCP")
RULE = parse_rule(
    "default",
    [
        {"to": "platform_fee", "percent_bp": 100},
        {"to": "community_fund", "percent_bp": 50},
        {"to": "merchant", "remaining": True},
    ],
    1000,
    None,
)
SOURCES = {
    Tender.PI: chart.pi_custody(),
    Tender.QRIS: chart.qris_clearing(),
}


def new_ledger(clock: FixedClock) -> MemoryLedger:
    """A ledger with the chart as policy and every account a checkout of MERCHANT moves through."""
    ledger = MemoryLedger(clock, policy=chart.CHART)
    for spec in (
        chart.pi_custody(),
        chart.qris_clearing(),
        chart.mscp_budget(),
        chart.mscp_authorised(),
        chart.qris_refunds(),
    ):
        chart.open_account(ledger, spec)
    for asset in ASSETS:
        for spec in (
            chart.checkout_escrow(asset),
            chart.merchant_balance(MERCHANT, asset),
            chart.platform_fee(asset),
            chart.community_fund(asset),
        ):
            chart.open_account(ledger, spec)
    return ledger


def checkout(
    checkout_id: str,
    legs: Iterable[tuple[Tender, int, int]],
    now_us: int,
    *,
    ttl_s: int = 900,
    auto_release_s: int = 3600,
    pioneer: str | None = None,
) -> Checkout:
    """An open checkout of MERCHANT with legs of (tender, idr_units, amount_units)."""
    built = tuple(
        Leg(leg_reference(checkout_id, tender), tender, TENDER_ASSET[tender], 5000, idr, amount)
        for tender, idr, amount in legs
    )
    price = sum(leg.idr_units for leg in built)
    return Checkout(
        checkout_id,
        MERCHANT,
        price,
        0,
        None,
        pioneer,
        CheckoutStatus.OPEN,
        now_us,
        now_us + ttl_s * 1_000_000,
        auto_release_s,
        built,
    )


def arrive(ledger: MemoryLedger, tender: Tender, units: int, payment: str) -> None:
    """What a rail does before the checkout decides: a Pi or QRIS payment reaches the escrow."""
    asset = TENDER_ASSET[tender]
    code = TransferCode.PI_RECEIVED if tender is Tender.PI else TransferCode.QRIS_RECEIVED
    result = ledger.post(
        TransferRequest(
            transfer_id("test.arrive", payment),
            SOURCES[tender].code,
            chart.checkout_escrow(asset).code,
            units,
            asset,
            code,
        )
    )
    if not result.ok:
        raise AssertionError(f"arrival refused: {result.code}")


def post(ledger: MemoryLedger, decision: Decision) -> None:
    """Post the decision's batch as the use case does; every transfer must be accepted."""
    if not decision.transfers:
        return
    for spec in accounts_to_open(decision):
        chart.open_account(ledger, spec)
    results = ledger.post_batch(linked(decision.transfers))
    refused = [result for result in results if not result.ok]
    if refused:
        raise AssertionError(f"ledger refused {refused}")


def fund_points(ledger: MemoryLedger, units: int) -> None:
    """Put ``units`` points into the points budget."""
    ledger.post(
        TransferRequest(
            transfer_id("test.points", str(units)),
            chart.mscp_authorised().code,
            chart.mscp_budget().code,
            units,
            "MSCP",
            TransferCode.POINTS_FUNDED,
        )
    )


def net(ledger: MemoryLedger, code: str) -> int:
    """The posted balance of a liability or income account (credits less debits)."""
    account = ledger.account(code)
    return account.credits_posted - account.debits_posted
