"""How a checkout's price becomes legs: the split by tender and each leg's amount in its asset.

Pure. The Rupiah split follows the one allotment rule of ``settlement.shares.allotment`` (each
part floored, the leftover sen handed out one each from the first leg), so the legs' Rupiah
always sum to the payable price. A leg's amount in its own asset is rounded up: the payer never
pays less than the Rupiah the leg covers (the ledger's favour), and what is paid is held whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from escrow.money import asset, parse_amount
from settlement.checkout.errors import CheckoutRefused
from settlement.shares.allotment import Percent, allot
from settlement.tenders import TENDER_ASSET, Tender

_IDR_TEXT = re.compile(r"(0|[1-9][0-9]{0,15})\.[0-9]{2}")
"""A Rupiah amount in the API: whole digits, a point, the two decimals of sen."""
BP_WHOLE = 10_000
SEN_PER_RUPIAH = 100
price_units_max = 10_000_000_00
"""A checkout's price at most Rp 10.000.000 (Bank Indonesia's QRIS limit per transaction)."""
leg_idr_units_max: Mapping[Tender, int] = {
    Tender.PI: 10_000_000_00,
    Tender.QRIS: 10_000_000_00,
    Tender.MSC: 10_000_000_00,
    Tender.MSCP: 1_000_000_00,
}
"""The most Rupiah (in sen) one leg of each tender may cover."""


@dataclass(frozen=True, slots=True)
class TenderShare:
    """A tender and its share of the payable price in basis points (all shares sum to 10,000)."""

    tender: Tender
    share_bp: int


@dataclass(frozen=True, slots=True)
class LegPlan:
    """One leg before it exists: its tender, share, Rupiah value and amount in its asset."""

    tender: Tender
    asset: str
    share_bp: int
    idr_units: int
    amount_units: int


def parse_price(amount: str, asset_code: str) -> int:
    """A price given as ``{"amount": "15000.00", "asset": "IDR"}``: a decimal string with the
    asset's scale of decimals exactly (no exponent, sign or leading zeros), sen, or refused."""
    if asset_code != "IDR":
        raise CheckoutRefused("checkout_asset_invalid", "a checkout is priced in IDR")
    if not _IDR_TEXT.fullmatch(amount):
        raise CheckoutRefused("checkout_amount_invalid", "write the price as 15000.00")
    return parse_amount(amount, asset("IDR").scale)


def check_price(price_units: int) -> None:
    """A price must be a positive number of sen within ``price_units_max``."""
    if isinstance(price_units, bool) or not 0 < price_units <= price_units_max:
        raise CheckoutRefused(
            "checkout_amount_out_of_range", f"the price must be 0.01..{price_units_max / 100:.2f}"
        )


def check_split(shares: Sequence[TenderShare]) -> None:
    """One to four distinct tenders whose shares are positive and sum to 10,000 bp."""
    tenders = [share.tender for share in shares]
    if not 0 < len(shares) <= len(Tender) or len(set(tenders)) != len(tenders):
        raise CheckoutRefused("checkout_split_invalid", "name each tender at most once")
    if any(not 0 < share.share_bp <= BP_WHOLE for share in shares):
        raise CheckoutRefused("checkout_split_invalid", "each share is 1..10000 bp")
    if sum(share.share_bp for share in shares) != BP_WHOLE:
        raise CheckoutRefused("checkout_split_invalid", "the shares must sum to 10000 bp")


def plan_legs(
    payable_units: int,
    shares: Sequence[TenderShare],
    *,
    idr_units_per_pi: int | None,
    idr_units_per_point: int | None,
) -> list[LegPlan]:
    """The legs of a payable price split by ``shares`` (checked), each within its limit."""
    check_split(shares)
    parts = _whole_rupiah_for_qris(
        [share.tender for share in shares],
        allot(payable_units, [Percent(share.share_bp) for share in shares], "IDR"),
    )
    plans = []
    for share, idr_units in zip(shares, parts, strict=True):
        if idr_units <= 0:
            raise CheckoutRefused("checkout_split_invalid", f"the {share.tender} leg would be 0")
        if idr_units > leg_idr_units_max[share.tender]:
            raise CheckoutRefused(
                "checkout_amount_out_of_range", f"the {share.tender} leg is over its limit"
            )
        amount = _amount_in_asset(share.tender, idr_units, idr_units_per_pi, idr_units_per_point)
        plans.append(
            LegPlan(share.tender, TENDER_ASSET[share.tender], share.share_bp, idr_units, amount)
        )
    return plans


def _whole_rupiah_for_qris(tenders: Sequence[Tender], parts: list[int]) -> list[int]:
    """A QRIS amount is whole Rupiah (wallets and gateways take no sen): a QRIS leg's sen move
    to the first other leg, so the legs still sum to the price; a QRIS-only price in sen is
    refused."""
    shifted = list(parts)
    for position, tender in enumerate(tenders):
        sen = shifted[position] % SEN_PER_RUPIAH
        if tender is not Tender.QRIS or sen == 0:
            continue
        other = next((i for i, t in enumerate(tenders) if t is not Tender.QRIS), None)
        if other is None:
            raise CheckoutRefused("checkout_split_invalid", "a QRIS payment is whole Rupiah")
        shifted[position] -= sen
        shifted[other] += sen
    return shifted


def _amount_in_asset(
    tender: Tender, idr_units: int, idr_units_per_pi: int | None, idr_units_per_point: int | None
) -> int:
    if tender is Tender.PI:
        if idr_units_per_pi is None:
            raise CheckoutRefused("rate_unavailable", "no Pi price to quote the Pi leg at")
        return pi_units_for(idr_units, idr_units_per_pi)
    if tender is Tender.MSCP:
        if idr_units_per_point is None:
            raise CheckoutRefused("checkout_points_unpriced", "the point value is not set")
        points: int = -(-idr_units // idr_units_per_point)
        return points
    return idr_units  # QRIS in sen; MSC has the scale of IDR and 1 MSC = Rp 1


def pi_units_for(idr_units: int, idr_units_per_pi: int) -> int:
    """The Pi (in 1e-7) that covers ``idr_units`` sen at a price of sen per whole Pi, rounded up."""
    if idr_units_per_pi <= 0:
        raise CheckoutRefused("rate_unavailable", "a Pi price must be positive")
    whole: int = 10 ** asset("PI").scale
    return -(-idr_units * whole // idr_units_per_pi)
