"""CLI: ``msc serve``, the HTTP API with the in-process worker.

The one module of ``settlement`` that imports ``api`` (lazily, inside the command): the
composition of the whole service, named as the exception in tests/unit/test_layers.py
(decision 0015).
"""

from __future__ import annotations

import socket

import typer

from settlement.cli.errors import CommandFailed
from settlement.config import Settings
from settlement.logging import configure_logging


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (default MSC_HTTP_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default MSC_HTTP_PORT)."),
) -> None:
    """Run the HTTP API with the in-process worker (embedded PostgreSQL when none is configured)."""
    import uvicorn

    from api.app import create_app
    from settlement.service import running_container

    settings = Settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    bind_host, bind_port = host or settings.http_host, port or settings.http_port
    in_process_worker = settings.redis_url is None
    with (
        _listening_socket(bind_host, bind_port) as listening,
        running_container(settings, in_process_worker=in_process_worker) as container,
    ):
        api = create_app(container)
        config = uvicorn.Config(api, host=bind_host, port=bind_port, log_config=None)
        typer.echo(f"msc-settlement is serving on http://{bind_host}:{bind_port}", err=True)
        typer.echo(f"  readiness: http://{bind_host}:{bind_port}/readyz", err=True)
        typer.echo(f"  API docs:  http://{bind_host}:{bind_port}/docs", err=True)
        uvicorn.Server(config).run(sockets=[listening])


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
