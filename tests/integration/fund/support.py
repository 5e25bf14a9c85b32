"""A merchant settling its Pi in IDR or MSC, a Pi checkout paid through the sandbox, and a Pi
price the test moves between checkout and release."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from chain.rates.ports import PriceObservation, RateUnavailable
from escrow.clock import Clock
from escrow.ledger import Ledger
from settlement import parameters
from settlement.checkout import service
from settlement.checkout.model import Checkout
from settlement.checkout.pricing import TenderShare
from settlement.checkout.service import CheckoutDeps, CheckoutRequest, CheckoutWindows
from settlement.fund.fund import Contribution, ContributionSource, contribute
from settlement.fund.release import ConvertAtRelease
from settlement.merchants import service as merchants
from settlement.merchants.model import MerchantRequest
from settlement.rates.panel import RatePanel
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.checkout.test_checkout_service import pay_pi
from tests.integration.pi.conftest import PiWorld
from tests.support.merchants import fresh_id

PI_PRICE = 500_000  # Rp 5.000 per Pi at checkout
TTL_S, QUOTE_S, RELEASE_S = 900, 120, 3600


@dataclass
class MovingPrice:
    """A rate source whose price the test sets (``price_units`` sen per PI; None: down)."""

    clock: Clock
    price_units: int | None = PI_PRICE
    name: str = "moving"

    def price(self, base: str, quote: str) -> PriceObservation:
        """The price now, observed now; ``RateUnavailable`` while it is down."""
        if self.price_units is None:
            raise RateUnavailable("the test took the source down")
        return PriceObservation(base, quote, self.price_units, self.clock.now_us(), self.name)


def deps_with(source: MovingPrice) -> CheckoutDeps:
    """Checkout deps whose conversion converts at ``source``'s price at release."""
    panel = RatePanel((source,))
    return CheckoutDeps(panel, CheckoutWindows(TTL_S, QUOTE_S, RELEASE_S), ConvertAtRelease(panel))


def uow_of(conn: Connection, world: PiWorld) -> UnitOfWork:
    return bind(conn, world.clock)


def onboard_settling(conn: Connection, world: PiWorld, asset: str) -> str:
    """A merchant taking Pi only, settled in ``asset``, on the plain rule (no shares)."""
    merchant_id = fresh_id()
    merchants.onboard(
        uow_of(conn, world),
        MerchantRequest(
            id=merchant_id,
            name="Warung Bu Sri",
            kelurahan="Kelurahan A",
            tenders=frozenset({Tender.PI}),
            rt="01",
            settlement={Tender.PI: asset},
        ),
        "treasury:test",
    )
    return merchant_id


def paid_pi_checkout(
    conn: Connection, world: PiWorld, deps: CheckoutDeps, merchant_id: str, price_units: int
) -> Checkout:
    """A checkout of ``price_units`` sen paid wholly in Pi through the sandbox."""
    request = CheckoutRequest(merchant_id, price_units, (TenderShare(Tender.PI, 10_000),))
    created = service.create_checkout(uow_of(conn, world), deps, request, "merchant:test")
    leg = created.legs[0]
    whole, frac = divmod(leg.amount_units, 10**7)
    pay_pi(conn, world, leg.reference, f"{whole}.{frac:07d}")
    return created


def fund_with(conn: Connection, world: PiWorld, sen: int, reference: str) -> None:
    contribute(
        uow_of(conn, world),
        Contribution(reference, ContributionSource.CSR, "Bank Jatim", sen),
        "treasury:test",
    )


def set_caps(conn: Connection, world: PiWorld, per_claim: str, per_month: str) -> None:
    uow = uow_of(conn, world)
    parameters.set_(uow, parameters.FUND_CLAIM_CAP_IDR, per_claim, "test")
    parameters.set_(uow, parameters.FUND_MERCHANT_MONTH_CAP_IDR, per_month, "test")


def balance(conn: Connection, code: str) -> int:
    """The posted balance of ``code`` in its normal direction (0 if it was never opened)."""
    exists = conn.execute(text("SELECT 1 FROM accounts WHERE code = :c"), {"c": code}).first()
    return 0 if exists is None else Ledger(conn).balance(code).posted
