"""The embedded service as ``./scripts/run`` starts it: refused before ``msc db upgrade``, ready
on /readyz after it, and SIGTERM stops the embedded PostgreSQL cleanly (uvicorn re-raises
SIGTERM after shutdown; the service unwinds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serving import free_port, wait_ready

pytestmark = pytest.mark.e2e

stop_timeout_s = 30.0


def test_sigterm_stops_the_embedded_postgres(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "MSC_DATA_DIR": str(tmp_path),
        "MSC_HTTP_PORT": str(port),
        "MSC_EVM_RPC_URL": f"http://127.0.0.1:{free_port()}",  # not the default: no anvil
    }
    msc = Path(sys.executable).with_name("msc")
    refused = subprocess.run(
        [str(msc), "serve"], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("run `msc db upgrade` first")
    assert len(refused.stderr.strip().splitlines()) == 1
    # scripts/run's path: the explicit upgrade (creating the embedded database), then serve.
    subprocess.run([str(msc), "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [str(msc), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        assert (tmp_path / "pg" / "postmaster.pid").exists()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=stop_timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not (tmp_path / "pg" / "postmaster.pid").exists(), "PostgreSQL still running"
