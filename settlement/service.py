"""Running the whole service: database (embedded or configured) at head, local chain, worker."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
import structlog

from chain.evm.anvil import ANVIL_CHAIN_ID, AnvilError, AnvilNode
from chain.evm.errors import EvmError
from settlement.bootstrap import Container, build_container
from settlement.config import Settings
from settlement.db import require_migrated
from settlement.embedded import EmbeddedPostgres
from settlement.evm.deployment import configured_roles, deploy
from settlement.outbox import BackgroundDispatcher
from settlement.schedule import periodic_interval_s, run_periodic
from settlement.throttle import Throttle

log = structlog.get_logger(__name__)

LOCAL_EVM_RPC_URL = str(Settings.model_fields["evm_rpc_url"].default)
"""The default RPC URL: when nothing answers there, the service runs its own anvil."""
rpc_probe_timeout_s = 0.5


class DatabaseNotFound(LookupError):
    """A one-shot command found no embedded database where it looked (and made none)."""


@contextmanager
def running_database(
    settings: Settings, *, create: bool = True, folder: str = "pg"
) -> Iterator[str]:
    """The configured database URL, or an embedded PostgreSQL in ``data_dir/<folder>`` while in
    use (``msc demo`` keeps its own server in ``demo-pg``, away from the service's data).

    Without ``create`` a missing data directory is refused rather than initialised: a command
    run with the wrong folder or ``MSC_DATA_DIR`` must not act on a new, empty database.
    """
    if settings.database_url is not None:
        yield settings.database_url
        return
    pgdata = settings.data_dir / folder
    if not create and not pgdata.is_dir():
        raise DatabaseNotFound(
            f"no database at {pgdata.resolve()}: run `msc serve` (scripts/run) once to create"
            " it, or set MSC_DATA_DIR or MSC_DATABASE_URL"
        )
    embedded = EmbeddedPostgres(pgdata)
    url = embedded.start()
    log.info("embedded_postgres_started", pgdata=str(pgdata))
    try:
        yield url
    finally:
        embedded.stop()
        log.info("embedded_postgres_stopped")


@contextmanager
def running_container(
    settings: Settings, in_process_worker: bool, *, create_database: bool = True
) -> Iterator[Container]:
    """A wired container on a database at head (refused otherwise: ``msc db upgrade`` migrates);
    with the in-process worker when asked."""
    with (
        sigterm_unwinds(),
        running_database(settings, create=create_database) as url,
        running_local_chain(settings) as local_chain,
    ):
        container = build_container(settings, url)
        try:
            require_migrated(container.engine)
        except BaseException:
            container.engine.dispose()
            raise
        if local_chain:
            deploy_local_contracts(container)
        worker = (
            BackgroundDispatcher(
                container.dispatcher,
                tick=Throttle(lambda: run_periodic(container), periodic_interval_s),
            )
            if in_process_worker
            else None
        )
        if worker is not None:
            worker.start()
        try:
            yield container
        finally:
            if worker is not None:
                worker.stop()
            container.engine.dispose()


@contextmanager
def running_local_chain(settings: Settings) -> Iterator[bool]:
    """An anvil with state in ``data_dir/anvil`` when the RPC is the local default and idle.

    Yields whether a local anvil serves the default URL (ours or one already running). Without
    the npm toolchain the service runs without EVM, with a warning.
    """
    if settings.evm_rpc_url != LOCAL_EVM_RPC_URL or settings.evm_chain_id != ANVIL_CHAIN_ID:
        yield False
        return
    url = urlparse(settings.evm_rpc_url)
    host, port = url.hostname or "127.0.0.1", url.port or 8545
    if _port_answers(host, port):
        yield True
        return
    state_dir = settings.data_dir / "anvil"
    node = AnvilNode(
        state_file=state_dir / "state.json",
        chain_id=settings.evm_chain_id,
        log_file=state_dir / "anvil.log",
        host=host,
        port=port,
    )
    try:
        node.start()
    except (AnvilError, OSError) as error:
        log.warning("anvil_unavailable_running_without_evm", reason=str(error))
        yield False
        return
    log.info("anvil_started", url=node.url, state=str(state_dir / "state.json"))
    try:
        yield True
    finally:
        node.stop()
        log.info("anvil_stopped")


def deploy_local_contracts(container: Container) -> None:
    """Deploy MSC and AuditAnchor on the local anvil once (``msc chain deploy``'s code path).

    Every role goes to the service key unless configured; a failure leaves the service running
    without the bridge, with a warning.
    """
    settings = container.settings
    try:
        sender = container.evm()
        roles = configured_roles(settings, sender.address)
        deployment = deploy(container.engine, sender, roles, settings.evm_minter_allowance)
    except (EvmError, AnvilError, httpx.HTTPError, OSError, RuntimeError) as error:
        log.warning("evm_local_deploy_failed", reason=repr(error))
        return
    log.info("evm_contracts_ready", token=deployment.token, anchor=deployment.anchor)


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=rpc_probe_timeout_s):
            return True
    except OSError:
        return False


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Make SIGTERM raise ``SystemExit`` so the ``finally`` blocks stop PostgreSQL and anvil.

    uvicorn handles SIGTERM while it serves and then re-raises it; with Python's default
    disposition that would kill the process before any cleanup ran. Main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_cleanly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
