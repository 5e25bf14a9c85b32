"""Pi-Zone campaigns as data: a discount, a budget in IDR, daily caps, a window, merchants.

A campaign's discount on a checkout is ``floor(price * discount_bp / 10000)`` sen (in the
budget's favour), reserved from the campaign's budget account by a pending transfer when the
checkout is created. The caps are in discount value (sen) per Pioneer and per merchant per WIB
business day, over the reservations of that day that were not voided; a discount that would
pass a cap is refused whole (never cut down to fit). The window is ``[starts_at, ends_at)``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from escrow.calendar import from_us, to_us
from escrow.money import IDR, UNITS_MAX, format_amount, parse_amount
from escrow.refusals import Refusal

discount_bp_max = 5_000
"""50%: the largest discount the issue allows."""
name_chars_max = 100
merchant_ids_max = 1_000
"""Most merchants one campaign may name."""
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class CampaignRefused(Refusal):
    """A campaign or a discount refused; ``code`` says why (the ``_CAMPAIGN`` registry group)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)


def _refused(code: str, detail: str) -> CampaignRefused:
    return CampaignRefused(code, detail)


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    """A campaign as the treasury asks for it (amounts in sen, times in µs)."""

    id: str
    name: str
    discount_bp: int
    budget_units: int
    cap_per_pioneer_day_units: int
    cap_per_merchant_day_units: int
    merchant_ids: frozenset[str] | None
    starts_at_us: int
    ends_at_us: int


@dataclass(frozen=True, slots=True)
class Campaign:
    """A stored campaign; ``merchant_ids`` None means every merchant."""

    id: str
    name: str
    discount_bp: int
    budget_units: int
    cap_per_pioneer_day_units: int
    cap_per_merchant_day_units: int
    merchant_ids: frozenset[str] | None
    starts_at_us: int
    ends_at_us: int

    def open_at(self, now_us: int) -> bool:
        """True inside the window ``[starts_at, ends_at)``."""
        return self.starts_at_us <= now_us < self.ends_at_us

    def applies_to(self, merchant_id: str) -> bool:
        """True when the campaign names no merchants, or names this one."""
        return self.merchant_ids is None or merchant_id in self.merchant_ids

    def discount_of(self, price_units: int) -> int:
        """The discount on ``price_units`` sen: floored, so the budget never pays a fraction."""
        return price_units * self.discount_bp // 10_000

    def view(self) -> dict[str, object]:
        """The campaign as JSON: amounts as ``{"amount", "asset", "amount_units"}``, times ISO."""
        return {
            "id": self.id,
            "name": self.name,
            "discount_bp": self.discount_bp,
            "budget": idr_view(self.budget_units),
            "cap_per_pioneer_day": idr_view(self.cap_per_pioneer_day_units),
            "cap_per_merchant_day": idr_view(self.cap_per_merchant_day_units),
            "merchant_ids": sorted(self.merchant_ids) if self.merchant_ids is not None else None,
            "starts_at": from_us(self.starts_at_us).isoformat(),
            "ends_at": from_us(self.ends_at_us).isoformat(),
        }


def request_of(
    *,
    campaign_id: str,
    name: str,
    discount_bp: int,
    budget: str,
    cap_per_pioneer_day: str,
    cap_per_merchant_day: str,
    merchant_ids: Iterable[str] | None,
    starts_at: datetime,
    ends_at: datetime,
) -> CampaignRequest:
    """The request of amounts written as Rupiah decimal text and aware times (an API body, a
    command line): exact amounts or the amount codes; a time without its zone is
    ``campaign_invalid``."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise _refused("campaign_invalid", "starts and ends need their time zone")
    return CampaignRequest(
        id=campaign_id,
        name=name,
        discount_bp=discount_bp,
        budget_units=idr_units(budget),
        cap_per_pioneer_day_units=idr_units(cap_per_pioneer_day),
        cap_per_merchant_day_units=idr_units(cap_per_merchant_day),
        merchant_ids=frozenset(merchant_ids) if merchant_ids is not None else None,
        starts_at_us=to_us(starts_at),
        ends_at_us=to_us(ends_at),
    )


def idr_view(units: int) -> dict[str, object]:
    """An IDR amount as the API and the CLI show it."""
    return {"amount": format_amount(units, IDR.scale), "asset": IDR.code, "amount_units": units}


def idr_units(text: str) -> int:
    """Exact sen of Rupiah decimal text ("15000.00"); refused with the amount codes."""
    return parse_amount(text, IDR.scale)


class ReservationStatus(StrEnum):
    """A reserved discount: pending, paid to the merchant at release, or voided."""

    RESERVED = "reserved"
    PAID = "paid"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A discount reserved for a checkout: the pending transfer budget -> merchant."""

    checkout_id: str
    campaign_id: str
    discount_units: int
    transfer_id: uuid.UUID
    budget_account: str
    merchant_account: str


def checked(request: CampaignRequest) -> Campaign:
    """The campaign of a valid request; ``campaign_invalid`` names the first bad field."""
    if not isinstance(request.id, str) or not _ID.fullmatch(request.id):
        raise _refused("campaign_invalid", "id is 1 to 32 of A-Z a-z 0-9 _ -")
    name = request.name
    if not isinstance(name, str) or not (1 <= len(name) <= name_chars_max and name.isprintable()):
        raise _refused("campaign_invalid", f"name is 1 to {name_chars_max} printable characters")
    if not _whole(request.discount_bp) or not 1 <= request.discount_bp <= discount_bp_max:
        raise _refused("campaign_invalid", f"discount is 1 to {discount_bp_max} bp (50%)")
    for field in ("budget_units", "cap_per_pioneer_day_units", "cap_per_merchant_day_units"):
        value = getattr(request, field)
        if not _whole(value) or not 0 < value <= UNITS_MAX:
            raise _refused("campaign_invalid", f"{field} is a positive amount of sen")
    if not _whole(request.starts_at_us) or not _whole(request.ends_at_us):
        raise _refused("campaign_invalid", "starts and ends are times")
    if request.ends_at_us <= request.starts_at_us:
        raise _refused("campaign_invalid", "the campaign ends after it starts")
    merchants = request.merchant_ids
    if merchants is not None:
        if not merchants or len(merchants) > merchant_ids_max:
            raise _refused("campaign_invalid", f"merchants: 1 to {merchant_ids_max}, or none")
        if not all(isinstance(m, str) and _ID.fullmatch(m) for m in merchants):
            raise _refused("campaign_invalid", "a merchant id is 1 to 32 of A-Z a-z 0-9 _ -")
    return Campaign(
        request.id,
        request.name,
        request.discount_bp,
        request.budget_units,
        request.cap_per_pioneer_day_units,
        request.cap_per_merchant_day_units,
        frozenset(merchants) if merchants is not None else None,
        request.starts_at_us,
        request.ends_at_us,
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
