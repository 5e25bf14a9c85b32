"""`msc qris decide`, `msc pi decide` and `msc books` on PostgreSQL: a decision recorded with
its officer, a second outcome refused with its code, the books of a closed month printed."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from escrow.clock import SystemClock
from escrow.ledger import Ledger
from escrow.periods import period, period_of
from escrow.refusals import Refusal
from settlement.cli import app
from settlement.pi.flags import flag
from settlement.qris import exceptions
from settlement.qris.exceptions import ExceptionLine

pytestmark = pytest.mark.integration
runner = CliRunner()


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _code(result: Any) -> str:
    """The refusal a command ended with (``msc`` prints it as one line and exits 1)."""
    assert isinstance(result.exception, Refusal), result.output
    return result.exception.code


def test_decide_an_exception_and_a_flag(module_engine: Engine) -> None:
    source_id, key = uuid.uuid4().hex, f"wallet:{uuid.uuid4().hex[:16]}"
    with module_engine.begin() as conn:
        exceptions.record(
            conn,
            ExceptionLine(kind="unmatched_expectation", source="expectation", source_id=source_id,
                          business_date=date(2026, 11, 2), detail="expired",
                          action=exceptions.ACTIONS["unmatched_expectation"]),
        )  # fmt: skip
        flag(conn, key, None, "a2u_failed", {"why": "test"})
        exception_id = conn.execute(
            text("SELECT id FROM qris_exceptions WHERE source_id = :s"), {"s": source_id}
        ).scalar_one()
        flag_id = conn.execute(
            text("SELECT id FROM pi_flags WHERE payment_id = :k"), {"k": key}
        ).scalar_one()

    decided = _json(
        _msc(module_engine, "qris", "decide", str(exception_id), "--outcome", "dismiss",
             "--note", "payer never paid", "--by", "ani", "-o", "json")
    )  # fmt: skip
    refused = _msc(module_engine, "qris", "decide", str(exception_id), "--outcome", "refund",
                   "--note", "again", "--by", "ani")  # fmt: skip
    flagged = _json(
        _msc(module_engine, "pi", "decide", str(flag_id), "--outcome", "dismiss",
             "--note", "payout retried by hand", "--by", "budi", "-o", "json")
    )  # fmt: skip

    assert (decided["outcome"], decided["decided_by"]) == ("dismiss", "cli:ani")
    assert refused.exit_code == 1
    assert "(exception_already_decided)" in refused.stderr
    assert (flagged["subject"], flagged["decided_by"]) == ("pi_flag", "cli:budi")


def test_books_of_a_closed_month(module_engine: Engine) -> None:
    current = period_of(SystemClock().now_us())
    last = period_of(period(current).starts_at_us - 1)
    with module_engine.begin() as conn:
        if (
            conn.execute(
                text("SELECT 1 FROM ledger_periods WHERE period = :p"), {"p": last}
            ).first()
            is None
        ):
            Ledger(conn, SystemClock()).close_period(last, "test")

    csv_file = _msc(module_engine, "books", "neraca", last, "--format", "csv")
    figures = _json(_msc(module_engine, "books", "laba-rugi", last, "-o", "json"))
    lines = _msc(module_engine, "books", "neraca", last)
    open_month = _msc(module_engine, "books", "neraca", current)

    assert csv_file.exit_code == 0, csv_file.output
    assert csv_file.stdout.startswith('"Bagian","Uraian","Aset","Jumlah","Akun","Keterangan"')
    assert [a["asset"] for a in figures["assets"]] == ["IDR", "PI", "MSC", "MSCP"]
    assert "Jumlah liabilitas dan ekuitas" in lines.stdout
    assert _code(open_month) == "books_month_not_closed"
