"""`msc check` as an operator runs it: one line per check, exit 0 only when every check holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from settlement.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()
DATABASE_CHECKS = [
    "double_entry",
    "account_flags",
    "running_totals",
    "pending_reservations",
    "closed_periods",
    "reserve_coverage",
    "escrow_holds",
    "lock_reservations",
    "expectations_booked",
    "outbox_moving",
    "published_digests",
]


def _check(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, ["check", "--offline", *args], env=env)


def test_check_passes_on_sound_books_and_fails_on_a_stuck_side_effect(
    module_engine: Engine,
) -> None:
    sound = _check(module_engine, "--output", "json")
    assert sound.exit_code == 0, sound.output
    found = json.loads(sound.stdout)
    assert found["ok"] is True
    assert [c["check"] for c in found["checks"]] == [*DATABASE_CHECKS, "pi_custody", "msc_onchain"]
    assert {c["check"]: c["outcome"] for c in found["checks"]}["pi_custody"] == "skipped"

    with module_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (kind, key, payload, next_attempt_at) VALUES"
                " ('evm.mint', 'stuck-1', '{}', now() - interval '1 hour')"
            )
        )
    stuck = _check(module_engine)
    assert stuck.exit_code == 1
    lines = stuck.stdout.splitlines()
    assert len(lines) == len(DATABASE_CHECKS) + 2
    failed = [line for line in lines if line.startswith("FAILED")]
    assert len(failed) == 1
    assert "outbox_moving" in failed[0]
    assert "evm.mint:stuck-1" in failed[0]
