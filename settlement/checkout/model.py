"""A checkout and its legs as plain data: what the rules decide over and the repository stores.

A checkout prices a sale in IDR (sen) and is paid by one to four legs, one per tender; each leg
carries the Rupiah value it covers (``idr_units``) and the amount due in its own asset
(``amount_units``: Pi at the leg's quote, MSC one-for-one, points at the point value, sen for
QRIS). Times are microseconds since the epoch (``escrow.clock``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from settlement.tenders import Tender

LEG_SUFFIX = {Tender.PI: "pi", Tender.QRIS: "qr", Tender.MSC: "msc", Tender.MSCP: "pts"}
"""A leg's reference is ``<checkout id>-<suffix>``: the Pi metadata reference and the QRIS bill
number (at most 25 characters, tag 62/01)."""


class CheckoutStatus(StrEnum):
    """``open -> paid -> released``, or ``expired`` / ``refunded`` / ``disputed -> ...``."""

    OPEN = "open"
    PAID = "paid"
    DISPUTED = "disputed"
    RELEASED = "released"
    EXPIRED = "expired"
    REFUNDED = "refunded"

    @property
    def terminal(self) -> bool:
        """No transition leaves a terminal status."""
        return self in _TERMINAL


_TERMINAL = frozenset({CheckoutStatus.RELEASED, CheckoutStatus.EXPIRED, CheckoutStatus.REFUNDED})


class LegStatus(StrEnum):
    """Where one leg stands: paid legs are held in escrow until released or refunded."""

    OPEN = "open"
    PAID = "paid"
    RELEASED = "released"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class RefundReason(StrEnum):
    """Why money of a leg goes back to its payer."""

    EXCESS = "excess"
    UNDERPAID = "underpaid"
    LATE = "late"
    DUPLICATE = "duplicate"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    DECISION = "decision"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Leg:
    """One tender's part of a checkout."""

    reference: str
    tender: Tender
    asset: str
    share_bp: int
    idr_units: int
    amount_units: int
    status: LegStatus = LegStatus.OPEN
    payer: str | None = None
    paid_at_us: int | None = None
    external_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    """A sale of ``price_units`` sen at a merchant, less a campaign's discount, paid by legs."""

    id: str
    merchant_id: str
    price_units: int
    discount_units: int
    campaign_id: str | None
    pioneer_uid: str | None
    status: CheckoutStatus
    created_at_us: int
    expires_at_us: int
    auto_release_s: int
    legs: tuple[Leg, ...]
    paid_at_us: int | None = None
    release_at_us: int | None = None
    closed_at_us: int | None = None
    merchant_reference: str | None = None
    merchant_suspended: bool = False
    """Whether its merchant was suspended when the checkout was read (the merchant's state, read
    with the checkout, never stored with it): no new payment is taken (decision 0021)."""

    @property
    def payable_units(self) -> int:
        """What the legs together cover: the price less the discount the campaign pays."""
        return self.price_units - self.discount_units

    def leg(self, reference: str) -> Leg | None:
        """The leg with this reference."""
        return next((leg for leg in self.legs if leg.reference == reference), None)

    def with_leg(self, leg: Leg) -> Checkout:
        """This checkout with ``leg`` replacing the leg of the same reference."""
        legs = tuple(leg if old.reference == leg.reference else old for old in self.legs)
        return replace(self, legs=legs)

    @property
    def payers(self) -> frozenset[str]:
        """Every Pioneer who paid a leg (QRIS payers are not Pioneers and are not named)."""
        return frozenset(
            leg.payer
            for leg in self.legs
            if leg.payer is not None and leg.tender is not Tender.QRIS and leg.paid_at_us
        )


def leg_reference(checkout_id: str, tender: Tender) -> str:
    """The reference of ``tender``'s leg of the checkout."""
    return f"{checkout_id}-{LEG_SUFFIX[tender]}"
