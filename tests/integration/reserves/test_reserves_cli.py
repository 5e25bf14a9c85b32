"""`msc msc deposit|issue|redeem|withdraw` and `msc reserves compute|show` on PostgreSQL: the
operator's path to MSC against Rupiah, refusals that write nothing (exit 1 with the code)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from settlement.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()
HOLDER = "merchant:UMCLI:MSC"


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_deposit_issue_redeem_withdraw_and_show_the_reserve(module_engine: Engine) -> None:
    deposit = (
        "msc", "deposit", "--reference", "CLI-1", "--amount", "2000.00",
        "--value-date", "2026-12-01", "--holder", HOLDER, "--by", "officer1", "-o", "json",
    )  # fmt: skip
    booked = _json(_msc(module_engine, *deposit))
    assert (booked["status"], booked["amount_units"]) == ("received", 200_000)
    issued = _json(
        _msc(module_engine, "msc", "issue", "--reference", "CLI-1", "--by", "o", "-o", "json")
    )
    assert issued["status"] == "issued"
    redeem = (
        "msc", "redeem", "--holder", HOLDER, "--amount", "500.00", "--bank-code", "002",
        "--account-number", "55555555", "--account-name", "Toko CLI", "--request-id", "r1",
        "--by", "o", "-o", "json",
    )  # fmt: skip
    assert _json(_msc(module_engine, *redeem))["status"] == "owed"
    withdraw = (
        "msc", "withdraw", "--holder", HOLDER, "--to",
        "0x000000000000000000000000000000000000dEaD", "--amount", "100.00",
        "--request-id", "w1", "--by", "o", "-o", "json",
    )  # fmt: skip
    assert _json(_msc(module_engine, *withdraw))["amount_units"] == 10_000
    computed = _json(_msc(module_engine, "reserves", "compute", "-o", "json"))
    assert (computed["msc_ledger"], computed["msc_onchain"]) == (140_000, 10_000)
    assert computed["coverage_bps"] == 10_000
    shown = _json(_msc(module_engine, "reserves", "show", "-o", "json"))
    assert shown[0]["id"] == computed["id"]


def test_a_refused_redemption_exits_1_with_its_code_and_writes_nothing(
    module_engine: Engine,
) -> None:
    with module_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
    refused = _msc(
        module_engine, "msc", "redeem", "--holder", "pioneer:nobody:MSC", "--amount", "1.00",
        "--bank-code", "002", "--account-number", "55555555", "--account-name", "X",
        "--request-id", "r2", "--by", "o",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "redemption_exceeds_balance" in refused.output
    with module_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transfers")).scalar_one() == before
