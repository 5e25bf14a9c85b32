"""``msc rate show``, a ``rate.override`` proposal and ``msc quote show`` on PostgreSQL (the
module's own database: the treasury rate entered here is a source of every later quote on it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from escrow.clock import SystemClock
from settlement.bootstrap import build_rates
from settlement.cli import app
from settlement.config import Settings
from settlement.rates.firm import firm_quote
from settlement.unit_of_work import unit_of_work
from tests.support.governance import govern

pytestmark = pytest.mark.integration
runner = CliRunner()


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_operator_reads_the_panel_and_enters_the_treasury_rate(module_engine: Engine) -> None:
    fetched = _json(_msc(module_engine, "rate", "show", "--fetch", "-o", "json"))
    assert (fetched["price"], fetched["refusal"]) == ("5000.00", None)
    assert [r["source"] for r in fetched["readings"]] == ["sandbox"]

    overridden = _json(govern(module_engine, "rate.override", {"price": "5200.00", "valid_s": 600}))
    assert overridden["result"]["price_units"] == 520_000
    entered = _json(_msc(module_engine, "rate", "show", "-o", "json"))
    assert entered["price"] == "5100.00"  # the median of the sandbox's 5000 and the 5200 entered
    assert entered["readings"][-1]["entered_by"] == overridden["by"]

    refused = govern(module_engine, "rate.override", {"price": "5200.001"})
    assert refused.exit_code == 1
    assert "(amount_too_precise)" in refused.output
    with module_engine.connect() as conn:
        entered_rows = conn.execute(
            text("SELECT count(*) FROM rate_readings WHERE source = 'treasury'")
        ).scalar_one()
    assert entered_rows == 1


def test_the_operator_reads_a_quote(module_engine: Engine) -> None:
    panel = build_rates(Settings(), None).panel
    with unit_of_work(module_engine, SystemClock()) as uow:
        quote = firm_quote(
            uow, panel, requested_by="pioneer:cli", sell_asset="PI", buy_asset="MSC",
            sell_units=10_000_000, ttl_s=120,
        )  # fmt: skip
    shown = _json(_msc(module_engine, "quote", "show", str(quote.id), "-o", "json"))
    assert (shown["id"], shown["live"], shown["by"]) == (str(quote.id), True, "pioneer:cli")
    missing = _msc(module_engine, "quote", "show", "00000000-0000-4000-8000-000000000000")
    assert missing.exit_code == 1
    assert getattr(missing.exception, "code", None) == "quote_not_found"
