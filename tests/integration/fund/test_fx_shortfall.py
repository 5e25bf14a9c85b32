"""A merchant settling Pi in IDR on PostgreSQL with the Pi sandbox: the rate moves between
checkout and release, the release converts at the new rate, the guarantee fund pays the
shortfall within its caps and the rest becomes a claim the treasury decides."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection, text
from structlog.testing import capture_logs

from chain.rates.ports import PriceObservation
from escrow.ledger import Ledger
from escrow.refusals import Refusal
from settlement import chart
from settlement.checkout import repository, service
from settlement.checkout.model import Checkout, CheckoutStatus
from settlement.fund import claims, coverage
from settlement.fund.claims import ClaimKind, ClaimRequest, Outcome, claim_id
from settlement.fund.fund import Contribution, ContributionSource, contribute
from settlement.fund.release import ConvertAtRelease
from settlement.metrics import guarantee_fund_metrics
from settlement.rates.panel import RatePanel
from settlement.reserves.issuance import BankDeposit, record_bank_deposit
from tests.integration.fund.support import (
    MovingPrice,
    balance,
    deps_with,
    fund_with,
    onboard_settling,
    paid_pi_checkout,
    set_caps,
    uow_of,
)
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration
PRICE = 1_500_000  # Rp 15.000, 3 Pi at Rp 5.000
MERCHANT_PI = 29_550_000  # 3 Pi less 1% platform fee and 0.5% community fund (default rule)
OWED = 1_477_500  # the merchant's part of Rp 15.000
FUND = "fund:guarantee:IDR"
QUOTE_REUSE_PAST_S = 60
"""Past the panel's 30 s reuse of the reading the checkout was quoted at."""


def events(conn: Connection, checkout_id: str) -> list[tuple[str, dict[str, object]]]:
    return [(e["kind"], e["detail"]) for e in repository.events(conn, checkout_id)]


def conversion_event(conn: Connection, checkout_id: str) -> dict[str, object]:
    found = [d for k, d in events(conn, checkout_id) if k.startswith("settlement_conver")]
    assert len(found) == 1
    return found[0]


def ledger_sums(conn: Connection) -> list[tuple[str, int, int]]:
    rows = conn.execute(
        text("SELECT asset, sum(debits_posted), sum(credits_posted) FROM accounts GROUP BY asset")
    ).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


def test_a_fall_in_the_rate_is_paid_by_the_fund_within_its_caps(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    source = MovingPrice(pi_world.clock)
    deps = deps_with(source)
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    fund_with(db_conn, pi_world, 1_000_000, "CSR-2026-12-01")
    set_caps(db_conn, pi_world, "2000.00", "5000.00")
    checkout = paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    figures = coverage.compute(db_conn, deps.rates, pi_world.clock.now_us())
    assert figures.exposure_pi_units == 30_000_000

    source.price_units = 400_000  # the Pi fell 20% before the hand-over
    released = service.handover(
        uow_of(db_conn, pi_world), deps, checkout.id, merchant_id, "merchant:test"
    )

    assert released.status is CheckoutStatus.RELEASED
    value = MERCHANT_PI * 400_000 // 10**7  # 1_182_000 sen at the release rate
    assert balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) == 0
    assert balance(db_conn, chart.merchant_balance(merchant_id, "IDR").code) == value + 200_000
    assert balance(db_conn, FUND) == 800_000
    assert balance(db_conn, "exchange:PI") == MERCHANT_PI
    detail = conversion_event(db_conn, checkout.id)
    assert detail["owed_units"] == OWED
    assert detail["fund_paid_units"] == 200_000
    assert detail["claimed_units"] == OWED - value - 200_000
    payment = db_conn.execute(
        text("SELECT kind, amount, checkout_id FROM fund_payments WHERE leg_reference = :leg"),
        {"leg": checkout.legs[0].reference},
    ).one()
    assert tuple(payment) == ("fx_shortfall", 200_000, checkout.id)
    assert coverage.open_exposure_pi(db_conn) == 0

    # beyond the per-shortfall cap: a claim, approved by the treasury within the caps
    found = claims.find(db_conn, claim_id(f"fx_shortfall:{checkout.legs[0].reference}"))
    assert (found["status"], found["amount_units"]) == ("open", OWED - value - 200_000)
    decided = claims.decide(uow_of(db_conn, pi_world), found["id"], Outcome.APPROVE, "t:test")
    assert decided["paid_units"] == OWED - value - 200_000
    assert balance(db_conn, chart.merchant_balance(merchant_id, "IDR").code) == OWED
    for asset, debits, credits in ledger_sums(db_conn):
        assert debits == credits, asset


def test_a_rise_in_the_rate_is_the_treasurys_fx_gain(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    source = MovingPrice(pi_world.clock)
    deps = deps_with(source)
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    checkout = paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    gain_before = balance(db_conn, "income:fx_gain:IDR")
    source.price_units = 600_000
    service.handover(uow_of(db_conn, pi_world), deps, checkout.id, merchant_id, "merchant:test")
    value = MERCHANT_PI * 600_000 // 10**7
    assert balance(db_conn, chart.merchant_balance(merchant_id, "IDR").code) == OWED
    assert balance(db_conn, "income:fx_gain:IDR") - gain_before == value - OWED


def test_a_refused_rate_still_releases_and_keeps_the_pi(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    source = MovingPrice(pi_world.clock)
    deps = deps_with(source)
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    checkout = paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    source.price_units = None  # the only source is down at release
    released = service.handover(
        uow_of(db_conn, pi_world), deps, checkout.id, merchant_id, "merchant:test"
    )
    assert released.status is CheckoutStatus.RELEASED
    assert balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) == MERCHANT_PI
    assert balance(db_conn, chart.merchant_balance(merchant_id, "IDR").code) == 0
    detail = conversion_event(db_conn, checkout.id)
    assert detail["kept"] == "PI"
    assert isinstance(detail["reason"], str)


def test_an_msc_merchant_keeps_pi_while_the_reserve_is_below_its_floor(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    source = MovingPrice(pi_world.clock)
    deps = deps_with(source)
    merchant_id = onboard_settling(db_conn, pi_world, "MSC")
    checkout = paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    service.handover(uow_of(db_conn, pi_world), deps, checkout.id, merchant_id, "merchant:test")
    assert balance(db_conn, chart.merchant_balance(merchant_id, "MSC").code) == 0
    assert conversion_event(db_conn, checkout.id)["reason"] == "reserve_coverage_below_floor"


def postings(conn: Connection) -> tuple[int, ...]:
    return tuple(
        conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("transfers", "fund_payments", "fund_contributions", "outbox")
    )


def test_a_contribution_booked_twice_is_booked_once_and_another_is_refused(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    wanted = Contribution("APBD-2026-001", ContributionSource.APBD, "Pemkot Madiun", 500_000)
    first = contribute(uow_of(db_conn, pi_world), wanted, "treasury:test")
    again = contribute(uow_of(db_conn, pi_world), wanted, "treasury:test")
    assert (first["created"], again["created"]) == (True, False)
    before = postings(db_conn)
    other = Contribution("APBD-2026-001", ContributionSource.APBD, "Pemkot Madiun", 600_000)
    with pytest.raises(Refusal) as refused:
        contribute(uow_of(db_conn, pi_world), other, "treasury:test")
    assert refused.value.code == "fund_contribution_conflict"
    assert postings(db_conn) == before


@pytest.mark.parametrize(
    ("fund_sen", "per_claim", "per_month", "code"),
    [
        (1_000_000, "1000.00", "5000.00", "fund_claim_over_cap"),
        (1_000_000, "5000.00", "1000.00", "fund_merchant_month_cap"),
        (100_000, "5000.00", "5000.00", "fund_insufficient_balance"),
    ],
)
def test_an_approval_past_a_cap_or_the_balance_posts_nothing(
    db_conn: Connection,
    pi_world: PiWorld,
    fund_sen: int,
    per_claim: str,
    per_month: str,
    code: str,
) -> None:
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    fund_with(db_conn, pi_world, fund_sen, f"CSR-{code}")
    set_caps(db_conn, pi_world, "5000.00", "5000.00")
    filed = claims.file_claim(
        uow_of(db_conn, pi_world),
        ClaimRequest(f"k-{code}", ClaimKind.FAILED_PAYOUT, merchant_id, 150_000, "bank said no"),
        "treasury:test",
    )
    set_caps(db_conn, pi_world, per_claim, per_month)
    before = postings(db_conn)
    fund_before = Ledger(db_conn).balance(FUND).posted
    with pytest.raises(Refusal) as refused:
        claims.decide(uow_of(db_conn, pi_world), filed["id"], Outcome.APPROVE, "treasury:test")
    assert refused.value.code == code
    assert postings(db_conn) == before
    assert Ledger(db_conn).balance(FUND).posted == fund_before
    assert claims.find(db_conn, filed["id"])["status"] == "open"


def test_a_claim_over_the_cap_is_refused_and_a_rejection_says_why(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    set_caps(db_conn, pi_world, "1000.00", "5000.00")
    over = ClaimRequest("k-over", ClaimKind.FAILED_CONVERSION, merchant_id, 100_001, "x")
    with pytest.raises(Refusal) as refused:
        claims.file_claim(uow_of(db_conn, pi_world), over, "treasury:test")
    assert refused.value.code == "fund_claim_over_cap"
    within = ClaimRequest("k-in", ClaimKind.FAILED_CONVERSION, merchant_id, 100_000, "x")
    filed = claims.file_claim(uow_of(db_conn, pi_world), within, "treasury:test")
    with pytest.raises(Refusal) as no_reason:
        claims.decide(uow_of(db_conn, pi_world), filed["id"], Outcome.REJECT, "treasury:test")
    assert no_reason.value.code == "fund_claim_invalid"
    done = claims.decide(
        uow_of(db_conn, pi_world), filed["id"], Outcome.REJECT, "t:test", reason="no evidence"
    )
    assert (done["status"], done["decision_reason"]) == ("rejected", "no evidence")


def test_coverage_below_the_threshold_is_a_metric_and_a_log_event(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    source = MovingPrice(pi_world.clock)
    deps = deps_with(source)
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    with capture_logs() as logged:
        found = coverage.compute(db_conn, deps.rates, pi_world.clock.now_us())
    exposure_idr = found.exposure_idr_units
    assert exposure_idr is not None
    assert exposure_idr >= PRICE  # this checkout's 3 Pi at Rp 5.000, and any still open
    held = coverage.fund_balance(db_conn)
    assert found.coverage_bps == held * 10_000 // exposure_idr
    below = held * 10_000 < 10_000 * exposure_idr
    assert below  # nothing contributed in this test, Pi held for a merchant settling in IDR
    assert found.below_threshold is below
    assert any(e["event"] == "guarantee_fund_below_threshold" for e in logged) is below
    families = {m.name: m.samples[0].value for m in guarantee_fund_metrics(found)}
    assert families["msc_guarantee_fund_below_threshold"] == int(below)
    assert families["msc_guarantee_fund_exposure_pi_units"] == found.exposure_pi_units


def test_an_msc_merchant_is_credited_msc_while_the_reserve_covers_it(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    source = MovingPrice(pi_world.clock)
    deps = deps_with(source)
    merchant_id = onboard_settling(db_conn, pi_world, "MSC")
    capital = BankDeposit(f"CAP-{merchant_id}", 10**12, None, date(2026, 12, 1))
    record_bank_deposit(uow_of(db_conn, pi_world), capital, "treasury:test")
    checkout = paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    service.handover(uow_of(db_conn, pi_world), deps, checkout.id, merchant_id, "merchant:test")
    assert balance(db_conn, chart.merchant_balance(merchant_id, "MSC").code) == OWED
    assert balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) == 0
    assert conversion_event(db_conn, checkout.id)["asset"] == "MSC"
    for asset, debits, credits in ledger_sums(db_conn):
        assert debits == credits, asset


@dataclass
class LockWatchingPrice(MovingPrice):
    """A source that counts the times it is asked while the release holds a checkout's lock."""

    locked: bool = False
    asked: int = 0
    asked_locked: int = 0

    def price(self, base: str, quote: str) -> PriceObservation:
        self.asked += 1
        self.asked_locked += self.locked
        return super().price(base, quote)


def test_the_release_asks_for_its_price_before_it_locks_the_checkout(
    db_conn: Connection, pi_world: PiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = LockWatchingPrice(pi_world.clock)
    panel = RatePanel((source,), reuse_s=30)  # as the service's panel reuses its readings
    deps = replace(deps_with(source), rates=panel, conversion=ConvertAtRelease(panel))
    merchant_id = onboard_settling(db_conn, pi_world, "IDR")
    checkout = paid_pi_checkout(db_conn, pi_world, deps, merchant_id, PRICE)
    locking = service.load_locked

    def load_and_note(*args: Any) -> Checkout:
        found = locking(*args)
        source.locked = True
        return found

    monkeypatch.setattr(service, "load_locked", load_and_note)
    pi_world.clock.now += QUOTE_REUSE_PAST_S  # the reading the checkout was quoted at is stale
    before = source.asked
    released = service.handover(
        uow_of(db_conn, pi_world), deps, checkout.id, merchant_id, "merchant:test"
    )
    assert released.status is CheckoutStatus.RELEASED
    assert conversion_event(db_conn, checkout.id)["asset"] == "IDR"
    assert source.asked == before + 1
    assert source.asked_locked == 0
