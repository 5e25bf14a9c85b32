"""Ledger, outbox and payment metrics that cost nothing to scrape (decision 0034).

Counts that grow with the ledger (postings per code, paid checkout legs) are kept as the work
happens, by triggers, in ``metric_counts``; a scrape sums that small table. Everything else a
scrape reads is small or read through a partial index of what is still open (outbox pending and
parked, pending transfers, open exceptions and flags), or the accounts' totals. No scrape
statement touches ``transfers`` (tests/integration/test_metrics_cost.py counts them). Each
scrape is one read-only transaction with a statement timeout, so a slow database makes a scrape
fail, never the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from escrow.calendar import US_PER_S
from escrow.clock import SystemClock
from escrow.model import TrialBalanceLine
from settlement.fund.coverage import FundCoverage
from settlement.fund.coverage import compute as compute_fund_coverage
from settlement.outbox import outbox_lag_s
from settlement.rates.panel import RatePanel
from settlement.reserves.reserve import ReserveComputation
from settlement.reserves.reserve import latest as latest_reserve
from settlement.telemetry import GAUGES
from settlement.unit_of_work import UnitOfWork, transaction, unit_of_work

log = structlog.get_logger(__name__)

scrape_statement_timeout_ms = 2000
"""A scrape's queries give up after this; Prometheus then sees ``msc_ledger_up 0``."""
counted_labels_max = 2000
"""Counter rows per scrape (bounded cardinality: codes x assets, kelurahan x rails)."""
UNIT_NAMES = {"IDR": "idr_sen", "PI": "pi_units", "MSC": "msc_sen", "MSCP": "mscp_points"}
"""Each asset's smallest unit as a metric name says it: one family per asset, one axis each."""
unit_name_fallback = "units"


@dataclass(frozen=True, slots=True)
class Counted:
    """One counter row summed over its shards: how many events and their summed amount."""

    events: int
    amount: int


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """What one scrape read: per-asset totals, postings per code, open work and outbox state."""

    trial_balance: list[TrialBalanceLine]
    postings: dict[tuple[str, str], Counted]
    """(code, asset) -> postings and their summed amount, kept by ``metric_counts``."""
    pending_transfers: int
    outbox_by_status: dict[str, int]
    outbox_lag_s: int
    suspense: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    """(rail, asset) -> (items, amount) of money in suspense (settlement/suspense.py)."""
    qris_exceptions_open: dict[str, int] = field(default_factory=dict)
    pi_flags_open: dict[str, int] = field(default_factory=dict)
    merchants: dict[str, int] = field(default_factory=dict)
    closed_through_us: int = 0
    anchors_unconfirmed: int = 0
    anchor_oldest_requested_s: float | None = None
    gauges: dict[tuple[str, str], float] = field(default_factory=dict)
    """(name, label) -> the value a job last set (``settlement.telemetry``)."""


def read_counts(conn: Connection, family: str) -> dict[tuple[str, str], Counted]:
    """The counter family's rows, summed over shards (``metric_counts``, a small table)."""
    rows = conn.execute(
        text(
            "SELECT label1, label2, sum(events) AS events, sum(amount) AS amount"
            " FROM metric_counts WHERE family = :family GROUP BY label1, label2"
            " ORDER BY label1, label2 LIMIT :limit"
        ),
        {"family": family, "limit": counted_labels_max},
    )
    return {(str(r.label1), str(r.label2)): Counted(int(r.events), int(r.amount)) for r in rows}


def _read_only(conn: Connection) -> None:
    conn.execute(text("SET TRANSACTION READ ONLY"))
    conn.execute(text(f"SET LOCAL statement_timeout = {int(scrape_statement_timeout_ms)}"))


def _grouped(conn: Connection, statement: str) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in conn.execute(text(statement))}


def read_snapshot(uow: UnitOfWork) -> LedgerSnapshot:
    """Read every metric in one read-only transaction (the caller opens it)."""
    conn = uow.conn
    _read_only(conn)
    pending = conn.execute(
        text("SELECT count(*) FROM pending_transfers WHERE status = 'pending'")
    ).scalar_one()
    outbox = {
        status: int(
            conn.execute(
                text("SELECT count(*) FROM outbox WHERE status = :s"), {"s": status}
            ).scalar_one()
        )
        for status in ("pending", "parked")
    }
    anchors = conn.execute(
        text(
            "SELECT count(*) AS n, extract(epoch FROM min(requested_at)) AS oldest"
            " FROM audit_anchors WHERE status = 'requested'"
        )
    ).one()
    return LedgerSnapshot(
        trial_balance=uow.ledger.trial_balance(),
        postings=read_counts(conn, "postings"),
        pending_transfers=int(pending),
        outbox_by_status=outbox,
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
        qris_exceptions_open=_grouped(
            conn,
            "SELECT kind, count(*) FROM qris_exceptions WHERE resolved_at IS NULL GROUP BY kind",
        ),
        pi_flags_open=_grouped(
            conn, "SELECT reason, count(*) FROM pi_flags WHERE resolved_at IS NULL GROUP BY reason"
        ),
        merchants=_grouped(conn, "SELECT status, count(*) FROM merchants GROUP BY status"),
        closed_through_us=int(
            conn.execute(
                text("SELECT closed_through_us FROM ledger_state WHERE id = 1")
            ).scalar_one()
        ),
        anchors_unconfirmed=int(anchors.n),
        anchor_oldest_requested_s=None if anchors.oldest is None else float(anchors.oldest),
        gauges={
            (str(r.name), str(r.label)): float(r.value)
            for r in conn.execute(text("SELECT name, label, value FROM metric_gauges"))
        },
    )


def unit_name(asset: str) -> str:
    """The metric-name spelling of ``asset``'s smallest unit (``idr_sen``)."""
    return UNIT_NAMES.get(asset, f"{asset.lower()}_{unit_name_fallback}")


def snapshot_metrics(snapshot: LedgerSnapshot) -> Iterator[Metric]:
    """The Prometheus families of one snapshot (amounts in each asset's smallest unit)."""
    postings = CounterMetricFamily(
        "msc_postings", "Transfers posted to the ledger, per transfer code.", labels=["code"]
    )
    by_code: dict[str, int] = {}
    for (code, _asset), counted in snapshot.postings.items():
        by_code[code] = by_code.get(code, 0) + counted.events
    for code, count in sorted(by_code.items()):
        postings.add_metric([code], count)
    yield postings
    balanced = GaugeMetricFamily(
        "msc_ledger_balanced", "1 when the asset's debits equal its credits.", labels=["asset"]
    )
    for line in snapshot.trial_balance:
        unit = unit_name(line.asset)
        yield CounterMetricFamily(
            f"msc_volume_posted_{unit}",
            f"Sum of posted transfer amounts in {line.asset}, in {unit.replace('_', ' ')}.",
            value=line.debits_posted,
        )
        yield GaugeMetricFamily(
            f"msc_volume_pending_{unit}",
            f"Pending (reserved, not posted or voided) {line.asset}, {unit.replace('_', ' ')}.",
            value=line.debits_pending,
        )
        balanced.add_metric([line.asset], 1 if line.balanced else 0)
    yield balanced
    yield GaugeMetricFamily(
        "msc_pending_transfers",
        "Pending transfers awaiting post, void or expiry.",
        value=snapshot.pending_transfers,
    )
    outbox = GaugeMetricFamily(
        "msc_outbox_messages", "Outbox messages not yet done, per status.", labels=["status"]
    )
    for status in ("pending", "parked"):
        outbox.add_metric([status], snapshot.outbox_by_status.get(status, 0))
    yield outbox
    yield GaugeMetricFamily(
        "msc_outbox_lag_seconds",
        "Age of the oldest outbox message still waiting to be dispatched.",
        value=snapshot.outbox_lag_s,
    )
    yield from _suspense_metrics(snapshot)
    yield from _open_work_metrics(snapshot)
    yield from gauge_metrics(snapshot.gauges)


def _suspense_metrics(snapshot: LedgerSnapshot) -> Iterator[Metric]:
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


def _open_work_metrics(snapshot: LedgerSnapshot) -> Iterator[Metric]:
    """What waits for a person: QRIS exceptions, Pi flags, the month close, anchors."""
    qris = GaugeMetricFamily(
        "msc_qris_exceptions_open", "QRIS reconciliation exceptions not resolved.", labels=["kind"]
    )
    for kind, count in sorted(snapshot.qris_exceptions_open.items()):
        qris.add_metric([kind], count)
    pi = GaugeMetricFamily("msc_pi_flags_open", "Pi flags not resolved.", labels=["reason"])
    for reason, count in sorted(snapshot.pi_flags_open.items()):
        pi.add_metric([reason], count)
    merchants = GaugeMetricFamily("msc_merchants", "Merchants per status.", labels=["status"])
    for status in ("active", "suspended"):
        merchants.add_metric([status], snapshot.merchants.get(status, 0))
    yield from (qris, pi, merchants)
    yield GaugeMetricFamily(
        "msc_ledger_closed_through_timestamp_seconds",
        "End of the last closed month (0 before any close).",
        value=snapshot.closed_through_us / US_PER_S,
    )
    yield GaugeMetricFamily(
        "msc_audit_anchors_unconfirmed",
        "Anchors requested and not yet confirmed on chain.",
        value=snapshot.anchors_unconfirmed,
    )
    oldest = GaugeMetricFamily(
        "msc_audit_anchor_oldest_request_timestamp_seconds",
        "When the oldest unconfirmed anchor was requested (absent when none is).",
    )
    if snapshot.anchor_oldest_requested_s is not None:
        oldest.add_metric([], snapshot.anchor_oldest_requested_s)
    yield oldest


def gauge_metrics(values: dict[tuple[str, str], float]) -> Iterator[Metric]:
    """Every declared gauge (``settlement.telemetry.GAUGES``), with the values jobs set."""
    for name, spec in sorted(GAUGES.items()):
        family = GaugeMetricFamily(name, spec.help, labels=[spec.label] if spec.label else [])
        for (stored, label), value in sorted(values.items()):
            if stored == name:
                family.add_metric([label] if spec.label else [], value)
        yield family


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

RAILS = ("PI", "QRIS", "MSC", "MSCP")
"""The rails a checkout leg is paid on: its tender."""
LEGS_PAID = "msc_checkout_legs_paid"
LEGS_PAID_IDR = "msc_checkout_legs_paid_idr_units"


def read_leg_payments(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """(kelurahan, rail) -> (paid legs, their value in IDR units), from ``metric_counts``.

    A trigger counts each leg once, in the transaction that marks it paid (``paid_at`` set,
    which nothing clears: a leg refunded later stays counted, so the counters never go down),
    whichever process paid it; the scrape sums a table of kelurahan x rails rows.
    """
    _read_only(conn)
    counts = read_counts(conn, "legs_paid")
    return {key: (c.events, c.amount) for key, c in counts.items()}


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
                _read_only(conn)
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
    coverage = GaugeMetricFamily(
        "msc_guarantee_fund_coverage_bps",
        "Fund balance / open Pi exposure at the panel's price, basis points (absent: no exposure).",
    )
    if found.coverage_bps is not None:
        coverage.add_metric([], found.coverage_bps)
    yield coverage
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
                _read_only(conn)
                found = compute_fund_coverage(conn, self._panel, self._clock.now_us())
        except SQLAlchemyError as error:
            log.warning("guarantee_fund_metrics_scrape_failed", error=repr(error))
            yield GaugeMetricFamily("msc_guarantee_fund_up", up, value=0)
            return
        yield GaugeMetricFamily("msc_guarantee_fund_up", up, value=1)
        yield from guarantee_fund_metrics(found)
