"""`msc fund contribute|claim|show` and a ``fund.claim_decide`` proposal on PostgreSQL: the
treasury's path to the guarantee fund; a refusal exits 1 with its code and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from settlement.cli import app
from tests.support.governance import govern
from tests.support.merchants import fresh_id

pytestmark = pytest.mark.integration
runner = CliRunner()


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_contribute_claim_decide_and_show(module_engine: Engine) -> None:
    merchant_id = fresh_id()
    added = _msc(
        module_engine, "merchant", "add", "--id", merchant_id, "--name", "Warung CLI",
        "--kelurahan", "Kelurahan A", "--tender", "PI", "--settle", "PI=IDR", "--by", "o",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    for name, value in (
        ("fund_claim_cap_idr", "1000.00"),
        ("fund_merchant_month_cap_idr", "1000.00"),
    ):
        set_ = govern(module_engine, "parameter.set", {"name": name, "value": value})
        assert set_.exit_code == 0, set_.output
    contribute = (
        "fund", "contribute", "--reference", "CSR-CLI-1", "--source", "csr",
        "--contributor", "Bank Jatim", "--amount", "3000.00", "--by", "officer1", "-o", "json",
    )  # fmt: skip
    assert _json(_msc(module_engine, *contribute))["amount_units"] == 300_000
    claim = (
        "fund", "claim", "--kind", "failed_payout", "--merchant", merchant_id,
        "--amount", "900.00", "--evidence", "line 3 returned", "--request-id", "c1",
        "--by", "o", "-o", "json",
    )  # fmt: skip
    filed = _json(_msc(module_engine, *claim))
    assert filed["status"] == "open"
    decision = {"claim": filed["id"], "outcome": "approve"}
    decided = _json(govern(module_engine, "fund.claim_decide", decision))
    assert decided["result"]["paid_units"] == 90_000
    shown = _json(_msc(module_engine, "fund", "show", "-o", "json"))
    assert shown["figures"]["balance_units"] >= 210_000
    assert shown["history"][0]["claim_id"] == filed["id"]

    again = (
        "fund", "claim", "--kind", "failed_payout", "--merchant", merchant_id,
        "--amount", "200.00", "--evidence", "line 4 returned", "--request-id", "c2", "--by", "o",
        "-o", "json",
    )  # fmt: skip
    second = _json(_msc(module_engine, *again))
    before = (_count(module_engine, "transfers"), _count(module_engine, "fund_payments"))
    refused = govern(
        module_engine, "fund.claim_decide", {"claim": second["id"], "outcome": "approve"}
    )
    assert refused.exit_code == 1
    assert "fund_merchant_month_cap" in refused.output
    assert (_count(module_engine, "transfers"), _count(module_engine, "fund_payments")) == before
    beyond = {"claim": second["id"], "outcome": "approve", "beyond_caps": True}
    paid = _json(govern(module_engine, "fund.claim_decide", beyond))
    assert (paid["result"]["status"], paid["result"]["paid_units"]) == ("approved", 20_000)
