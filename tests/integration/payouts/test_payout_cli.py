"""`msc payout ...` on PostgreSQL: payout details, the cut, the file, the bank's confirmation
(a hostile one refused with its code and nothing changed), list and show."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.calendar import WIB
from escrow.clock import FixedClock, SystemClock
from escrow.refusals import Refusal
from settlement import chart
from settlement.cli import app
from settlement.unit_of_work import unit_of_work
from tests.support.bank import confirmation
from tests.support.merchants import fresh_id
from tests.support.payouts import credit

pytestmark = pytest.mark.integration
runner = CliRunner()
DAY_US = 24 * 3600 * 1_000_000


def _msc(engine: Engine, *args: str) -> Any:
    env = {
        "MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "MSC_PAYOUT_CUTOFF_WIB": "00:00",  # passed whenever the test runs
    }
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_merchant_is_paid_through_the_cli(module_engine: Engine, tmp_path: Path) -> None:
    mid = fresh_id()
    added = _msc(module_engine, "merchant", "add", "--id", mid, "--name", "Pecel Bu Tin",
                 "--kelurahan", "Kelurahan A", "--tender", "MSC", "--by", "siti")  # fmt: skip
    assert added.exit_code == 0, added.output
    details = _json(_msc(module_engine, "payout", "details", mid, "--bank-code", "014",
                         "--account-number", "1234567890", "--holder-name", "Pecel Bu Tin",
                         "--by", "siti", "-o", "json"))  # fmt: skip
    assert details["bank_account"]["holder_name"] == "PECEL BU TIN"
    with unit_of_work(module_engine, FixedClock(SystemClock().now_us() - DAY_US)) as uow:
        credit(uow, mid, 1_234_500)
    day = datetime.now(WIB).date().isoformat()

    cut = _json(_msc(module_engine, "payout", "cut", "--day", day, "--by", "siti", "-o", "json"))
    batch = cut["batch"]
    assert (batch["line_count"], batch["total"]) == (1, "12345.00")
    out = tmp_path / "batch.csv"
    written = _json(_msc(module_engine, "payout", "file", batch["id"], "--out", str(out), "-o",
                         "json"))  # fmt: skip
    assert written["file_sha256"] == batch["file_sha256"]
    assert written["bytes"] == len(out.read_bytes())

    answer = tmp_path / "answer.csv"
    answer.write_bytes(confirmation(out.read_bytes()).replace(b"T,1,12345.00", b"T,2,12345.00"))
    refused = _msc(module_engine, "payout", "confirm", str(answer), "--by", "siti")
    assert isinstance(refused.exception, Refusal)  # `msc` prints it as one line, exit 1
    assert refused.exception.code == "payout_confirmation_count_mismatch"
    assert _json(_msc(module_engine, "payout", "show", batch["id"], "-o", "json"))["status"] == (
        "held"
    )
    answer.write_bytes(confirmation(out.read_bytes()))
    done = _json(_msc(module_engine, "payout", "confirm", str(answer), "--by", "siti", "-o",
                      "json"))  # fmt: skip
    assert done["applied"] is True
    assert done["batch"]["accepted_units"] == 1_234_500
    listed = _json(_msc(module_engine, "payout", "list", "-o", "json"))
    assert [item["id"] for item in listed] == [batch["id"]]
    with unit_of_work(module_engine, SystemClock()) as uow:
        assert uow.ledger.balance(chart.merchant_idr(mid).code).posted == 0
