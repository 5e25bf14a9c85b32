"""The embedded service as ``./scripts/run`` starts it: ready on /readyz, and SIGTERM stops the
embedded PostgreSQL cleanly (uvicorn re-raises SIGTERM after shutdown; the service unwinds)."""

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
