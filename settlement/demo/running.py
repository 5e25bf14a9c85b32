"""The demo's own surroundings: a database recreated at each run, the local anvil, the API
served from a thread on a free port, a folder for keys and bundles."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from chain.evm.anvil import ANVIL_CHAIN_ID
from settlement.audit.cumulative import LogConfig
from settlement.audit.note import COSIGNATURE_V1, generate_signer
from settlement.config import Settings, WitnessSetting
from settlement.db import sqlalchemy_url
from settlement.service import running_database, running_local_chain

if TYPE_CHECKING:
    from starlette.types import ASGIApp

DEMO_DATABASE = "msc_demo"
"""The demo's database on the configured server (MSC_DATABASE_URL), dropped and made anew."""
DEMO_PG_FOLDER = "demo-pg"
"""The embedded server's folder under data_dir when no server is configured."""
DEMO_FOLDER = "demo"
"""Under data_dir: the demo's keys, bundles and anvil state, emptied at each run."""
DEMO_PUBLISH_FOLDER = "audit"
"""Under the demo's folder: its published bundles (its MSC_AUDIT_PUBLISH_DIR)."""
DEMO_WITNESS_FOLDER = "witness"
"""Under the demo's folder: the local witness's key and state."""
DEMO_WITNESS_NAME = "witness.demo.localhost"
"""The local witness's key name (a witness names itself, often by its address)."""
connect_timeout_s = 5
server_start_timeout_s = 10.0
server_stop_timeout_s = 10.0
server_poll_s = 0.05


class DemoUnavailable(RuntimeError):
    """The demo cannot run here (no anvil, a chain that is not anvil's, ...)."""


def refuse_unsafe(settings: Settings, name: str) -> None:
    """Refuse, before anything is dropped, a demo that would touch what is not its own.

    The EVM must be anvil's chain (the demo mints and anchors, never on a real network; and
    production refuses anvil's chain id), and the database it drops must not be the configured
    one.
    """
    if settings.evm_chain_id != ANVIL_CHAIN_ID:
        raise DemoUnavailable(
            f"the demo runs on a local anvil (chain id {ANVIL_CHAIN_ID}), not chain"
            f" {settings.evm_chain_id}: unset MSC_EVM_CHAIN_ID and MSC_EVM_RPC_URL"
        )
    configured = settings.database_url
    if configured is not None and make_url(sqlalchemy_url(configured)).database == name:
        raise DemoUnavailable(
            f"--database {name} is MSC_DATABASE_URL's own database: the demo drops and remakes"
            " its database, so it needs another name"
        )


def demo_settings(settings: Settings, database_url: str, folder: Path) -> Settings:
    """The service's settings pointed at the demo's database and folder, Pi sandbox on; the
    audit's keys, witnesses and publish directory the demo's own (never a deployment's)."""
    return settings.model_copy(
        update={
            "database_url": database_url,
            "data_dir": folder,
            "pi_sandbox": True,
            "audit_publish_dir": folder / DEMO_PUBLISH_FOLDER,
            "tlog_note_key_file": None,
            "tlog_witnesses": [],
            "audit_stellar_secret": None,
            "audit_stellar_secret_file": None,
        }
    )


@contextmanager
def local_witness(folder: Path, log: LogConfig, host: str) -> Iterator[WitnessSetting]:
    """A tlog witness (``msc-audit witness serve``'s server) following the demo's log, on a
    free port of ``host`` from a thread, with a key of its own; its ``MSC_TLOG_WITNESSES``
    entry."""
    from settlement.audit.witness_server import build_witness, make_server

    place = folder / DEMO_WITNESS_FOLDER
    place.mkdir()
    key_file = place / "witness.key"
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(generate_signer(DEMO_WITNESS_NAME, COSIGNATURE_V1).encode())
    witness = build_witness(key_file, [log.signer.verifier.vkey()], place / "state.json")
    server = make_server(witness, host, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://{host}:{server.server_port}"
        yield WitnessSetting(vkey=witness.signer.verifier.vkey(), url=url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=server_stop_timeout_s)


def fresh_folder(settings: Settings) -> Path:
    """``data_dir/demo``, emptied."""
    folder = settings.data_dir / DEMO_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@contextmanager
def demo_database(settings: Settings, name: str = DEMO_DATABASE) -> Iterator[str]:
    """The URL of database ``name``, made anew, on the configured server or on an embedded one
    in ``data_dir/demo-pg`` (running while in use)."""
    with running_database(settings, folder=DEMO_PG_FOLDER) as server:
        yield recreate_database(server, name)


def recreate_database(server_url: str, name: str) -> str:
    """Drop database ``name`` on ``server_url``'s server if it exists, create it; its URL."""
    server = make_url(sqlalchemy_url(server_url))
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True, connect_timeout=connect_timeout_s) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.set(database=name).render_as_string(hide_password=False)


@contextmanager
def local_chain(settings: Settings) -> Iterator[None]:
    """The local anvil ``msc serve`` would run (or the one already answering the RPC URL);
    refused when none can be had."""
    with running_local_chain(settings) as local:
        if not local and not _answers(settings.evm_rpc_url):
            raise DemoUnavailable(
                f"no anvil at {settings.evm_rpc_url}: install the contracts toolchain"
                " (./scripts/run does) or start one"
            )
        yield


def _answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), 1.0):
            return True
    except OSError:
        return False


@contextmanager
def serving(app: ASGIApp, host: str) -> Iterator[str]:
    """``app`` served by uvicorn from a thread on a free port of ``host``; the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _wait(lambda: server.started or not thread.is_alive(), server_start_timeout_s)
    if not server.started:
        raise DemoUnavailable(f"the API did not start on {host}:{port}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=server_stop_timeout_s)
        sock.close()


def _wait(done: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        time.sleep(server_poll_s)
