"""The guarantee fund's coverage: fund balance / open Pi exposure of merchants settling in IDR
or MSC (decision 0028).

The exposure is every paid, unreleased Pi leg (held in escrow, paid or disputed) of a merchant
whose Pi settles in IDR or MSC, valued at the rate panel's median from its stored readings (no
source is asked); floored, and the ratio floored, in basis points. Each computation below the
treasury's threshold logs ``guarantee_fund_below_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, text

from settlement import chart, parameters
from settlement.rates.median import RateRefused, decide
from settlement.rates.panel import RatePanel, stored
from settlement.reserves.coverage import bps_whole, pi_units_per_pi

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FundCoverage:
    """The fund's figures now: balance (sen), exposure (PI units, and sen at ``price_units``
    when the panel has a price), coverage and the threshold, in basis points."""

    balance_units: int
    exposure_pi_units: int
    price_units: int | None
    exposure_idr_units: int | None
    coverage_bps: int | None
    threshold_bps: int

    @property
    def below_threshold(self) -> bool:
        """Whether the fund covers less of the exposure than the threshold (exactly)."""
        if self.exposure_idr_units is None or self.exposure_idr_units == 0:
            return False
        return self.balance_units * bps_whole < self.threshold_bps * self.exposure_idr_units

    def view(self) -> dict[str, Any]:
        """The figures as answered (``GET /v1/guarantee-fund``, ``msc fund show``)."""
        return {
            "balance_units": self.balance_units,
            "exposure_pi_units": self.exposure_pi_units,
            "price_units": self.price_units,
            "exposure_idr_units": self.exposure_idr_units,
            "coverage_bps": self.coverage_bps,
            "threshold_bps": self.threshold_bps,
            "below_threshold": self.below_threshold,
        }


def open_exposure_pi(conn: Connection) -> int:
    """PI units held in escrow for merchants whose Pi settles in IDR or MSC."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(l.amount_units), 0) FROM checkout_legs l"
                " JOIN checkouts c ON c.id = l.checkout_id"
                " JOIN merchants m ON m.id = c.merchant_id"
                " WHERE l.tender = 'PI' AND l.status = 'paid'"
                " AND c.status IN ('paid', 'disputed')"
                " AND m.settlement ->> 'PI' IN ('IDR', 'MSC')"
            )
        ).scalar_one()
    )


def fund_balance(conn: Connection) -> int:
    """The fund's posted balance in sen (0 before its first contribution)."""
    row = conn.execute(
        text("SELECT credits_posted, debits_posted FROM accounts WHERE code = :code"),
        {"code": chart.fund_guarantee().code},
    ).one_or_none()
    return 0 if row is None else int(row.credits_posted) - int(row.debits_posted)


def compute(conn: Connection, panel: RatePanel, now_us: int) -> FundCoverage:
    """The fund's coverage now; logs ``guarantee_fund_below_threshold`` when below."""
    try:
        price: int | None = decide(
            stored(conn, panel, "PI", "IDR"), now_us, panel.policy, "PI", "IDR"
        ).price_units
    except RateRefused:
        price = None
    exposure = open_exposure_pi(conn)
    exposure_idr = None if price is None else exposure * price // pi_units_per_pi
    held = fund_balance(conn)
    ratio = None if not exposure_idr else held * bps_whole // exposure_idr
    found = FundCoverage(
        held, exposure, price, exposure_idr, ratio, parameters.fund_coverage_threshold_bps(conn)
    )
    if found.below_threshold:
        log.warning("guarantee_fund_below_threshold", **found.view())
    return found
