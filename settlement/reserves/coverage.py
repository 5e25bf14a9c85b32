"""Reserve coverage as integers: pure arithmetic over the ledger's figures (decision 0024).

coverage = (IDR reserve + Pi inventory x price x haircut) / MSC outstanding, in basis points.
Every division rounds down: the Pi's Rupiah value and the ratio are floored, so the reserve is
never shown larger than it is (in the ledger's favour). The floor is checked exactly, on
integers, never on the floored ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from escrow.errors import InvariantViolation

bps_whole = 10_000
"""Basis points in one whole (100%)."""
pi_units_per_pi = 10**7
"""PI's scale: 1 PI = 10^7 units; a price is sen per whole PI."""


@dataclass(frozen=True, slots=True)
class ReserveFigures:
    """What the ledger holds, in smallest units (sen for IDR and MSC, 1e-7 for PI).

    ``idr_reserve`` is the Rupiah at the bank less what it owes to others out of it (unissued
    deposits, redemptions payable); ``pi_inventory`` is the Pi the treasury owns (custody less
    every Pi liability); ``msc_ledger``/``msc_onchain`` split the MSC outstanding.
    """

    idr_bank: int
    idr_deposits_unissued: int
    idr_redemptions_payable: int
    pi_inventory: int
    msc_ledger: int
    msc_onchain: int

    @property
    def idr_reserve(self) -> int:
        """Rupiah at the bank that backs MSC (may be negative if owed more than held)."""
        return self.idr_bank - self.idr_deposits_unissued - self.idr_redemptions_payable


def pi_value_idr(pi_units: int, price_units: int | None, haircut_bps: int) -> int:
    """Sen the Pi inventory counts for: floor(pi x price x haircut); 0 without a price or Pi."""
    if not 0 <= haircut_bps <= bps_whole:
        raise InvariantViolation(f"haircut out of range: {haircut_bps} bps")
    if price_units is None or pi_units <= 0:
        return 0
    return pi_units * price_units * haircut_bps // (pi_units_per_pi * bps_whole)


def coverage_bps(reserve_value: int, outstanding: int) -> int | None:
    """floor(reserve / outstanding) in basis points; None when no MSC is outstanding."""
    if outstanding <= 0:
        return None
    return max(reserve_value, 0) * bps_whole // outstanding


def meets_floor(reserve_value: int, outstanding: int, floor_bps: int) -> bool:
    """reserve / outstanding >= floor, exactly (nothing outstanding meets any floor)."""
    if outstanding <= 0:
        return True
    return reserve_value * bps_whole >= floor_bps * outstanding
