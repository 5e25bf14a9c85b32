"""`msc audit export` takes the month's officers and governance entries from the governance log
(no officers file): a key rotation by 2 of 3 last month, the month closed by a proposal, the
bundle exported, signed by the new set and accepted by `msc-audit verify` pinned to the genesis."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.clock import FixedClock
from escrow.periods import period, period_of
from settlement.audit import bundle as b
from settlement.audit.cli import main
from settlement.audit.proposal import sign
from settlement.cli import app
from settlement.governance import treasury
from settlement.unit_of_work import unit_of_work
from tests.support import governance

pytestmark = pytest.mark.integration
runner = CliRunner()
day_us = 24 * 3600 * 1_000_000


def msc(engine: Engine, *args: str) -> Any:
    env = {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return runner.invoke(app_of(), list(args), env=env)


def app_of() -> Any:

    return app


def test_export_publishes_the_logged_officer_change_and_verifies(
    module_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last_month = b.previous_period(period_of(time.time_ns() // 1000))
    clock = FixedClock(period(last_month).starts_at_us + 10 * day_us)
    keys = governance.OFFICER_KEYS
    replacement = SigningKey(bytes([0x6F]) * 32)
    deployment = "madiun-development"
    with unit_of_work(module_engine, clock) as uow:
        genesis = treasury.register_officers(uow, governance.officers(), governance.THRESHOLD)
        params = {"public_key": bytes(keys[2].verify_key).hex(),
                  "new_public_key": bytes(replacement.verify_key).hex()}  # fmt: skip
        proposal = treasury.propose(uow, deployment, "officers.rotate_key", params,
                                    clock.now_us() + day_us)  # fmt: skip
        for key in keys[:2]:
            treasury.add_signature(uow, deployment, proposal.id(), sign(proposal, key))
        treasury.execute(uow, deployment, proposal.id())
    pinned = tmp_path / "genesis.json"
    pinned.write_text(json.dumps({k: genesis[k] for k in ("officers", "threshold")}))

    close = governance.govern(module_engine, "period.close", {"period": last_month})
    assert close.exit_code == 0, close.output
    out = tmp_path / last_month
    exported = msc(module_engine, "audit", "export", last_month, "--out", str(out), "-o", "json")
    assert exported.exit_code == 0, exported.output
    for number, key in enumerate((keys[0], replacement)):
        key_file = tmp_path / f"officer{number}.key"
        key_file.write_text(bytes(key).hex())
        assert msc(module_engine, "audit", "sign", str(out), "--key", str(key_file)).exit_code == 0
    manifest = json.loads((out / b.MANIFEST).read_text())
    assert manifest["governance"]["count"] == 5
    assert main(["verify", str(out), "--officers", str(pinned)]) == 0, capsys.readouterr().out
