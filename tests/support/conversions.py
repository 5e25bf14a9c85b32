"""A Pioneer converting Pi to MSC through the Pi sandbox: quote, conversion, pay, complete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from chain.pi.sandbox.client import SandboxDriver, SandboxPioneer
from chain.rates.ports import PriceObservation, RateUnavailable
from escrow.clock import Clock
from settlement.conversions.conversion import Conversion, create
from settlement.pi import u2a
from settlement.pi.deps import PiDeps
from settlement.rates.firm import FirmQuote, firm_quote
from settlement.rates.panel import RatePanel
from settlement.reserves.issuance import BankDeposit, record_bank_deposit
from settlement.unit_of_work import UnitOfWork

TTL_S = 120


@dataclass
class MovableSource:
    """A rate source whose price a test moves (None: the source is down)."""

    clock: Clock
    idr_units_per_pi: int | None
    name: str = "movable"
    asked: list[int] = field(default_factory=list)

    def price(self, base: str, quote: str) -> PriceObservation:
        """The current price, observed now."""
        self.asked.append(self.clock.now_us())
        if self.idr_units_per_pi is None:
            raise RateUnavailable("the movable source is down")
        return PriceObservation(base, quote, self.idr_units_per_pi, self.clock.now_us(), self.name)


def fund_reserve(uow: UnitOfWork, sen: int, reference: str | None = None) -> None:
    """Put ``sen`` of treasury capital into the reserve (a bank deposit naming no holder)."""
    ref = reference or f"cap-{uuid.uuid4().hex[:12]}"
    record_bank_deposit(uow, BankDeposit(ref, sen, None, date(2026, 12, 1)), by="test")


def quote_pi(uow: UnitOfWork, panel: RatePanel | None, uid: str, sell_units: int) -> FirmQuote:
    """A firm PI -> MSC quote for ``uid`` from ``panel``."""
    assert panel is not None
    return firm_quote(
        uow, panel, requested_by=f"pioneer:{uid}", sell_asset="PI", buy_asset="MSC",
        sell_units=sell_units, ttl_s=TTL_S,
    )  # fmt: skip


def start_conversion(
    uow: UnitOfWork, deps: PiDeps, driver: SandboxDriver, pioneer: SandboxPioneer, sell_units: int
) -> tuple[Conversion, str]:
    """Quote, create the conversion, and create the Pioneer's payment for it (approved)."""
    quote = quote_pi(uow, deps.rates, pioneer.uid, sell_units)
    conversion = create(uow, uid=pioneer.uid, quote_id=quote.id)
    amount = f"{sell_units // 10**7}.{sell_units % 10**7:07d}"
    pid = driver.create_payment(pioneer, amount, "convert", conversion.view()["metadata"])
    u2a.approve(uow, deps, pid, pioneer.uid)
    return conversion, pid


def pay(uow: UnitOfWork, deps: PiDeps, driver: SandboxDriver, pid: str, uid: str) -> str:
    """The Pioneer signs the payment on chain and the app completes it; the txid."""
    txid = str(driver.pay(pid)["txid"])
    u2a.complete(uow, deps, pid, txid, uid)
    return txid
