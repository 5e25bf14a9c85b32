"""``msc audit export`` and ``msc audit checkpoint`` from the command line, on a database of the
module's own (the CLI commits): the log key generated under data_dir, checkpoint.txt in the
bundle, one witness message per configured witness, and the bundle verified with the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.periods import period, period_of
from settlement.audit.checkpoint import CHECKPOINT_FILE
from settlement.audit.cli import main
from settlement.audit.note import COSIGNATURE_V1, generate_signer, parse_signer
from settlement.audit.signing import sign_bundle
from settlement.cli.audit import app
from tests.integration.audit.test_audit_export_pg import close, open_accounts, post_month

pytestmark = pytest.mark.integration
runner = CliRunner()
day_s = 24 * 3600


def test_export_and_checkpoint_from_the_command_line(
    module_engine: Engine,
    module_database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with module_engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
    clock = FixedClock(period(period_of(int(last) + 40 * day_s * 1_000_000)).starts_at_us)
    with module_engine.begin() as conn:
        ledger = Ledger(conn, clock)
        open_accounts(ledger)
        name = period_of(clock.now_us())
        post_month(ledger, clock)
        close(ledger, clock, name)
    keys = [SigningKey.generate()]
    officers = tmp_path / "officers.json"
    officers.write_text(
        json.dumps(
            {
                "threshold": 1,
                "officers": [{"name": "o", "public_key": bytes(keys[0].verify_key).hex()}],
            }
        )
    )
    witness = generate_signer("witness.example/w1", COSIGNATURE_V1).verifier.vkey()
    env = {
        "MSC_DATABASE_URL": module_database_url,
        "MSC_DATA_DIR": str(tmp_path / "data"),
        "MSC_TLOG_WITNESSES": json.dumps([{"vkey": witness, "url": "http://127.0.0.1:9"}]),
    }
    out = tmp_path / name
    done = runner.invoke(
        app, ["export", name, "--out", str(out), "--officers", str(officers)], env=env
    )
    assert done.exit_code == 0, done.output
    assert (out / CHECKPOINT_FILE).read_text().startswith("madiun.go.id/msc/transfers\n7\n")
    log_key = parse_signer((tmp_path / "data" / "tlog" / "note.key").read_text()).verifier.vkey()
    with module_engine.connect() as conn:
        queued = conn.execute(text("SELECT key FROM outbox WHERE kind = 'tlog.witness'")).scalars()
        assert list(queued) == [f"{name}:witness.example/w1"]
    sign_bundle(out, keys[0])
    done = runner.invoke(app, ["checkpoint", name, "--bundle", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert "checkpoint with 1 signatures written" in done.output
    code = main(["verify", str(out), "--officers", str(officers), "--log-key", log_key])
    report = capsys.readouterr().out
    assert code == 0, report
    assert "ok checkpoint: signed by madiun.go.id/msc/transfers (pinned by --log-key)" in report
    done = runner.invoke(app, ["checkpoint", "1999-01", "--bundle", str(out)], env=env)
    assert done.exit_code == 1
    assert "has none" in done.output
