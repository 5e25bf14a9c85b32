"""The embedded service as ``./scripts/run`` starts it: ready on /readyz, and SIGTERM stops the
embedded PostgreSQL cleanly (uvicorn re-raises SIGTERM after shutdown; the service unwinds)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

ready_timeout_s = 60.0
stop_timeout_s = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"msc serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} not ready within {ready_timeout_s} s")


def test_sigterm_stops_the_embedded_postgres(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "MSC_DATA_DIR": str(tmp_path),
        "MSC_HTTP_PORT": str(port),
        "MSC_EVM_RPC_URL": f"http://127.0.0.1:{_free_port()}",  # not the default: no anvil
    }
    msc = Path(sys.executable).with_name("msc")
    process = subprocess.Popen(
        [str(msc), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        assert (tmp_path / "pg" / "postmaster.pid").exists()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=stop_timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not (tmp_path / "pg" / "postmaster.pid").exists(), "PostgreSQL still running"
