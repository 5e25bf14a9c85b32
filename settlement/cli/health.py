"""CLI: ``msc health worker|beat``, the compose healthchecks of the Celery processes.

The worker is alive when it answers a ping through the broker (so Redis and the worker's
consumer loop both work); beat is alive when the periodic jobs it asks for ran recently (a
worker's heartbeat in ``metric_gauges``, so the whole beat -> broker -> worker -> database
path works). Exit 0 when healthy, 1 (one line on stderr) when not.
"""

from __future__ import annotations

import socket

import typer
from sqlalchemy import text

from settlement.cli.database import migrated_engine
from settlement.cli.errors import CommandFailed
from settlement.cli.output import Output, OutputOption, emit
from settlement.config import Settings
from settlement.schedule import periodic_interval_s
from settlement.telemetry import WORKER_HEARTBEAT

app = typer.Typer(help="Liveness of the Celery worker and beat (compose healthchecks).")

ping_timeout_s = 3.0
heartbeat_age_max_s = 4 * periodic_interval_s
"""Beat asks for the periodic jobs every ``periodic_interval_s``: four missed runs is dead."""


@app.command("worker")
def worker(output: OutputOption = Output.TEXT) -> None:
    """Ping this host's Celery worker through the broker."""
    from settlement.cli.worker import celery_app

    node = f"celery@{socket.gethostname()}"
    replies = celery_app(Settings()).control.ping(destination=[node], timeout=ping_timeout_s)
    if not replies:
        raise CommandFailed(f"worker {node} did not answer a ping within {ping_timeout_s} s")
    emit({"worker": node, "ok": True}, output, text=lambda r: f"{r['worker']} ok")


@app.command("beat")
def beat(output: OutputOption = Output.TEXT) -> None:
    """The periodic jobs beat schedules ran within ``heartbeat_age_max_s``."""
    with migrated_engine(Settings()) as engine, engine.connect() as conn:
        age = conn.execute(
            text(
                "SELECT extract(epoch FROM now() - max(set_at)) FROM metric_gauges WHERE name = :n"
            ),
            {"n": WORKER_HEARTBEAT},
        ).scalar_one()
    if age is None or float(age) > heartbeat_age_max_s:
        shown = "never" if age is None else f"{float(age):.0f} s ago"
        raise CommandFailed(f"the periodic jobs last ran {shown} (beat or worker down)")
    emit(
        {"heartbeat_age_s": float(age)},
        output,
        text=lambda r: f"periodic jobs ran {r['heartbeat_age_s']:.0f} s ago",
    )
