"""Ledger, outbox and payment metrics, read from the database at scrape time.

Reading at scrape time (instead of counters bumped where batches are posted) keeps the numbers
true across every process that posts (API workers, Celery, CLI) and across restarts, with no hook
in the ledger. Each scrape is one read-only transaction with a statement timeout, so a slow
database makes a scrape fail, never the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from escrow.clock import SystemClock
from escrow.model import TrialBalanceLine
from settlement.fund.coverage import FundCoverage
from settlement.fund.coverage import compute as compute_fund_coverage
from settlement.outbox import outbox_lag_s
from settlement.rates.panel import RatePanel
from settlement.reserves.reserve import ReserveComputation
from settlement.reserves.reserve import latest as latest_reserve
from settlement.unit_of_work import UnitOfWork, transaction, unit_of_work

log = structlog.get_logger(__name__)

scrape_statement_timeout_ms = 2000
"""A scrape's queries give up after this; Prometheus then sees ``msc_ledger_up 0``."""
transfer_codes_max = 200
"""Label values per scrape for postings per code (bounded cardinality)."""


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """What one scrape read: per-asset totals, postings per code, pending and outbox state."""

    trial_balance: list[TrialBalanceLine]
    postings_by_code: dict[str, int]
    pending_transfers: int
    outbox_by_status: dict[str, int]
    outbox_lag_s: int
    suspense: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    """(rail, asset) -> (items, amount) of money in suspense (settlement/suspense.py)."""


def read_snapshot(uow: UnitOfWork) -> LedgerSnapshot:
    """Read every metric in one read-only transaction (the caller opens it)."""
    conn = uow.conn
    conn.execute(text("SET TRANSACTION READ ONLY"))
    conn.execute(text(f"SET LOCAL statement_timeout = {int(scrape_statement_timeout_ms)}"))
    postings = conn.execute(
        text(
            "SELECT code, count(*) AS transfers FROM transfers GROUP BY code"
            " ORDER BY count(*) DESC LIMIT :limit"
        ),
        {"limit": transfer_codes_max},
    ).all()
    pending = conn.execute(
        text("SELECT count(*) FROM pending_transfers WHERE status = 'pending'")
    ).scalar_one()
    outbox = conn.execute(
        text("SELECT status, count(*) AS messages FROM outbox GROUP BY status")
    ).all()
    return LedgerSnapshot(
        trial_balance=uow.ledger.trial_balance(),
        postings_by_code={str(row.code): int(row.transfers) for row in postings},
        pending_transfers=int(pending),
        outbox_by_status={str(row.status): int(row.messages) for row in outbox},
        outbox_lag_s=outbox_lag_s(conn),
        suspense={
            (str(row.rail), str(row.asset)): (int(row.items), int(row.amount))
            for row in conn.execute(
                text(
                    "SELECT rail, asset, count(*) AS items, sum(amount) AS amount"
                    " FROM suspense_items GROUP BY rail, asset"
                )
            )
        },
    )


def snapshot_metrics(snapshot: LedgerSnapshot) -> Iterator[Metric]:
    """The Prometheus families of one snapshot (amounts in each asset's smallest unit)."""
    postings = CounterMetricFamily(
        "msc_postings", "Transfers posted to the ledger, per transfer code.", labels=["code"]
    )
    for code, count in sorted(snapshot.postings_by_code.items()):
        postings.add_metric([code], count)
    yield postings
    volume = CounterMetricFamily(
        "msc_volume_posted",
        "Sum of posted transfer amounts per asset, in the asset's smallest unit.",
        labels=["asset"],
    )
    held = GaugeMetricFamily(
        "msc_volume_pending",
        "Sum of pending (reserved, not yet posted or voided) amounts per asset.",
        labels=["asset"],
    )
    balanced = GaugeMetricFamily(
        "msc_ledger_balanced", "1 when the asset's debits equal its credits.", labels=["asset"]
    )
    for line in snapshot.trial_balance:
        volume.add_metric([line.asset], line.debits_posted)
        held.add_metric([line.asset], line.debits_pending)
        balanced.add_metric([line.asset], 1 if line.balanced else 0)
    yield from (volume, held, balanced)
    yield GaugeMetricFamily(
        "msc_pending_transfers",
        "Pending transfers awaiting post, void or expiry.",
        value=snapshot.pending_transfers,
    )
    outbox = GaugeMetricFamily(
        "msc_outbox_messages", "Outbox messages per status.", labels=["status"]
    )
    for status in ("pending", "done", "parked"):
        outbox.add_metric([status], snapshot.outbox_by_status.get(status, 0))
    yield outbox
    yield GaugeMetricFamily(
        "msc_outbox_lag_seconds",
        "Age of the oldest outbox message still waiting to be dispatched.",
        value=snapshot.outbox_lag_s,
    )
    in_suspense = CounterMetricFamily(
        "msc_money_in_suspense",
        "Arrivals the ledger refused, booked to suspense (alarm when it grows).",
        labels=["rail", "asset"],
    )
    amount = CounterMetricFamily(
        "msc_money_in_suspense_amount",
        "Amount booked to suspense, in the asset's smallest unit.",
        labels=["rail", "asset"],
    )
    for (rail, asset), (items, units) in sorted(snapshot.suspense.items()):
        in_suspense.add_metric([rail, asset], items)
        amount.add_metric([rail, asset], units)
    yield from (in_suspense, amount)


class LedgerCollector(Collector):
    """A Prometheus collector that reads the ledger and the outbox at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        """Yield the families, plus ``msc_ledger_up`` saying whether the read worked."""
        try:
            with unit_of_work(self._engine, SystemClock()) as uow:
                snapshot = read_snapshot(uow)
        except SQLAlchemyError as error:
            log.warning("metrics_scrape_failed", error=repr(error))
            yield GaugeMetricFamily("msc_ledger_up", "1 when the ledger could be read.", value=0)
            return
        yield GaugeMetricFamily("msc_ledger_up", "1 when the ledger could be read.", value=1)
        yield from snapshot_metrics(snapshot)


# --- payments by kelurahan (SKCC figures, issue 11) ------------------------------------------

kelurahan_labels_max = 200
"""Kelurahan per scrape for the payment metrics (bounded cardinality: Madiun has 27)."""
RAILS = ("PI", "QRIS", "MSC", "MSCP")
"""The rails a checkout leg is paid on: its tender."""
LEGS_PAID = "msc_checkout_legs_paid"
LEGS_PAID_IDR = "msc_checkout_legs_paid_idr_units"

_LEG_PAYMENTS = text(
    """
    SELECT m.kelurahan, l.tender AS rail, count(*) AS legs, sum(l.idr_units) AS idr_units
    FROM checkout_legs l
    JOIN checkouts c ON c.id = l.checkout_id
    JOIN merchants m ON m.id = c.merchant_id
    WHERE l.paid_at IS NOT NULL
    GROUP BY m.kelurahan, l.tender
    ORDER BY m.kelurahan, l.tender
    LIMIT :limit
    """
)


def read_leg_payments(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """(kelurahan, rail) -> (paid legs, their value in IDR units), in one read-only statement.

    Gathered from the database at scrape time, like the ledger's figures, rather than counted
    where legs are paid: the numbers stay true across every process that pays a leg (API
    workers, Celery, CLI) and across restarts, they are only ever counted once whoever paid the
    leg, and the checkout's hot path carries no hook. A leg counts once it was paid
    (``paid_at`` set, which nothing clears: a leg refunded later stays counted, so the counters
    never go down). The cost is one GROUP BY over the paid legs: at the pilot's volume (150 UMKM,
    2 checkouts a day, at most two legs each: some 220,000 legs a year) tens of milliseconds,
    bounded by the scrape's statement timeout and ``kelurahan_labels_max``; past that volume
    the same figures would come from a daily rollup table.
    """
    conn.execute(text("SET TRANSACTION READ ONLY"))
    conn.execute(text(f"SET LOCAL statement_timeout = {int(scrape_statement_timeout_ms)}"))
    rows = conn.execute(_LEG_PAYMENTS, {"limit": kelurahan_labels_max * len(RAILS)})
    return {(str(r.kelurahan), str(r.rail)): (int(r.legs), int(r.idr_units)) for r in rows}


def leg_payment_metrics(payments: dict[tuple[str, str], tuple[int, int]]) -> Iterator[Metric]:
    """Paid checkout legs per kelurahan and rail: how many, and their value in IDR units (sen).

    The Local Pi Utility Index panel of the dashboard is computed from these two families.
    """
    legs = CounterMetricFamily(
        LEGS_PAID,
        "Checkout legs paid, per merchant kelurahan and rail.",
        labels=["kelurahan", "rail"],
    )
    value = CounterMetricFamily(
        LEGS_PAID_IDR,
        "Value of the checkout legs paid, in IDR units (sen) of each leg, per kelurahan and rail.",
        labels=["kelurahan", "rail"],
    )
    for (kelurahan, rail), (count, idr_units) in sorted(payments.items()):
        legs.add_metric([kelurahan, rail], count)
        value.add_metric([kelurahan, rail], idr_units)
    yield from (legs, value)


class PaymentCollector(Collector):
    """Reads the paid checkout legs at each scrape, in a transaction of its own, so a slow read
    here never takes the ledger's figures down with it (``msc_payments_up`` says which failed)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        """Yield the payment families, plus ``msc_payments_up``."""
        try:
            with transaction(self._engine) as conn:
                payments = read_leg_payments(conn)
        except SQLAlchemyError as error:
            log.warning("payment_metrics_scrape_failed", error=repr(error))
            yield GaugeMetricFamily("msc_payments_up", "1 when payments could be read.", value=0)
            return
        yield GaugeMetricFamily("msc_payments_up", "1 when payments could be read.", value=1)
        yield from leg_payment_metrics(payments)


# --- reserve coverage (issue 12) ----------------------------------------------------------------

RESERVE_COVERAGE = "msc_reserve_coverage_bps"


def reserve_metrics(found: ReserveComputation | None) -> Iterator[Metric]:
    """The newest stored reserve computation: coverage and floor in basis points, whether it is
    below the floor, the reserve's value and the MSC outstanding (sen), and when it was made.
    Nothing outstanding (coverage undefined) reports no coverage sample, below_floor 0."""
    coverage = GaugeMetricFamily(
        RESERVE_COVERAGE, "Reserve coverage of the MSC outstanding, basis points (floored)."
    )
    floor = GaugeMetricFamily("msc_reserve_floor_bps", "The treasury's coverage floor, bps.")
    below = GaugeMetricFamily("msc_reserve_below_floor", "1 when coverage is below the floor.")
    value = GaugeMetricFamily("msc_reserve_value_idr_units", "The reserve's value, IDR sen.")
    outstanding = GaugeMetricFamily(
        "msc_outstanding_units",
        "MSC outstanding in sen, in the ledger or on chain.",
        labels=["where"],
    )
    computed = GaugeMetricFamily(
        "msc_reserve_computed_timestamp_seconds", "When the newest computation was made."
    )
    if found is not None:
        if found.coverage_bps is not None:
            coverage.add_metric([], found.coverage_bps)
        floor.add_metric([], found.floor_bps)
        below.add_metric([], int(found.below_floor))
        value.add_metric([], found.reserve_value_idr)
        outstanding.add_metric(["ledger"], found.figures.msc_ledger)
        outstanding.add_metric(["onchain"], found.figures.msc_onchain)
        computed.add_metric([], found.computed_at_us / 1_000_000)
    yield from (coverage, floor, below, value, outstanding, computed)


class ReserveCollector(Collector):
    """Reads the newest stored reserve computation at each scrape (``msc_reserve_up`` says
    whether it could), in a read-only transaction of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        """Yield the reserve families, plus ``msc_reserve_up``."""
        try:
            with transaction(self._engine) as conn:
                conn.execute(text("SET TRANSACTION READ ONLY"))
                conn.execute(
                    text(f"SET LOCAL statement_timeout = {int(scrape_statement_timeout_ms)}")
                )
                found = latest_reserve(conn)
        except SQLAlchemyError as error:
            log.warning("reserve_metrics_scrape_failed", error=repr(error))
            yield GaugeMetricFamily("msc_reserve_up", "1 when the reserve could be read.", value=0)
            return
        yield GaugeMetricFamily("msc_reserve_up", "1 when the reserve could be read.", value=1)
        yield from reserve_metrics(found)


def guarantee_fund_metrics(found: FundCoverage) -> Iterator[Metric]:
    """The guarantee fund's families from one coverage computation (decision 0028)."""
    yield GaugeMetricFamily(
        "msc_guarantee_fund_balance_idr_units", "The guarantee fund's balance, IDR sen.",
        value=found.balance_units,
    )  # fmt: skip
    yield GaugeMetricFamily(
        "msc_guarantee_fund_exposure_pi_units",
        "Pi held in escrow for merchants settling in IDR or MSC, PI units.",
        value=found.exposure_pi_units,
    )
    if found.coverage_bps is not None:
        yield GaugeMetricFamily(
            "msc_guarantee_fund_coverage_bps",
            "Fund balance / open Pi exposure at the panel's price, basis points.",
            value=found.coverage_bps,
        )
    yield GaugeMetricFamily(
        "msc_guarantee_fund_threshold_bps", "The treasury's coverage alert threshold, bps.",
        value=found.threshold_bps,
    )  # fmt: skip
    yield GaugeMetricFamily(
        "msc_guarantee_fund_below_threshold", "1 when the fund's coverage is below the threshold.",
        value=int(found.below_threshold),
    )  # fmt: skip


class GuaranteeFundCollector(Collector):
    """Computes the guarantee fund's coverage at each scrape from the stored rate readings (no
    source is asked; ``msc_guarantee_fund_up`` says whether it could be read)."""

    def __init__(self, engine: Engine, panel: RatePanel) -> None:
        self._engine = engine
        self._panel = panel
        self._clock = SystemClock()

    def collect(self) -> Iterator[Metric]:
        """Yield the fund's families, plus ``msc_guarantee_fund_up``."""
        up = "1 when the guarantee fund could be read."
        try:
            with transaction(self._engine) as conn:
                conn.execute(text("SET TRANSACTION READ ONLY"))
                conn.execute(
                    text(f"SET LOCAL statement_timeout = {int(scrape_statement_timeout_ms)}")
                )
                found = compute_fund_coverage(conn, self._panel, self._clock.now_us())
        except SQLAlchemyError as error:
            log.warning("guarantee_fund_metrics_scrape_failed", error=repr(error))
            yield GaugeMetricFamily("msc_guarantee_fund_up", up, value=0)
            return
        yield GaugeMetricFamily("msc_guarantee_fund_up", up, value=1)
        yield from guarantee_fund_metrics(found)
