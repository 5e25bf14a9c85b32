"""`msc ledger` and `msc period`: the treasury's view of the books from the command line."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.ledger import Ledger
from escrow.model import AccountKind, TransferRequest
from escrow.periods import period_of
from settlement.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_balances_trial_balance_and_period_close(module_engine: Engine) -> None:
    with module_engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account("cli:bank", "IDR", AccountKind.ASSET)
        ledger.ensure_account("cli:merchant", "IDR", AccountKind.LIABILITY, owner="UM001")
        request = TransferRequest(uuid.uuid4(), "cli:bank", "cli:merchant", 1_500_00, "IDR", "t")
        assert ledger.post(request).ok
    env = {"MSC_DATABASE_URL": module_engine.url.render_as_string(hide_password=False)}

    shown = runner.invoke(app, ["ledger", "balance", "cli:merchant", "--output", "json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {
        "account": "cli:merchant",
        "posted": 1_500_00,
        "pending_in": 0,
        "pending_out": 0,
        "available": 1_500_00,
    }
    missing = runner.invoke(app, ["ledger", "balance", "cli:nobody"], env=env)
    assert (missing.exit_code, "no account 'cli:nobody'" in missing.output) == (1, True)

    trial = runner.invoke(app, ["ledger", "trial-balance", "--output", "json"], env=env)
    assert trial.exit_code == 0, trial.output
    lines = {line["asset"]: line for line in json.loads(trial.stdout)}
    assert lines["IDR"]["debits_posted"] == lines["IDR"]["credits_posted"] == 1_500_00
    assert all(line["balanced"] for line in lines.values())

    closed = runner.invoke(
        app, ["period", "close", "2020-01", "--by", "treasurer-a", "--output", "json"], env=env
    )
    assert closed.exit_code == 0, closed.output
    assert json.loads(closed.stdout) == {
        "period": "2020-01",
        "transfers": 0,
        "closed_by": "treasurer-a",
    }
    this_month = period_of(time.time_ns() // 1000)
    early = runner.invoke(app, ["period", "close", this_month, "--by", "treasurer-a"], env=env)
    assert early.exit_code == 1
    assert "has not ended yet" in early.output
