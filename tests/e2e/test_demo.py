"""``msc demo`` end to end, as a person runs it: the whole story on a database it makes on the
test server (MSC_DATABASE_URL) and on anvil, ending with ``verified``; run twice (each run makes
its database anew); ``msc check --offline`` holds on the database it leaves; a fixture that
names no merchant fails at its step, says so, and exits non-zero."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chain.evm.anvil import AnvilError
from settlement.config import Settings
from settlement.demo.play import story
from settlement.demo.running import DEMO_WITNESS_NAME
from tests.database import drop_database, with_database, worker_database_name
from tests.support.shared_fixtures import fixtures_dir

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
MSC = Path(sys.executable).with_name("msc")
demo_timeout_s = 300
stop_timeout_s = 30


@pytest.fixture(scope="module")
def anvil(request: pytest.FixtureRequest) -> str:
    """The tests' anvil; the demo is skipped only when none can be had on this machine."""
    try:
        return str(request.getfixturevalue("anvil_url"))
    except (AnvilError, OSError, subprocess.CalledProcessError) as missing:
        pytest.skip(f"anvil unavailable: {missing}")


@pytest.fixture(scope="module")
def demo_database(database_server_url: str, worker_id: str) -> Iterator[str]:
    """The name of the database the demo makes (and remakes) on the test server."""
    name = worker_database_name(worker_id) + "_demo"
    yield name
    drop_database(database_server_url, name)


def _env(server_url: str, anvil_url: str, data_dir: Path, **more: str) -> dict[str, str]:
    found = fixtures_dir()
    if found is None:
        pytest.skip("no shared fixtures (pilot.json) beside the repository")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "MSC_DATABASE_URL": server_url,
        "MSC_EVM_RPC_URL": anvil_url,
        "MSC_DATA_DIR": str(data_dir),
        "MSC_FIXTURES_DIR": str(found),
        **more,
    }


def _msc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MSC), *args], env=env, capture_output=True, text=True, timeout=demo_timeout_s,
        check=False,
    )  # fmt: skip


def test_the_demo_plays_the_story_twice_and_the_books_hold(
    database_server_url: str, anvil: str, demo_database: str, tmp_path: Path
) -> None:
    env = _env(database_server_url, anvil, tmp_path)
    for _ in range(2):
        played = _msc(env, "demo", "--database", demo_database)
        assert played.returncode == 0, played.stdout + played.stderr
        lines = played.stdout.splitlines()
        assert lines[-1] == "verified", played.stdout
        told = [line.split()[0] for line in lines if line and not line.startswith(" ")]
        names = [step.name for step in story().steps]
        assert [name for name in told if name in names] == names
        assert not any(line.startswith("FAILED") for line in lines)
    published = tmp_path / "demo" / "audit"
    (month,) = [p for p in published.iterdir() if p.is_dir()]
    assert (month / "signatures.json").is_file()
    governance = [
        json.loads(line) for line in (month / "governance.jsonl").read_text().splitlines()
    ]
    proposed = {e["id"]: e["proposal"] for e in governance if e["kind"] == "proposal.created"}
    executed = {e["id"] for e in governance if e["kind"] == "proposal.executed"}
    (close,) = [pid for pid, p in proposed.items() if p["action"] == "period.close"]
    assert proposed[close]["params"] == {"period": month.name}
    signed = [e for e in governance if e["kind"] == "proposal.signed" and e["id"] == close]
    assert len(signed) == 2, governance
    assert close not in executed  # executed after midnight: next month's entry
    assert executed == set(proposed) - {close}  # the terms' proposals, executed in the month
    checkpoint = (month / "checkpoint.txt").read_text()
    signers = [line.split()[1] for line in checkpoint.splitlines() if line.startswith("\u2014 ")]
    assert signers == [Settings.model_fields["tlog_origin"].default, DEMO_WITNESS_NAME], checkpoint
    anchors = json.loads((month / "anchors.json").read_text())
    assert len(anchors) == 2, anchors
    assert any("network_passphrase" in anchor for anchor in anchors), anchors
    assert any("chain_id" in anchor for anchor in anchors), anchors
    assert any("--horizon" in line and "--min-witnesses 1" in line for line in lines)

    checked = _msc(
        env | {"MSC_DATABASE_URL": with_database(database_server_url, demo_database)},
        "check", "--offline", "--output", "json",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    outcomes = {c["check"]: c["outcome"] for c in json.loads(checked.stdout)["checks"]}
    assert outcomes["double_entry"] == outcomes["closed_periods"] == "held"
    assert "failed" not in outcomes.values()


def test_keep_serving_leaves_the_urls_it_printed_answering_until_ctrl_c(
    database_server_url: str, anvil: str, demo_database: str, tmp_path: Path
) -> None:
    env = _env(database_server_url, anvil, tmp_path)
    process = subprocess.Popen(
        [str(MSC), "demo", "--database", demo_database, "--keep-serving"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        lines = _until_serving(process)
        told = {
            who.strip(): header
            for who, header in (
                line.split(" Authorization: ") for line in lines if "Authorization:" in line
            )
        }
        balances = next(line.split()[1] for line in lines if line.strip().startswith("GET") and
                        line.split()[1].endswith("/v1/balances"))  # fmt: skip
        answer = httpx.get(balances, headers={"Authorization": told["merchant"]}, timeout=10)
        assert answer.status_code == 200, answer.text
        shown = {row["asset"]: row["posted"]["amount"] for row in answer.json()["balances"]}
        assert shown["IDR"] == "0.00"  # her Rupiah left in the day's payout batch
        assert shown["PI"] != "0.0000000"
        locks = httpx.get(balances.replace("/v1/balances", "/v1/locks"),
                          headers={"Authorization": told["locker"]}, timeout=10)  # fmt: skip
        assert locks.status_code == 200, locks.text
        (position,) = locks.json()["items"]
        assert position["status"] == "open"
        assert 0 < position["vested_points"] < position["reward_max"]
        month = next(line.split()[1] for line in lines if line.startswith("published "))
        page = next(line.split()[1] for line in lines if line.strip().startswith("GET") and
                    line.split()[1].endswith("/transparency"))  # fmt: skip
        shown_page = httpx.get(page, timeout=10)
        assert shown_page.status_code == 200, shown_page.text
        assert month in shown_page.text
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=stop_timeout_s)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == 0


def _until_serving(process: subprocess.Popen[str]) -> list[str]:
    """The demo's lines up to ``serving ... until Ctrl-C``; fails if it exits first."""
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("serving "):
            assert "verified" in lines, lines
            return lines
    pytest.fail(f"msc demo exited with {process.wait()} before serving: {lines}")


def test_a_failing_step_says_what_failed_and_exits_non_zero(
    database_server_url: str, anvil: str, demo_database: str, tmp_path: Path
) -> None:
    found = fixtures_dir()
    if found is None:
        pytest.skip("no shared fixtures (pilot.json) beside the repository")
    pilot = json.loads((found / "pilot.json").read_text())
    pilot["split_tender_example"]["merchant"] = "UM999"
    broken = tmp_path / "fixtures"
    broken.mkdir()
    (broken / "pilot.json").write_text(json.dumps(pilot))
    (broken / "incentives.json").write_text((found / "incentives.json").read_text())
    env = _env(database_server_url, anvil, tmp_path / "data")
    played = _msc(env, "demo", "--database", demo_database, "--fixtures", str(broken))
    assert played.returncode == 1, played.stdout + played.stderr
    last = played.stdout.splitlines()[-1]
    assert last.startswith("FAILED onboard:"), played.stdout
    assert "UM999" in last
    assert "verified" not in played.stdout
