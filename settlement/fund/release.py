"""The merchant's settlement preference applied at release: a Pi leg of a merchant settling in
IDR or MSC converts at the rate at release, with the guarantee fund behind it (decision 0028).

The merchant is owed the Rupiah value its checkout quoted for its part of the leg
(``idr_units`` x its Pi / the leg's Pi, floored). Its Pi is converted at the rate panel's median
at release (``value``, floored), all in the release's one linked batch:

- ``merchant:{m}:PI -> exchange:PI`` (the Pi), ``exchange:{IDR|MSC} -> merchant:{m}:{IDR|MSC}``
  (what it is credited: the owed value when the Pi is worth more, else the value plus what the
  fund makes good);
- worth more: ``exchange:IDR -> income:fx_gain:IDR`` (the excess is the treasury's FX gain);
- worth less: the fund pays the shortfall within its caps (per shortfall, per merchant per WIB
  month) and its balance: ``expense:fx_loss:IDR -> exchange:IDR`` (the loss made good) and
  ``fund:guarantee:IDR -> expense:fx_loss:IDR`` (borne by the fund); the rest becomes a claim.

When the panel refuses a price (or, for MSC, the reserve coverage would fall below its floor)
the release still happens and the leg settles in PI, with a ``settlement_conversion_skipped``
event naming the refusal's code: the merchant's escrow is never held back by a price feed.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass

from escrow.model import TransferRequest, transfer_id
from escrow.refusals import Refusal
from settlement import chart
from settlement.chart import TransferCode
from settlement.checkout.conversion import ConversionPlan
from settlement.checkout.model import Checkout, CheckoutStatus, Leg
from settlement.checkout.rules import Event
from settlement.fund import claims, fund
from settlement.fund.fund import Payment, PaymentKind
from settlement.merchants.model import Merchant
from settlement.rates.panel import RatePanel, current_price
from settlement.reserves.coverage import pi_units_per_pi
from settlement.reserves.reserve import require_coverage
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork

CONVERTED_ASSETS = frozenset({"IDR", "MSC"})
"""The assets a Pi leg converts to at release (PI itself is kept)."""


@dataclass(frozen=True, slots=True)
class FxSplit:
    """A released Pi part in sen: ``owed`` at the checkout's quote, ``value`` at release."""

    owed: int
    value: int

    @property
    def gain(self) -> int:
        """What the Pi is worth above what is owed."""
        return max(self.value - self.owed, 0)

    @property
    def shortfall(self) -> int:
        """What the Pi is worth below what is owed."""
        return max(self.owed - self.value, 0)


def fx_split(leg: Leg, merchant_units: int, price_units: int) -> FxSplit:
    """The merchant's ``merchant_units`` of ``leg`` owed and valued (both floored: the ledger
    never owes or counts a fraction of a sen it does not have)."""
    owed = leg.idr_units * merchant_units // leg.amount_units
    return FxSplit(owed, merchant_units * price_units // pi_units_per_pi)


@dataclass(frozen=True, slots=True)
class ConvertAtRelease:
    """The service's ``SettlementConversion``: Pi legs convert at the panel's price at release."""

    rates: RatePanel

    def prepare(self, uow: UnitOfWork) -> None:
        """Ask the panel now, before any lock: its readings are reused for ``reuse_s`` (the
        service's panel reuses them for ``MSC_RATES_REUSE_S``), so ``plan`` under the
        checkout's lock reads them instead of asking the sources again."""
        with suppress(Refusal):
            current_price(uow, self.rates, "PI", "IDR")

    def plan(
        self, uow: UnitOfWork, checkout: Checkout, merchant: Merchant, leg: Leg, merchant_units: int
    ) -> ConversionPlan:
        """The leg's conversion (module doc); nothing for a leg kept in its own asset."""
        target = merchant.settles(leg.tender)
        if leg.tender is not Tender.PI or target not in CONVERTED_ASSETS or merchant_units <= 0:
            return ConversionPlan()
        try:
            price = current_price(uow, self.rates, "PI", "IDR").price_units
        except Refusal as refused:
            return _skipped(checkout, leg, target, refused)
        split = fx_split(leg, merchant_units, price)
        covered = fund.room(uow, merchant.id).payable(split.shortfall) if split.shortfall else 0
        credited = min(split.owed, split.value) + covered
        if target == "MSC" and credited > 0:
            try:
                require_coverage(uow, None, issuing_msc=credited)
            except Refusal as refused:
                return _skipped(checkout, leg, target, refused)
        for spec in _accounts(merchant.id, target):
            chart.ensure_open(uow.ledger, spec)
        transfers = _transfers(merchant.id, leg, target, merchant_units, split, credited, covered)
        remainder = split.shortfall - covered
        detail: dict[str, object] = {
            "asset": target,
            "pi_units": merchant_units,
            "price_units": price,
            "owed_units": split.owed,
            "value_units": split.value,
            "credited_units": credited,
            "gain_units": split.gain,
            "fund_paid_units": covered,
            "claimed_units": remainder,
        }
        event = Event(
            "settlement_converted", checkout.status, CheckoutStatus.RELEASED, leg.reference, detail
        )

        def after(done: UnitOfWork) -> None:
            if covered:
                fund.record_payment(
                    done,
                    Payment(
                        _id(TransferCode.FUND_FX_SHORTFALL, leg),
                        PaymentKind.FX_SHORTFALL,
                        merchant.id,
                        covered,
                        checkout.id,
                        leg.reference,
                    ),
                )
            if remainder:
                evidence = (
                    f"checkout {checkout.id} leg {leg.reference}: {merchant_units} PI units owed"
                    f" {split.owed} sen at the checkout's quote, worth {split.value} sen at"
                    f" {price} sen/PI at release; the fund paid {covered} sen within its caps"
                )
                claims.file_claim(
                    done,
                    claims.ClaimRequest(
                        f"fx_shortfall:{leg.reference}",
                        claims.ClaimKind.FX_SHORTFALL,
                        merchant.id,
                        remainder,
                        evidence,
                        checkout.id,
                        leg.reference,
                    ),
                    "release",
                )
            if target == "MSC" and credited > 0:
                require_coverage(done)

        return ConversionPlan(transfers, (event,), after)


def _skipped(checkout: Checkout, leg: Leg, target: str, refused: Refusal) -> ConversionPlan:
    detail: dict[str, object] = {"asset": target, "kept": "PI", "reason": refused.code}
    event = Event(
        "settlement_conversion_skipped",
        checkout.status,
        CheckoutStatus.RELEASED,
        leg.reference,
        detail,
    )
    return ConversionPlan((), (event,))


def _accounts(merchant_id: str, target: str) -> tuple[chart.AccountSpec, ...]:
    """Every account a conversion may move money through (opened before its batch)."""
    return (
        chart.exchange("PI"),
        chart.exchange(target),
        chart.exchange("IDR"),
        chart.merchant_balance(merchant_id, target),
        chart.fx_gain(),
        chart.fx_loss(),
        chart.fund_guarantee(),
    )


def _id(code: TransferCode, leg: Leg, part: str = "") -> uuid.UUID:
    return transfer_id(f"{code}{part}", leg.reference)


def _transfers(
    merchant_id: str,
    leg: Leg,
    target: str,
    merchant_units: int,
    split: FxSplit,
    credited: int,
    covered: int,
) -> tuple[TransferRequest, ...]:
    data = {"leg": leg.reference, "merchant": merchant_id}
    wanted = [
        (":in", chart.merchant_balance(merchant_id, "PI"), chart.exchange("PI"), merchant_units,
         "PI", TransferCode.SETTLEMENT_CONVERT),
        (":out", chart.exchange(target), chart.merchant_balance(merchant_id, target),
         credited, target, TransferCode.SETTLEMENT_CONVERT),
        ("", chart.exchange("IDR"), chart.fx_gain(), split.gain, "IDR", TransferCode.FX_GAIN),
        ("", chart.fx_loss(), chart.exchange("IDR"), covered, "IDR", TransferCode.FX_LOSS),
        ("", chart.fund_guarantee(), chart.fx_loss(), covered, "IDR",
         TransferCode.FUND_FX_SHORTFALL),
    ]  # fmt: skip
    return tuple(
        TransferRequest(
            _id(code, leg, part),
            debit.code,
            credit.code,
            units,
            asset,
            code,
            user_data=data,
        )
        for part, debit, credit, units, asset, code in wanted
        if units > 0
    )
