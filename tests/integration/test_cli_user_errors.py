"""Every error a user can cause is one line on stderr and an exit code, never a traceback.

These run the real ``msc`` entry point in a subprocess, where a traceback would show.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from chain.evm.abi import ANCHOR, TOKEN
from chain.evm.anvil import ANVIL_CHAIN_ID
from tests.evm_support import Chain, dev_account
from tests.support.msc import run_msc

pytestmark = pytest.mark.integration

EXIT_OPERATIONAL = 1
EXIT_USAGE = 2
GONE_ADDRESS = "0x" + "de" * 20


def _one_line(stderr: str) -> str:
    """The one line the user reads: JSON log lines (stderr's other use) do not count."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_one_shot_command_refuses_a_database_it_did_not_find(tmp_path: Path) -> None:
    elsewhere, data_dir = tmp_path / "elsewhere", tmp_path / "no-such-data"
    elsewhere.mkdir()
    result = run_msc(
        ["treasury", "show"],
        cwd=elsewhere,
        env={"MSC_DATA_DIR": str(data_dir)},
    )
    assert result.returncode == EXIT_OPERATIONAL
    assert str(data_dir / "pg") in _one_line(result.stderr)
    assert result.stdout == ""
    assert not data_dir.exists()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["ledger", "trial-balance"], {"MSC_ENV": "production"}, "production"),
        (["ledger", "trial-balance"], {"MSC_HTTP_PORT": "abc"}, "MSC_HTTP_PORT"),
        (["worker"], {}, "MSC_REDIS_URL"),
    ],
)
def test_configuration_errors_are_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    result = run_msc(args, cwd=tmp_path, env={"MSC_DATA_DIR": str(tmp_path), **env})
    assert result.returncode == EXIT_USAGE
    assert named in _one_line(result.stderr)


def test_worker_with_redis_refusing_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_msc(["worker"], cwd=tmp_path, env={"MSC_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert result.returncode == EXIT_OPERATIONAL
    assert str(port) in _one_line(result.stderr)


def test_amount_out_of_range_is_refused_before_the_database(
    tmp_path: Path, module_engine: Engine
) -> None:
    url = module_engine.url.render_as_string(hide_password=False)
    result = run_msc(
        [
            *("qris", "expect", "--amount", "99999999999999999999999"),
            *("--nmid", "ID1019000002328", "--by", "bu-sri"),
        ],
        cwd=tmp_path,
        env={"MSC_DATABASE_URL": url},
    )
    assert result.returncode == EXIT_USAGE
    assert "99999999999999999999999" in result.stderr
    assert "Traceback" not in result.stderr
    with module_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qris_expectations")).scalar_one() == 0


def test_pi_expect_refuses_an_undeclared_account_before_the_service_starts(
    tmp_path: Path,
) -> None:
    """It used to credit a new account ``nope:nope``; the chart of accounts refuses it."""
    data_dir = tmp_path / "data"
    result = run_msc(
        [
            "pi",
            "expect",
            "--amount",
            "1",
            "--purpose",
            "test",
            "--account",
            "nope:nope",
            "--by",
            "treasurer",
        ],
        cwd=tmp_path,
        env={"MSC_DATA_DIR": str(data_dir)},
    )
    assert result.returncode == EXIT_OPERATIONAL
    assert "account_undeclared" in _one_line(result.stderr)
    assert result.stdout == ""
    assert not data_dir.exists()  # no database was started, nothing was written


def test_serve_on_a_busy_port_says_so_before_serving(tmp_path: Path, module_engine: Engine) -> None:
    url = module_engine.url.render_as_string(hide_password=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_msc(
            ["serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env={
                "MSC_DATABASE_URL": url,
                "MSC_DATA_DIR": str(tmp_path),
                "MSC_EVM_RPC_URL": "http://127.0.0.1:9",
            },
        )
    assert result.returncode == EXIT_OPERATIONAL
    line = _one_line(result.stderr)
    assert f"127.0.0.1:{port}" in line
    assert "serving on" not in result.stderr


def test_deploy_on_a_reset_local_anvil_says_what_to_do(
    tmp_path: Path, module_engine: Engine, anvil_url: str, evm_snapshot: Chain
) -> None:
    with module_engine.begin() as conn:
        conn.execute(text("DELETE FROM evm_deployments"))
        for contract in (TOKEN, ANCHOR):
            conn.execute(
                text(
                    "INSERT INTO evm_deployments (chain_id, contract, address, tx_hash,"
                    " block_number) VALUES (:c, :n, :a, :h, 1)"
                ),
                {"c": ANVIL_CHAIN_ID, "n": contract, "a": GONE_ADDRESS, "h": "0x" + "ab" * 32},
            )
    blocks_before = evm_snapshot.w3.eth.block_number
    result = run_msc(
        ["chain", "deploy", "--by", "bu-sri"],
        cwd=tmp_path,
        env={
            "MSC_DATABASE_URL": module_engine.url.render_as_string(hide_password=False),
            "MSC_DATA_DIR": str(tmp_path),
            "MSC_EVM_RPC_URL": anvil_url,
            "MSC_EVM_PRIVATE_KEY": dev_account(1).key.hex(),
        },
    )
    assert result.returncode == EXIT_OPERATIONAL
    line = _one_line(result.stderr)
    assert "has no code" in line
    assert "anvil" in line
    assert "state" in line
    assert evm_snapshot.w3.eth.block_number == blocks_before  # nothing was sent
