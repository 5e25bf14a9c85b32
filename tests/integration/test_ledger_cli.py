"""`msc ledger` and `msc period`: the treasury's view of the books from the command line."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.ledger import Ledger
from escrow.model import AccountFlags, AccountKind, TransferRequest
from settlement.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_balances_and_trial_balance(module_engine: Engine) -> None:
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


def test_ledger_accounts_lists_code_asset_kind_and_balances(module_engine: Engine) -> None:
    suffix = uuid.uuid4().hex[:8]
    bank, merchant = f"cli:accounts:{suffix}:bank", f"cli:accounts:{suffix}:merchant"
    with module_engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account(bank, "IDR", AccountKind.ASSET)
        ledger.ensure_account(
            merchant,
            "IDR",
            AccountKind.LIABILITY,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        assert ledger.post(TransferRequest(uuid.uuid4(), bank, merchant, 2_500, "IDR", "t")).ok
    env = {"MSC_DATABASE_URL": module_engine.url.render_as_string(hide_password=False)}

    listed = runner.invoke(app, ["ledger", "accounts", "--output", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = {row["code"]: row for row in json.loads(listed.stdout)}
    assert rows[bank] == {"code": bank, "asset": "IDR", "kind": "asset", "flags": "-",
                          "posted": 2_500, "pending_in": 0, "pending_out": 0}  # fmt: skip
    assert rows[merchant]["posted"] == 2_500
    assert rows[merchant]["flags"] == "debits_must_not_exceed_credits"
    assert list(rows) == sorted(rows)

    text_table = runner.invoke(app, ["ledger", "accounts"], env=env)
    assert text_table.exit_code == 0, text_table.output
    header, *lines = text_table.stdout.splitlines()
    assert header.split() == ["code", "asset", "kind", "flags", "posted", "pending_in",
                              "pending_out"]  # fmt: skip
    shown = [merchant, "IDR", "liability", "debits_must_not_exceed_credits", "2500"]
    assert any(line.split()[:5] == shown for line in lines)
    bad = runner.invoke(app, ["ledger", "accounts", "--output", "xml"], env=env)
    assert bad.exit_code == 2
