"""``msc conversion show|list|tier`` on PostgreSQL (the module's own database)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.clock import SystemClock
from settlement.bootstrap import build_rates
from settlement.cli import app
from settlement.cli.errors import user_error
from settlement.config import Settings
from settlement.conversions.conversion import create
from settlement.rates.firm import firm_quote
from settlement.unit_of_work import unit_of_work

pytestmark = pytest.mark.integration
runner = CliRunner()


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_operator_lists_shows_and_sets_a_tier(module_engine: Engine) -> None:
    panel = build_rates(Settings(), None).panel
    with unit_of_work(module_engine, SystemClock()) as uow:
        quote = firm_quote(
            uow, panel, requested_by="pioneer:uid-cli", sell_asset="PI", buy_asset="MSC",
            sell_units=10**7, ttl_s=60,
        )  # fmt: skip
        made = create(uow, uid="uid-cli", quote_id=quote.id)
    listed = _json(_msc(module_engine, "conversion", "list", "--uid", "uid-cli", "-o", "json"))
    assert [c["id"] for c in listed] == [str(made.id)]
    assert (
        _json(_msc(module_engine, "conversion", "list", "--status", "converted", "-o", "json"))
        == []
    )
    shown = _json(_msc(module_engine, "conversion", "show", str(made.id), "-o", "json"))
    assert (shown["status"], shown["buy_amount"]) == ("quoted", "4950.00")
    missing = _msc(module_engine, "conversion", "show", str(uuid.uuid4()))
    assert missing.exit_code == 1
    assert getattr(missing.exception, "code", None) == "conversion_not_found"
    assert user_error(missing.exception) is not None
    tier = _json(
        _msc(module_engine, "conversion", "tier", "uid-cli", "1", "--by", "ani", "-o", "json")
    )
    assert tier == {"uid": "uid-cli", "tier": 1}
    assert _msc(module_engine, "conversion", "tier", "uid-cli", "1").exit_code == 2  # no --by
