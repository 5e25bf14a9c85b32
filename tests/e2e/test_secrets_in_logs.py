"""No secret reaches a log line or a stored error (issue 9 item 9).

``msc serve`` runs with a secret-looking value in every secret setting and in the path, query
and password of every URL; each network it names is down, so every failure path logs and the
outbox stores an error. None of the secret parts may show in its output or in the outbox.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from stellar_sdk import Keypair

from settlement.evm.bridge import MINT_KIND
from settlement.outbox import enqueue
from tests.database import drop_database, fresh_database, worker_database_name
from tests.support.serving import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
ready_timeout_s = 60.0
stored_error_timeout_s = 30.0


def _secret(name: str) -> str:
    return f"{name}{uuid.uuid4().hex}"


def test_no_secret_in_any_log_line_or_stored_error(
    tmp_path: Path, database_server_url: str, worker_id: str
) -> None:
    name = worker_database_name(worker_id) + "_secrets"
    plain_url = fresh_database(database_server_url, name)
    db_password = _secret("dbpw")  # the test server trusts local connections: any password works
    database_url = plain_url.replace("postgres@", f"postgres:{db_password}@", 1)
    with psycopg.connect(database_url):
        pass  # the password is accepted
    down = f"127.0.0.1:{free_port()}"
    secret_of = {
        "MSC_PSEUDONYM_KEY": _secret("pseudonym"),
        "MSC_OPERATOR_TOKEN": _secret("operator"),
        "MSC_PI_API_KEY": _secret("piapikey"),
        "MSC_PI_WALLET_SECRET": Keypair.random().secret,
        "MSC_EVM_PRIVATE_KEY": "0x" + secrets.token_hex(32),
        "MSC_QRIS_MIDTRANS_SERVER_KEY": _secret("midtrans"),
        "MSC_QRIS_XENDIT_CALLBACK_TOKEN": _secret("xendit"),
    }
    url_secrets = {
        "rpcpw": _secret("rpcpw"),
        "rpcpath": _secret("rpcpath"),
        "rpcquery": _secret("rpcquery"),
        "pipath": _secret("pipath"),
        "horizonquery": _secret("horizonquery"),
    }
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        **secret_of,
        "MSC_DATA_DIR": str(tmp_path),
        "MSC_HTTP_PORT": str(port),
        "MSC_DATABASE_URL": database_url,
        "MSC_PI_SANDBOX": "false",
        "MSC_EVM_RPC_URL": (
            f"http://user:{url_secrets['rpcpw']}@{down}/v3/{url_secrets['rpcpath']}"
            f"?apikey={url_secrets['rpcquery']}"
        ),
        "MSC_EVM_RPC_TIMEOUT_S": "1",
        "MSC_PI_API_URL": f"http://{down}/{url_secrets['pipath']}",
        "MSC_PI_HORIZON_URL": f"http://{down}/?key={url_secrets['horizonquery']}",
    }
    engine = create_engine(plain_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        enqueue(conn, MINT_KIND, "secrets-test", {"withdrawal": "none"})
    msc = Path(sys.executable).with_name("msc")
    out_file, err_file = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        process = subprocess.Popen([str(msc), "serve"], env=env, stdout=out, stderr=err)
        try:
            _exercise(f"http://127.0.0.1:{port}", process, secret_of)
            stored = _wait_for_stored_error(engine)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    engine.dispose()
    drop_database(database_server_url, name)
    output = out_file.read_text() + err_file.read_text()
    assert "evm_node_unreachable" in output  # the failure paths did run
    assert "RpcUnavailableError" in stored
    everything = [*secret_of.values(), *url_secrets.values(), db_password]
    leaked = [value for value in everything if value in output or value in stored]
    assert leaked == [], f"secrets in the logs or the outbox: {leaked}"


def _exercise(base: str, process: subprocess.Popen[bytes], secret_of: dict[str, str]) -> None:
    """Wait until the service is ready, then send it requests that name the secrets."""
    deadline = time.monotonic() + ready_timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"msc serve exited with {process.returncode}")
        try:
            if httpx.get(base + "/readyz", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("msc serve not ready")
        time.sleep(0.2)
    operator = {"Authorization": f"Bearer {secret_of['MSC_OPERATOR_TOKEN']}"}
    report = httpx.get(
        base + "/v1/qris/exceptions", params={"date": "2024-12-02"}, headers=operator
    )
    assert report.status_code == 200
    xendit = {"X-CALLBACK-TOKEN": secret_of["MSC_QRIS_XENDIT_CALLBACK_TOKEN"]}
    httpx.post(base + "/v1/qris/notifications/xendit", content=b"{}", headers=xendit)
    pioneer = {"Authorization": f"Bearer {uuid.uuid4().hex}"}
    httpx.post(base + "/v1/pi/payments/pid-1/approve", headers=pioneer, timeout=30)


def _wait_for_stored_error(engine: Engine) -> str:
    """The outbox's stored errors, once the worker has stored one."""
    deadline = time.monotonic() + stored_error_timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            errors = [
                row[0] for row in conn.execute(text("SELECT last_error FROM outbox")) if row[0]
            ]
        if errors:
            return "\n".join(errors)
        time.sleep(0.5)
    pytest.fail("the outbox stored no error")
