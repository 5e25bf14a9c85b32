"""`msc treasury keygen|init|propose|sign|submit|execute|show` on PostgreSQL: officers sign the
proposal file offline (no database reachable), and it executes once, with M signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from settlement.cli import app
from tests.support.msc import run_msc

pytestmark = pytest.mark.integration
runner = CliRunner()


def msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app, list(args), env=env)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_officers_sign_offline_and_the_proposal_executes_once(
    module_engine: Engine, tmp_path: Path
) -> None:
    officers = []
    for name in ("sri", "budi", "tin"):
        made = ok(msc(module_engine, "treasury", "keygen", "--out", str(tmp_path / name), "-o",
                      "json"))  # fmt: skip
        officers.append({"name": name, "public_key": made["public_key"]})
    listed = tmp_path / "officers.json"
    listed.write_text(json.dumps({"threshold": 2, "officers": officers}))
    genesis = ok(msc(module_engine, "treasury", "init", "--officers", str(listed), "-o", "json"))
    assert (genesis["kind"], genesis["threshold"]) == ("officers.genesis", 2)
    again = msc(module_engine, "treasury", "init", "--officers", str(listed))
    assert (again.exit_code, "(governance_already_initialised)" in again.output) == (1, True)

    proposal = tmp_path / "threshold.json"
    made = ok(msc(module_engine, "treasury", "propose", "officers.threshold", "--param",
                  "threshold=3", "--out", str(proposal), "-o", "json"))  # fmt: skip
    assert (made["nonce"], made["params"], made["deployment"]) == (
        0, {"threshold": 3}, "madiun-development",
    )  # fmt: skip

    nowhere = {"MSC_DATA_DIR": str(tmp_path / "no-database-here")}
    signed = run_msc(["treasury", "sign", str(proposal), "--key", str(tmp_path / "sri")],
                     cwd=tmp_path, env=nowhere)  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert "signed: officers.threshold" in signed.stdout
    assert not (tmp_path / "no-database-here").exists()

    short = msc(module_engine, "treasury", "execute", str(proposal))
    assert short.exit_code == 1
    assert "(governance_signatures_insufficient)" in short.output
    assert ok(msc(module_engine, "treasury", "show", "-o", "json"))["officers"]["threshold"] == 2

    assert msc(module_engine, "treasury", "sign", str(proposal), "--key",
               str(tmp_path / "tin")).exit_code == 0  # fmt: skip
    done = ok(msc(module_engine, "treasury", "execute", str(proposal), "-o", "json"))
    assert done["result"]["officers"]["threshold"] == 3
    shown = ok(msc(module_engine, "treasury", "show", "-o", "json"))
    assert (shown["officers"]["threshold"], shown["next_nonce"], shown["open"]) == (3, 1, [])
    state = ok(msc(module_engine, "treasury", "show", done["id"], "-o", "json"))
    assert (state["status"], state["valid_signers"]) == ("executed", 2)

    replay = msc(module_engine, "treasury", "execute", str(proposal))
    assert (replay.exit_code, "(governance_proposal_replayed)" in replay.output) == (1, True)
    bad = msc(module_engine, "treasury", "propose", "officers.threshold", "--param",
              "threshold=9", "--out", str(tmp_path / "nine.json"))  # fmt: skip
    assert (bad.exit_code, "(governance_action_invalid)" in bad.output) == (1, True)
    assert not (tmp_path / "nine.json").exists()
    unknown = msc(module_engine, "treasury", "propose", "treasury.drain", "--out",
                  str(tmp_path / "drain.json"))  # fmt: skip
    assert (unknown.exit_code, "(governance_action_unknown)" in unknown.output) == (1, True)


def test_a_tampered_proposal_file_is_refused_before_signing(tmp_path: Path) -> None:
    key = tmp_path / "key"
    assert runner.invoke(app, ["treasury", "keygen", "--out", str(key)]).exit_code == 0
    path = tmp_path / "p.json"
    body = {"action": "period.close", "deployment": "madiun-development",
            "expires_at_us": 10**16, "nonce": 0, "params": {"period": "2026-11"}}  # fmt: skip
    path.write_text(json.dumps({"format": "msc-treasury-proposal-file/1", "id": "00" * 32,
                                "proposal": body, "signatures": []}))  # fmt: skip
    refused = runner.invoke(app, ["treasury", "sign", str(path), "--key", str(key)])
    assert refused.exit_code == 1
    assert "id is not the SHA-256" in refused.output
