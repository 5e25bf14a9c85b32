"""`msc checkout create|show|handover` on PostgreSQL: a checkout opened from the command line,
read back, and refusals as one line with a non-zero exit and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from settlement.cli import app
from settlement.cli.errors import user_error
from tests.support.merchants import fresh_id, fresh_nmid, static_qris

pytestmark = pytest.mark.integration
runner = CliRunner()


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _checkouts(engine: Engine, merchant_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM checkouts WHERE merchant_id = :m"), {"m": merchant_id}
            ).scalar_one()
        )


def test_a_checkout_from_the_command_line(db_engine: Engine) -> None:
    merchant_id, nmid = fresh_id(), fresh_nmid()
    _json(
        _msc(
            db_engine,
            "merchant",
            "add",
            "--id",
            merchant_id,
            "--name",
            "Pecel Bu Tin",
            "--kelurahan",
            "Kelurahan A",
            "--tender",
            "QRIS",
            "--static-qris",
            static_qris(nmid),
            "--by",
            "officer1",
            "-o",
            "json",
        )
    )
    created = _json(
        _msc(
            db_engine,
            "checkout",
            "create",
            "--merchant",
            merchant_id,
            "--price",
            "15000.00",
            "--tender",
            "QRIS",
            "--by",
            "officer1",
            "-o",
            "json",
        )
    )
    assert created["status"] == "open"
    assert created["legs"][0]["qris"]["payload"].startswith("000201")
    shown = _json(_msc(db_engine, "checkout", "show", created["id"], "-o", "json"))
    assert shown["id"] == created["id"]
    assert shown["legs"] == created["legs"]

    early = _msc(db_engine, "checkout", "handover", created["id"], "--by", "officer1")
    assert early.exit_code == 1
    assert getattr(early.exception, "code", None) == "checkout_not_paid"
    line = user_error(early.exception)  # what `msc` prints: one line, exit 1
    assert line is not None
    assert line[1] == 1
    assert "checkout_not_paid" in line[0]
    for wrong in (["--tender", "PI"], ["--tender", "QRIS:4000"], ["--tender", "CASH"]):
        refused = _msc(
            db_engine,
            "checkout",
            "create",
            "--merchant",
            merchant_id,
            "--price",
            "15000.00",
            *wrong,
            "--by",
            "officer1",
        )
        assert refused.exit_code == 1, refused.output
        assert user_error(refused.exception) is not None
    no_by = _msc(
        db_engine,
        "checkout",
        "create",
        "--merchant",
        merchant_id,
        "--price",
        "15000.00",
        "--tender",
        "QRIS",
    )
    assert no_by.exit_code == 2
    assert _checkouts(db_engine, merchant_id) == 1
