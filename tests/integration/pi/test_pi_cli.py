"""`msc pi expect` is a one-shot command: it starts the database and nothing else (no embedded
service, no anvil, no contract deploy) to insert one row (issue 10, point 9)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

import settlement.service
from settlement.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def _not_started(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("a one-shot command started the service or a chain")


def test_expect_starts_only_the_database(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("running_container", "running_local_chain", "deploy_local_contracts"):
        monkeypatch.setattr(settlement.service, name, _not_started)
    reference = f"cli-{uuid.uuid4().hex[:12]}"
    env = {"MSC_DATABASE_URL": db_engine.url.render_as_string(hide_password=False)}
    argv = ["pi", "expect", "--amount", "1.5", "--purpose", "test", "--reference", reference]

    result = runner.invoke(app, [*argv, "--by", "treasurer-a", "--output", "json"], env=env)

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["reference"], shown["amount_units"]) == (reference, 15_000_000)
    with db_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT amount_units FROM pi_expectations WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    assert stored == 15_000_000


def test_expect_without_by_is_refused_before_the_database(db_engine: Engine) -> None:
    reference = f"cli-{uuid.uuid4().hex[:12]}"
    env = {"MSC_DATABASE_URL": db_engine.url.render_as_string(hide_password=False)}
    argv = ["pi", "expect", "--amount", "1.5", "--purpose", "test", "--reference", reference]

    result = runner.invoke(app, argv, env=env)

    assert result.exit_code == 2
    assert "--by" in result.output
    with db_engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM pi_expectations WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    assert count == 0
