"""Gauges kept as the work happens (settlement/telemetry.py): only declared gauges with their
label are stored; the periodic ``telemetry`` job writes this worker's heartbeat, which ``msc
health beat`` reads, and recounts the active Pioneers at most hourly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from escrow.errors import InvariantViolation
from settlement.bootstrap import assemble_container
from settlement.config import Settings
from settlement.outbox import Dispatcher
from settlement.schedule import keep_telemetry, worker_name
from settlement.telemetry import (
    PIONEERS_ACTIVE,
    RECONCILE_DIFFERENCE,
    WORKER_HEARTBEAT,
    count_active_pioneers,
    set_gauge,
)

pytestmark = pytest.mark.integration

MSC = str(Path(sys.executable).with_name("msc"))


def test_only_declared_gauges_with_their_label_are_stored(db_conn: Connection) -> None:
    with pytest.raises(InvariantViolation):
        set_gauge(db_conn, "msc_made_up", 1.0)
    with pytest.raises(InvariantViolation):
        set_gauge(db_conn, RECONCILE_DIFFERENCE, 5.0)  # needs its check label
    set_gauge(db_conn, RECONCILE_DIFFERENCE, -70, "pi_custody")
    set_gauge(db_conn, RECONCILE_DIFFERENCE, 0, "pi_custody")
    value = db_conn.execute(
        text("SELECT value FROM metric_gauges WHERE name = :n AND label = 'pi_custody'"),
        {"n": RECONCILE_DIFFERENCE},
    ).scalar_one()
    assert value == 0


def test_the_telemetry_job_beats_and_health_beat_reads_it(
    module_engine: Engine, module_database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSC_")}
    env["MSC_DATABASE_URL"] = module_database_url

    def health() -> int:
        done = subprocess.run([MSC, "health", "beat"], env=env, capture_output=True, check=False)
        return done.returncode

    assert health() == 1  # no periodic run yet
    settings = Settings(data_dir=tmp_path)
    container = assemble_container(settings, "unused", module_engine, Dispatcher(module_engine, {}))

    outcome = keep_telemetry(container)

    assert "pioneers active 0" in outcome
    with module_engine.connect() as conn:
        labels = (
            conn.execute(
                text("SELECT label FROM metric_gauges WHERE name = :n"), {"n": WORKER_HEARTBEAT}
            )
            .scalars()
            .all()
        )
        assert worker_name() in labels
        assert count_active_pioneers(conn) is None  # fresh: recounted hourly, not every run
        assert (
            conn.execute(
                text("SELECT count(*) FROM metric_gauges WHERE name = :n"), {"n": PIONEERS_ACTIVE}
            ).scalar_one()
            == 1
        )
    assert health() == 0
