"""Backups restore into a fresh database and prove it (issue 16): ``msc backup create`` (what
scripts/backup runs) writes a pg_dump and a manifest from one snapshot; ``msc backup restore``
(scripts/restore) loads it into an empty database and checks the trial balance, the schema
revision, and that the last closed month's published digest recomputes from the restored rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from nacl.signing import SigningKey
from psycopg import sql
from sqlalchemy import Connection, Engine

from escrow.clock import FixedClock, SystemClock
from escrow.ledger import Ledger
from escrow.model import AccountKind, ResultCode, TransferRequest
from escrow.periods import period, period_of
from settlement.audit.export import export_period
from settlement.audit.signing import Officers, load_officers
from settlement.unit_of_work import bind
from tests.database import drop_database, with_database
from tests.integration.audit.test_audit_export_pg import (
    KEY,
    close,
    open_accounts,
    post_month,
)

pytestmark = pytest.mark.integration

MSC = str(Path(sys.executable).with_name("msc"))
ROOT = Path(__file__).resolve().parents[2]
command_timeout_s = 120
DAY_US = 24 * 3600 * 1_000_000


def msc(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSC_")}
    env |= {"MSC_DATABASE_URL": url, "MSC_PSEUDONYM_KEY": KEY.decode()}
    return subprocess.run(
        [MSC, *argv], env=env, capture_output=True, text=True, timeout=command_timeout_s,
        check=False,
    )  # fmt: skip


@pytest.fixture
def empty_database(database_server_url: str) -> Iterator[str]:
    name = f"msc_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_database(database_server_url, name)
    drop_database(database_server_url, name)


@pytest.fixture(scope="module")
def published(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A closed month with its digest recorded, committed on the module's database (once)."""
    with module_engine.begin() as conn:
        clock = month_clock(conn)
        ledger = Ledger(conn, clock)
        open_accounts(ledger)
        name = period_of(clock.now_us())
        post_month(ledger, clock)
        close(ledger, clock, name)
        folder = tmp_path_factory.mktemp("bundle")
        officers = one_officer(folder / "officers.json")
        export_period(bind(conn, SystemClock()), name, folder / name, KEY, officers, "test")
        clock.advance(60)
        after = TransferRequest(uuid.uuid4(), "treasury:bank:IDR", "merchant:UM001:IDR", 5,
                                "IDR", "test.backup")  # fmt: skip
        assert ledger.post(after).code is ResultCode.OK  # after the month: in the dump too
    return name


def one_officer(path: Path) -> Officers:
    key = bytes(SigningKey.generate().verify_key).hex()
    path.write_text(json.dumps({"threshold": 1, "officers": [{"name": "o", "public_key": key}]}))
    return load_officers(path)


def month_clock(conn: Connection) -> FixedClock:
    """Three days into a month after every timestamp the database allocated (as the ``clock``
    fixture of tests/integration/conftest.py, on a committed connection)."""
    last = conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
    start = period(period_of(int(last) + 40 * DAY_US)).starts_at_us
    return FixedClock(start + 3 * DAY_US)


def test_a_backup_restores_into_a_fresh_database_and_proves_it(
    published: str, module_database_url: str, empty_database: str, tmp_path: Path
) -> None:
    made = msc(module_database_url, "backup", "create", "--out", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    manifest_path = Path(made.stdout.strip())
    manifest = json.loads(manifest_path.read_text())
    assert manifest["last_closed_month"]["period"] == published
    assert {line["asset"] for line in manifest["trial_balance"]} >= {"IDR", "PI"}
    assert (manifest_path.parent / manifest["dump"]["file"]).read_bytes()[:5] == b"PGDMP"

    restored = msc(empty_database, "backup", "restore", str(manifest_path))

    assert restored.returncode == 0, restored.stderr
    assert "trial balance of" in restored.stdout
    assert f"{published} digest {manifest['last_closed_month']['digest']} recomputes" in (
        restored.stdout
    )
    assert msc(empty_database, "db", "status").returncode == 0
    balance = msc(empty_database, "ledger", "trial-balance", "--output", "json")
    assert balance.returncode == 0, balance.stderr
    checked = msc(empty_database, "check", "--offline", "--output", "json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    outcomes = {c["check"]: c["outcome"] for c in json.loads(checked.stdout)["checks"]}
    assert outcomes["published_digests"] == "held"

    again = msc(empty_database, "backup", "restore", str(manifest_path))
    assert again.returncode == 1
    assert "not empty" in again.stderr


def test_a_changed_dump_or_a_moved_ledger_is_refused(
    published: str, module_database_url: str, module_engine: Engine, tmp_path: Path
) -> None:
    made = msc(module_database_url, "backup", "create", "--out", str(tmp_path))
    manifest_path = Path(made.stdout.strip())
    assert msc(module_database_url, "backup", "verify", str(manifest_path)).returncode == 0
    with module_engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account("test:backup:later", "IDR", AccountKind.ASSET)
        request = TransferRequest(uuid.uuid4(), "test:backup:later", "merchant:UM001:IDR", 7,
                                  "IDR", "test.backup")  # fmt: skip
        assert ledger.post(request).code is ResultCode.OK

    moved = msc(module_database_url, "backup", "verify", str(manifest_path))
    assert moved.returncode == 1
    assert "trial balance differs" in moved.stderr

    manifest = json.loads(manifest_path.read_text())
    dump = manifest_path.parent / manifest["dump"]["file"]
    dump.write_bytes(dump.read_bytes() + b"x")
    changed = msc(module_database_url, "backup", "restore", str(manifest_path))
    assert changed.returncode == 1
    assert "SHA-256" in changed.stderr or "not empty" in changed.stderr


def test_the_scripts_run_the_backup_commands() -> None:
    backup = (ROOT / "scripts/backup").read_text()
    restore = (ROOT / "scripts/restore").read_text()
    assert '"$VENV/bin/msc" backup create' in backup
    assert '"$VENV/bin/msc" backup restore "$1"' in restore
    for script in ("scripts/backup", "scripts/restore"):
        assert subprocess.run(["bash", "-n", str(ROOT / script)], check=False).returncode == 0
