"""Periodic work in one place: what the embedded worker and Celery beat run on a schedule.

Each job runs in its own transaction with bounded work, so a slow or failing job (a node that is
down) never holds back the others, and a crash loses at most one job's batch, which the next run
redoes idempotently.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import httpx
import structlog

from chain.evm.anvil import AnvilError
from chain.evm.errors import EvmError
from chain.evm.interfaces import EvmNode
from chain.redaction import redact_url
from escrow.calendar import US_PER_S
from escrow.clock import SystemClock
from settlement import telemetry
from settlement.bootstrap import Container
from settlement.checkout import service as checkouts
from settlement.evm.deployment import DeploymentMissingError, load_deployment
from settlement.evm.deposits import scan_deposits
from settlement.idempotency import purge_expired
from settlement.locks.accrual import accrue_all
from settlement.locks.closing import mature_all
from settlement.mscp.expiry import expire_due
from settlement.pi.watch import watch
from settlement.unit_of_work import run, transaction, unit_of_work

log = structlog.get_logger(__name__)

voids_per_run_max = 1000
"""Expired pending transfers voided per run; the rest wait for the next run."""
idempotency_purges_per_run_max = 10_000
"""Expired idempotency keys deleted per run; the rest wait for the next run."""
periodic_interval_s = 30.0
"""How often the embedded worker runs the periodic jobs (Celery beat uses the same cadence)."""

_EVM_UNREACHABLE = (EvmError, AnvilError, httpx.HTTPError, OSError)


def run_periodic(container: Container) -> dict[str, str]:
    """Run every periodic job once, each in its own transaction; the outcome of each by name.

    A job that raises is logged and reported as ``error``; the others still run.
    """
    jobs: dict[str, Callable[[Container], str]] = {
        "void_expired": void_expired,
        "evm_deposits": scan_evm_deposits,
        "pi_wallet": watch_pi_wallet,
        "hooks": run_hooks,
        "idempotency_keys": purge_idempotency_keys,
        "checkouts_expire": expire_checkouts,
        "checkouts_release": release_checkouts,
        "locks": accrue_and_mature_locks,
        "points_expire": expire_points,
        "telemetry": keep_telemetry,
    }
    outcomes: dict[str, str] = {}
    for name, job in jobs.items():
        try:
            outcomes[name] = job(container)
        except Exception:
            log.exception("periodic_job_failed", job=name)
            outcomes[name] = "error"
    return outcomes


def keep_telemetry(container: Container) -> str:
    """This worker's heartbeat, the counters of ended sessions folded, active Pioneers counted
    (hourly): the figures /metrics reads without scanning (settlement/telemetry.py)."""
    with transaction(container.engine) as conn:
        telemetry.set_gauge(
            conn, telemetry.WORKER_HEARTBEAT, container.clock.now_us() / US_PER_S, worker_name()
        )
        telemetry.prune_heartbeats(conn)
        folded = telemetry.fold_counts(conn)
        active = telemetry.count_active_pioneers(conn)
    return f"folded {folded}" + ("" if active is None else f", pioneers active {active}")


def worker_name() -> str:
    """This process's name in the heartbeat gauge: host and pid, like Celery's node names."""
    return f"{socket.gethostname()}:{os.getpid()}"[: telemetry.label_length_max]


def void_expired(container: Container) -> str:
    """Void pending ledger transfers whose timeout passed (at most ``voids_per_run_max``)."""
    with unit_of_work(container.engine, SystemClock()) as uow:
        voided = uow.ledger.void_expired(limit=voids_per_run_max)
    if voided:
        log.info("pending_transfers_voided", count=voided)
    return f"voided {voided}"


def expire_checkouts(container: Container) -> str:
    """Expire open checkouts past their time: paid legs refunded, the rest cancelled."""
    expired = run(container.engine, container.clock, checkouts.expire_due)
    if expired:
        log.info("checkouts_expired", count=expired)
    return f"expired {expired}"


def release_checkouts(container: Container) -> str:
    """Release paid checkouts whose auto-release time passed without a hand-over or dispute."""
    released = run(
        container.engine,
        container.clock,
        lambda uow: checkouts.release_due(uow, container.checkout),
    )
    if released:
        log.info("checkouts_released", count=released)
    return f"released {released}"


def accrue_and_mature_locks(container: Container) -> str:
    """Accrue every open lock to now (idempotent per position per day), then close the matured;
    the accrual's duration is the gauge ``msc_accrual_job_duration_seconds``."""
    started = time.perf_counter()
    accrued = accrue_all(container.engine, container.clock.now_us())
    with transaction(container.engine) as conn:
        telemetry.set_gauge(conn, telemetry.ACCRUAL_DURATION, time.perf_counter() - started)
    matured = mature_all(container.engine, container.clock, container.checkout.rates)
    if accrued.days or matured:
        log.info("locks_accrued", position_days=accrued.days, matured=matured)
    return f"accrued {accrued.days} position-days, matured {matured}"


def expire_points(container: Container) -> str:
    """Book the breakage of MSC Points past the treasury's term (FIFO, idempotent)."""
    expired = run(container.engine, container.clock, expire_due)
    if expired:
        log.info("points_expired", points=expired)
    return f"expired {expired} points"


def purge_idempotency_keys(container: Container) -> str:
    """Delete idempotency keys kept past ``idempotency_ttl_s`` (at most
    ``idempotency_purges_per_run_max``); an expired key not yet purged is claimed afresh anyway."""
    with transaction(container.engine) as conn:
        purged = purge_expired(conn, SystemClock().now_us(), idempotency_purges_per_run_max)
    if purged:
        log.info("idempotency_keys_purged", count=purged)
    return f"purged {purged}"


def scan_evm_deposits(container: Container) -> str:
    """Credit confirmed MSC deposits; skipped while the node is down or nothing is deployed."""
    node = _evm_node(container)
    if node is None:
        return "skipped: node unreachable"
    settings = container.settings
    try:
        with unit_of_work(container.engine, SystemClock()) as uow:
            deployment = load_deployment(uow.conn, node.chain_id)
            result = scan_deposits(
                uow, node, deployment, settings.evm_confirmations, settings.evm_scan_blocks_max
            )
    except DeploymentMissingError:
        return "skipped: no deployment"
    except _EVM_UNREACHABLE as error:
        container.evm.forget()
        log.warning("evm_deposit_scan_skipped", reason=repr(error))
        return "skipped: node unreachable"
    return f"blocks {result.from_block}..{result.to_block}: {result.posted} deposits"


def watch_pi_wallet(container: Container) -> str:
    """Book or flag Pi that reached the app wallet without a completion callback."""
    if container.pi is None or not container.pi.app_address:
        return "skipped: no Pi app wallet"
    report = watch(container.engine, container.pi, container.settings.pi_watch_delay_s)
    return report.summary()


def run_hooks(container: Container) -> str:
    """The rails' own periodic jobs (``container.jobs``, e.g. Pi payment recovery)."""
    for job in container.jobs:
        job()
    return "ran"


def _evm_node(container: Container) -> EvmNode | None:
    """The node of the container's one EVM sender; None (with a warning) while it is down."""
    try:
        return container.evm().node
    except _EVM_UNREACHABLE as error:
        log.warning(
            "evm_node_unreachable",
            rpc_url=redact_url(container.settings.evm_rpc_url),
            reason=repr(error),
        )
        return None
