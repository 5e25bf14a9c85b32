"""`msc campaign`, `msc share`, `msc points`, `msc parameter` against PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.ledger import Ledger
from escrow.refusals import Refusal
from settlement import chart
from settlement.cli import app
from tests.integration.shares.conftest import insert_merchant
from tests.support.governance import govern
from tests.support.msc import run_msc

pytestmark = pytest.mark.integration
runner = CliRunner()


def _env(engine: Engine) -> dict[str, str]:
    return {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}


def _run(engine: Engine, *args: str) -> dict[str, object] | list[dict[str, object]]:
    done = runner.invoke(app, [*args, "--output", "json"], env=_env(engine))
    assert done.exit_code == 0, done.output
    found: dict[str, object] | list[dict[str, object]] = json.loads(done.stdout)
    return found


def _refused(engine: Engine, code: str, *args: str) -> None:
    """The command is refused with ``code`` (exit 1 at the real entry point, which prints it)."""
    done = runner.invoke(app, list(args), env=_env(engine))
    assert isinstance(done.exception, Refusal), done.output
    assert done.exception.code == code


def test_campaign_add_funds_and_list_shows_it(module_engine: Engine) -> None:
    campaign_id = f"pz-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    add = [
        "campaign", "add", campaign_id, "--name", "Pi-Zone Juni", "--discount-bp", "1000",
        "--cap-pioneer-day", "3000.00", "--cap-merchant-day", "10000",
        "--starts", (now - timedelta(hours=1)).isoformat(),
        "--ends", (now + timedelta(days=30)).replace(tzinfo=None).isoformat(timespec="seconds"),
        "--merchant", "UM001", "--merchant", "UM002", "--by", "treasury:ana",
    ]  # fmt: skip
    created = _run(module_engine, *add, "--budget", "100000")
    assert isinstance(created, dict)
    assert created["budget"] == {"amount": "100000.00", "asset": "IDR", "amount_units": 10_000_000}
    assert created["merchant_ids"] == ["UM001", "UM002"]
    assert created["cap_per_pioneer_day"] == {
        "amount": "3000.00", "asset": "IDR", "amount_units": 300_000,
    }  # fmt: skip
    assert _run(module_engine, *add, "--budget", "100000.00") == created  # the same again
    with module_engine.connect() as conn:
        budget = Ledger(conn).balance(chart.campaign_budget(campaign_id).code)
    assert budget.posted == 10_000_000
    listed = _run(module_engine, "campaign", "list")
    assert created in listed
    shown = runner.invoke(app, ["campaign", "list"], env=_env(module_engine))
    assert "100000.00 IDR" in shown.stdout

    _refused(module_engine, "campaign_exists", *add, "--budget", "200000")


def test_campaign_add_refuses_bad_amounts_and_times(module_engine: Engine) -> None:
    base = ["campaign", "add", "pz-bad", "--name", "x", "--discount-bp", "6000", "--budget",
            "100", "--cap-pioneer-day", "1", "--cap-merchant-day", "1", "--starts",
            "2026-06-01T00:00", "--ends", "2026-07-01T00:00", "--by", "ana"]  # fmt: skip
    _refused(module_engine, "campaign_invalid", *base)
    _refused(module_engine, "amount_too_precise", *base[:8], "1.001", *base[9:])
    when = runner.invoke(app, [*base[:14], "juni", *base[15:]], env=_env(module_engine))
    assert when.exit_code == 2


def test_share_set_and_show(module_engine: Engine) -> None:
    with module_engine.begin() as conn:
        merchant = insert_merchant(conn)
    default = _run(module_engine, "share", "show", merchant)
    assert isinstance(default, dict)
    assert (default["for"], default["id"]) == (merchant, "default")
    assert default["updated_by"] == "migration"
    clauses = json.dumps([
        {"to": "platform_fee", "fixed": {"IDR": "200.00"}},
        {"to": "platform_fee", "percent_bp": 100},
        {"to": "merchant", "remaining": True},
    ])  # fmt: skip
    params = {"rule_id": merchant, "allotments": json.loads(clauses), "cashback_bp": 200,
              "cashback_cap": "500"}  # fmt: skip
    done = govern(module_engine, "share.set", params)
    assert done.exit_code == 0, done.output
    stored = _run(module_engine, "share", "show", merchant)
    assert isinstance(stored, dict)
    assert stored["id"] == merchant
    assert stored["allotments"] == json.loads(clauses)
    assert stored["cashback_cap"] == {"amount": "500.00", "asset": "IDR", "amount_units": 50_000}
    assert stored["updated_by"] == json.loads(done.stdout)["by"]
    half = [{"to": "merchant", "percent_bp": 15}]
    invalid = govern(module_engine, "share.set", {"rule_id": merchant, "allotments": half})
    assert (invalid.exit_code, "(share_rule_invalid)" in invalid.output) == (1, True)
    nobody = govern(module_engine, "share.set", params | {"rule_id": "NOBODY"})
    assert (nobody.exit_code, "(share_rule_merchant_unknown)" in nobody.output) == (1, True)
    assert _run(module_engine, "share", "show", merchant) == stored


def test_points_fund_once_per_key(module_engine: Engine) -> None:
    key = f"fund-{uuid.uuid4().hex[:8]}"
    first = _run(module_engine, "points", "fund", "--amount", "1000", "--key", key, "--by", "ana")
    again = _run(module_engine, "points", "fund", "--amount", "1000", "--key", key, "--by", "ana")
    assert isinstance(first, dict)
    assert first == again
    assert first["funded"] == 1000
    assert first["budget_posted"] == first["budget_available"]
    _refused(module_engine, "exists_with_different_fields", "points", "fund", "--amount", "5",
             "--key", key, "--by", "ana")  # fmt: skip


def test_parameter_set_and_show(module_engine: Engine) -> None:
    done = govern(module_engine, "parameter.set", {"name": "point_value_idr", "value": "500"})
    assert done.exit_code == 0, done.output
    stored = _run(module_engine, "parameter", "show", "point_value_idr")
    assert isinstance(stored, dict)
    assert (stored["value"], stored["updated_by"]) == ("500.00", json.loads(done.stdout)["by"])
    assert _run(module_engine, "parameter", "show", "point_value_idr") == stored
    assert stored in _run(module_engine, "parameter", "show")
    invalid = govern(module_engine, "parameter.set", {"name": "point_value_idr", "value": "0"})
    assert (invalid.exit_code, "(parameter_invalid)" in invalid.output) == (1, True)
    _refused(module_engine, "parameter_unknown", "parameter", "show", "nope")
    assert _run(module_engine, "parameter", "show", "point_value_idr") == stored


def test_a_refusal_is_one_line_with_its_code_at_the_entry_point(
    module_engine: Engine, tmp_path: Path
) -> None:
    done = run_msc(["parameter", "show", "no_such_parameter"], cwd=tmp_path,
                   env=_env(module_engine))  # fmt: skip
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line and not line.startswith("{")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("msc: ")
    assert "parameter_unknown" in lines[0]
