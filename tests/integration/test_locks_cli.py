"""``msc lock ...`` and ``msc points dividend|bonus|expire|show`` on PostgreSQL (the module's own
database): the operator reads positions and commitments, grants a bonus once, uploads a signed
dividend once (a replay refused, nothing written)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from escrow.clock import SystemClock
from settlement import parameters
from settlement.cli import app
from settlement.cli.output import EXIT_REFUSED
from settlement.mscp.dividend import sign
from settlement.unit_of_work import unit_of_work
from tests.support.locks import offer, open_lock

pytestmark = pytest.mark.integration
runner = CliRunner()
SEED = "44" * 32


def _msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_operator_reads_locks_grants_bonuses_and_uploads_a_dividend(
    module_engine: Engine, tmp_path: Path
) -> None:
    with unit_of_work(module_engine, SystemClock()) as uow:
        offer(uow, {60: "0.1"}, budget=5_000)
        parameters.set_(uow, parameters.MSCP_ONBOARDING_BONUS, 50, "test")
        public = SigningKey(bytes.fromhex(SEED)).verify_key.encode().hex()
        parameters.set_(uow, parameters.DATA_TEAM_KEYS, {"cli": public}, "test")
        pos = open_lock(uow, "uid-cli-lock", 60, 10 * 10**7)
    listed = _json(_msc(module_engine, "lock", "list", "--uid", "uid-cli-lock", "-o", "json"))
    assert [(p["id"], p["status"], p["reward_max"]) for p in listed] == [(str(pos.id), "open", 60)]
    shown = _json(_msc(module_engine, "lock", "show", str(pos.id), "-o", "json"))
    assert shown["term_days"] == 60
    committed = _json(_msc(module_engine, "lock", "commitments", "-o", "json"))
    assert committed["reserved"] >= 60
    bonus = ("points", "bonus", "onboarding", "uid-cli-lock", "--by", "ani", "-o", "json")
    first, again = _json(_msc(module_engine, *bonus)), _json(_msc(module_engine, *bonus))
    assert first == again
    batch = {"batch_id": f"cli-{uuid.uuid4().hex[:8]}", "month": "2026-11",
             "lines": [{"uid": "uid-cli-lock", "points": 7}]}  # fmt: skip
    signed = tmp_path / "batch.json"
    signed.write_text(json.dumps(sign(batch, "cli", SEED)))
    uploaded = _json(_msc(module_engine, "points", "dividend", str(signed), "--by", "ani", "-o",
                          "json"))  # fmt: skip
    assert (uploaded["pioneers"], uploaded["points"]) == (1, 7)
    with module_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
    replay = _msc(module_engine, "points", "dividend", str(signed), "--by", "ani")
    assert replay.exit_code == EXIT_REFUSED
    assert "dividend_batch_replayed" in replay.output
    with module_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transfers")).scalar_one() == before
    points = _json(_msc(module_engine, "points", "show", "uid-cli-lock", "-o", "json"))
    assert (points["balance"], points["reserved_for_locks"]) == (57, 60)
    assert _msc(module_engine, "points", "dividend", str(signed)).exit_code == 2  # no --by
