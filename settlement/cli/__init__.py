"""The operator's command line, ``msc``."""

from __future__ import annotations

import socket
from typing import Any

import typer

from settlement.cli import audit, chain, ledger, outbox, pi, qris, worker
from settlement.cli.errors import CommandFailed, user_error
from settlement.config import Settings
from settlement.logging import configure_logging


class MscCli(typer.Typer):
    """The ``msc`` entry point: an error the user caused is one line on stderr and an exit code
    (see settlement/cli/errors.py); any other error keeps its traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - click's signature
        """Run the command line."""
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            known = user_error(error)
            if known is None:
                raise
            line, code = known
            typer.echo(f"msc: {line}", err=True)
            raise SystemExit(code) from None


app = MscCli(help="msc-settlement: Pi, QRIS and MSC settlement for Madiun.", no_args_is_help=True)


@app.callback()
def one_shot_logging() -> None:
    """Log to stderr unless the command is a service (which logs to stdout): stdout is the
    command's result."""
    configure_logging(to="stderr")


app.add_typer(pi.app, name="pi")
app.add_typer(qris.app, name="qris")
app.add_typer(chain.app, name="chain")
app.command("worker")(worker.worker)  # production worker (Celery), see settlement/worker.py
app.command("beat")(worker.beat)
app.add_typer(ledger.app, name="ledger")
app.add_typer(ledger.period_app, name="period")
app.add_typer(audit.app, name="audit")
app.add_typer(outbox.app, name="outbox")


@app.command()
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
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise CommandFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return listening
