"""CLI: ``msc serve``, the HTTP API with the in-process worker.

The one module of ``settlement`` that imports ``api`` (lazily, inside the command): the
composition of the whole service, named as the exception in tests/unit/test_layers.py
(decision 0015).

``--processes N`` (``MSC_HTTP_PROCESSES``) serves from N processes on the one socket (the
kernel hands each connection to one of them): the first runs the database, the chain and the
worker as one process does, the others are spawned with the service wired afresh on the same
database. Python runs one request's code at a time per process, so on a machine of two cores
two processes serve about twice the requests (``scripts/bench/api``). The in-process Pi and
Midtrans sandboxes keep their payments in one process's memory, so with them the service runs
one process.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
from multiprocessing.process import BaseProcess
from pathlib import Path

import typer

from settlement.cli.errors import CommandFailed
from settlement.config import Settings
from settlement.logging import configure_logging

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multi-process directory (api/metrics.py reads the same name)."""
stop_timeout_s = 15.0
"""How long a spawned server process may take to finish its requests after SIGTERM."""


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (default MSC_HTTP_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default MSC_HTTP_PORT)."),
    processes: int | None = typer.Option(
        None, min=1, max=64, help="Server processes on the socket (default MSC_HTTP_PROCESSES, 1)."
    ),
) -> None:
    """Run the HTTP API with the in-process worker (embedded PostgreSQL when none is configured)."""
    settings = Settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    count = processes or settings.http_processes
    if count > 1:
        share_metrics(settings.data_dir / "metrics")

    import uvicorn

    from api.app import create_app
    from settlement.service import running_container

    bind_host, bind_port = host or settings.http_host, port or settings.http_port
    in_process_worker = settings.redis_url is None
    with (
        _listening_socket(bind_host, bind_port) as listening,
        running_container(settings, in_process_worker=in_process_worker) as container,
    ):
        if count > 1 and (container.pi_sandbox_app or container.qris_midtrans_sandbox):
            raise CommandFailed(
                "--processes above 1 needs the real Pi and Midtrans APIs: the in-process"
                " sandboxes keep their payments in one process (MSC_PI_SANDBOX=false,"
                " MSC_QRIS_MIDTRANS_API_URL)"
            )
        api = create_app(container)
        config = uvicorn.Config(api, host=bind_host, port=bind_port, log_config=None)
        typer.echo(f"msc-settlement is serving on http://{bind_host}:{bind_port}", err=True)
        typer.echo(f"  readiness: http://{bind_host}:{bind_port}/readyz", err=True)
        typer.echo(f"  API docs:  http://{bind_host}:{bind_port}/docs", err=True)
        others = [_spawn(container.database_url, listening) for _ in range(count - 1)]
        try:
            uvicorn.Server(config).run(sockets=[listening])
        finally:
            _stop(others)


def share_metrics(directory: Path) -> None:
    """Point prometheus_client at ``directory``, emptied, before it is imported: every server
    process (the spawned ones inherit the environment) then writes its samples there and a
    scrape of any of them sums all (api/metrics.py)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROCESS_DIR_ENV] = str(directory)


def _spawn(database_url: str, listening: socket.socket) -> BaseProcess:
    """Start one more server process on ``listening`` (spawned: nothing of this one's threads
    or connections is copied into it)."""
    process = multiprocessing.get_context("spawn").Process(
        target=serve_more, args=(database_url, listening), daemon=True
    )
    process.start()
    return process


def serve_more(database_url: str, listening: socket.socket) -> None:
    """A spawned server process: the service wired on ``database_url``, no worker (the first
    process runs it), until SIGTERM."""
    import uvicorn

    from api.app import create_app
    from settlement.bootstrap import build_container

    settings = Settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    container = build_container(settings, database_url)
    try:
        config = uvicorn.Config(create_app(container), log_config=None)
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        container.engine.dispose()


def _stop(processes: list[BaseProcess]) -> None:
    """SIGTERM to each spawned process (uvicorn finishes its requests), killed after
    ``stop_timeout_s``."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(stop_timeout_s)
        if process.is_alive():
            process.kill()
            process.join()


def _listening_socket(host: str, port: int) -> socket.socket:
    """The API's socket, bound before anything starts, so a busy port is said in one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto
    # says TCP. Without it Nagle holds an answer's last segment for the client's delayed ACK,
    # about 40 ms on every request (scripts/bench/api found it).
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise CommandFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return listening
