"""Figures kept as the work happens, for ``/metrics`` to read without scanning (decision 0034).

Counters (postings per code and asset, paid checkout legs per kelurahan and rail) are kept by
database triggers in ``metric_counts`` (migration 0026_operations); gauges are set here by the
job or command that knows the value, in its own transaction, into ``metric_gauges``. Either way
every process (API, Celery worker, CLI) adds to the same figures and a restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from escrow.errors import InvariantViolation

ACCRUAL_DURATION = "msc_accrual_job_duration_seconds"
RECONCILE_DIFFERENCE = "msc_reconcile_difference_units"
WORKER_HEARTBEAT = "msc_worker_heartbeat_timestamp_seconds"
CHECK_FAILURES = "msc_check_failures"
PIONEERS_ACTIVE = "msc_pioneers_active"


@dataclass(frozen=True, slots=True)
class GaugeSpec:
    """A gauge a job sets: its help text and the name of its one label ('' for none)."""

    help: str
    label: str = ""


GAUGES: dict[str, GaugeSpec] = {
    ACCRUAL_DURATION: GaugeSpec("Seconds the last daily accrual job took."),
    RECONCILE_DIFFERENCE: GaugeSpec(
        "Last reconcile's difference (outside minus ledger) in the asset's smallest unit.",
        "check",
    ),
    WORKER_HEARTBEAT: GaugeSpec("When each worker last ran the periodic jobs.", "worker"),
    CHECK_FAILURES: GaugeSpec("Invariants the last `msc check` found broken (0 = healthy)."),
    PIONEERS_ACTIVE: GaugeSpec("Distinct payers of a checkout leg in the last 30 days."),
}
"""Every gauge ``metric_gauges`` may hold; a name not here is refused (bounded label sets)."""

label_length_max = 128
heartbeat_kept_s = 24 * 3600.0
"""A worker's heartbeat row is kept this long after its last beat (its pid is in the label)."""
activity_window_days = 30
activity_refresh_s = 3600.0
"""How often the active-Pioneer count is recounted (it reads the paid legs of the window)."""


def set_gauge(conn: Connection, name: str, value: float, label: str = "") -> None:
    """Record ``value`` as the gauge's current value (in the caller's transaction)."""
    spec = GAUGES.get(name)
    if spec is None:
        raise InvariantViolation(f"unknown gauge {name!r}: declare it in settlement.telemetry")
    if bool(spec.label) != bool(label) or len(label) > label_length_max:
        raise InvariantViolation(f"gauge {name!r} takes label {spec.label!r}, got {label!r}")
    conn.execute(
        text(
            "INSERT INTO metric_gauges (name, label, value, set_at) VALUES (:n, :l, :v, now())"
            " ON CONFLICT (name, label) DO UPDATE SET value = excluded.value, set_at = now()"
        ),
        {"n": name, "l": label, "v": float(value)},
    )


def fold_counts(conn: Connection) -> int:
    """Fold the counter rows of database sessions that ended into one row each (how many)."""
    return int(conn.execute(text("SELECT metric_counts_fold()")).scalar_one())


def prune_heartbeats(conn: Connection) -> int:
    """Forget heartbeats older than ``heartbeat_kept_s`` (workers that were restarted): how many."""
    pruned = conn.execute(
        text(
            "DELETE FROM metric_gauges WHERE name = :n"
            " AND set_at < now() - make_interval(secs => :kept)"
        ),
        {"n": WORKER_HEARTBEAT, "kept": heartbeat_kept_s},
    )
    return int(pruned.rowcount)


def gauge_age_s(conn: Connection, name: str, label: str = "") -> float | None:
    """Seconds since the gauge was last set (None when it never was)."""
    age = conn.execute(
        text(
            "SELECT extract(epoch FROM now() - set_at) FROM metric_gauges"
            " WHERE name = :n AND label = :l"
        ),
        {"n": name, "l": label},
    ).scalar_one_or_none()
    return None if age is None else float(age)


def count_active_pioneers(conn: Connection) -> int | None:
    """Recount the active Pioneers when the last count is older than ``activity_refresh_s``
    (None when it is fresh): a worker job, never a scrape, reads the paid legs."""
    age = gauge_age_s(conn, PIONEERS_ACTIVE)
    if age is not None and age < activity_refresh_s:
        return None
    active = int(
        conn.execute(
            text(
                "SELECT count(DISTINCT payer) FROM checkout_legs"
                " WHERE paid_at > now() - make_interval(days => :days) AND payer IS NOT NULL"
            ),
            {"days": activity_window_days},
        ).scalar_one()
    )
    set_gauge(conn, PIONEERS_ACTIVE, active)
    return active
