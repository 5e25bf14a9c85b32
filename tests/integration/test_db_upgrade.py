"""Only ``msc db upgrade`` migrates (issue 16, decision 0034): another command refuses a database
not at head in one line naming the fix, and changes nothing; ``/readyz`` checks the revision
without Alembic's log lines."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.db import UPGRADE_HINT
from tests.database import drop_database, with_database

pytestmark = pytest.mark.integration

MSC = str(Path(sys.executable).with_name("msc"))
command_timeout_s = 120


def msc(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSC_")}
    return subprocess.run(
        [MSC, *argv], env={**env, "MSC_DATABASE_URL": url}, capture_output=True, text=True,
        timeout=command_timeout_s, check=False,
    )  # fmt: skip


@pytest.fixture
def empty_url(database_server_url: str) -> Iterator[str]:
    name = f"msc_unmigrated_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_database(database_server_url, name)
    drop_database(database_server_url, name)


def tables(url: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        return int(found.fetchone()[0])  # type: ignore[index]


def test_commands_refuse_an_unmigrated_database_until_db_upgrade(empty_url: str) -> None:
    refused = msc(empty_url, "ledger", "trial-balance")
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.endswith(UPGRADE_HINT)
    assert "no migrations" in line
    assert tables(empty_url) == 0  # nothing migrated behind the user's back
    assert msc(empty_url, "db", "status").returncode == 1

    upgraded = msc(empty_url, "db", "upgrade", "--output", "json")

    assert upgraded.returncode == 0, upgraded.stderr
    assert msc(empty_url, "db", "status").returncode == 0
    assert msc(empty_url, "ledger", "trial-balance").returncode == 0


def test_readyz_reads_the_revision_without_alembic_logging(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    container = build_container(Settings(data_dir=tmp_path), database_url)
    try:
        with (
            caplog.at_level(logging.DEBUG, logger="alembic"),
            inprocess_client(create_app(container), "http://service.test") as client,
        ):
            answers = [client.get("/readyz") for _ in range(3)]
    finally:
        container.engine.dispose()
    assert all(a.status_code == 200 and a.json()["checks"]["migrations"] == "ok" for a in answers)
    assert not [r for r in caplog.records if r.name.startswith("alembic")]
