"""Running every check on one consistent snapshot of the database, then the rails."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, Engine

from escrow.clock import Clock
from settlement.check import digest_checks, ledger_checks, process_checks, reserve_checks
from settlement.check.model import CheckResult, failed

log = structlog.get_logger(__name__)

DatabaseCheck = Callable[[Connection], CheckResult]
RailCheck = Callable[[], CheckResult]
"""A check of a network against the books; it opens what it needs itself."""


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    """How long a due side effect may wait in the outbox before the check fails, and the key
    the published months' party ids were pseudonymised with."""

    outbox_lag_max_s: int
    pseudonym_key: bytes


def database_checks(clock: Clock, policy: CheckPolicy) -> list[tuple[str, DatabaseCheck]]:
    """The checks that need only the database, in the order they are printed."""
    return [
        ("double_entry", ledger_checks.double_entry),
        ("account_flags", ledger_checks.account_flags),
        ("running_totals", ledger_checks.running_totals),
        ("pending_reservations", ledger_checks.pending_reservations),
        ("closed_periods", ledger_checks.closed_periods),
        ("reserve_coverage", reserve_checks.reserve_coverage),
        ("escrow_holds", process_checks.escrow_holds),
        ("lock_reservations", process_checks.lock_reservations),
        ("expectations_booked", process_checks.expectations_booked),
        ("outbox_moving", lambda conn: process_checks.outbox_moving(
            conn, clock.now_us(), policy.outbox_lag_max_s)),
        ("published_digests", lambda conn: digest_checks.published_digests(
            conn, policy.pseudonym_key)),
    ]  # fmt: skip


def run_checks(
    engine: Engine,
    clock: Clock,
    policy: CheckPolicy,
    rails: Sequence[tuple[str, RailCheck]] = (),
) -> list[CheckResult]:
    """Every database check in one read-only repeatable-read transaction (they agree with each
    other), then each rail check; a check that raises fails with what it raised."""
    results = []
    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as conn, conn.begin():
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        for name, check in database_checks(clock, policy):
            results.append(_in_savepoint(conn, name, check))
    results.extend(_guarded(name, rail) for name, rail in rails)
    for result in results:
        log.info("check", check=result.name, outcome=str(result.outcome))
    return results


def _in_savepoint(conn: Connection, name: str, check: DatabaseCheck) -> CheckResult:
    """One database check; its failure to run rolls back to before it, not the snapshot."""
    savepoint = conn.begin_nested()
    result = _guarded(name, lambda: check(conn))
    savepoint.rollback()
    return result


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as error:  # a check that cannot run does not hold
        return failed(name, f"could not run: {type(error).__name__}: {str(error)[:200]}")
