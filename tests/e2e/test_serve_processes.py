"""``msc serve --processes 2``: two server processes answer on the one socket, a scrape of either
reports both processes' requests, both stop on the first's SIGTERM; with the in-process Pi
sandbox (whose payments live in one process) it is refused before anything listens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.serving import free_port, ready_timeout_s, wait_ready

pytestmark = pytest.mark.e2e

stop_timeout_s = 30.0
requests_sent = 40


def _env(database_url: str, port: int, **more: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "MSC_DATABASE_URL": database_url,
        "MSC_HTTP_PORT": str(port),
        "MSC_EVM_RPC_URL": f"http://127.0.0.1:{free_port()}",  # not the default: no anvil
        **more,
    }


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def _server_children(pid: int) -> list[int]:
    """The spawned server processes (not multiprocessing's resource tracker)."""
    return [c for c in _children(pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _healthz_count(base: str) -> float:
    """``/healthz`` requests the scrape reports, on a new connection (any process answers)."""
    body = httpx.get(f"{base}/metrics", timeout=5.0).text
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "msc_http_request_duration_seconds_count"
                and labels.get("route") == "/healthz"
            ):
                return sample.value
    return 0.0


def test_two_processes_serve_the_socket_and_stop_together(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = _env(
        database_url,
        port,
        MSC_PI_SANDBOX="false",
        MSC_QRIS_MIDTRANS_API_URL="https://api.midtrans.com",
        MSC_DATA_DIR=str(tmp_path),
    )
    msc = Path(sys.executable).with_name("msc")
    process = subprocess.Popen(
        [str(msc), "serve", "--processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        spawned = _server_children(process.pid)
        assert len(spawned) == 1
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [client.get("/healthz").status_code for _ in range(requests_sent)]
        assert answers == [200] * requests_sent
        base = f"http://127.0.0.1:{port}"
        answered = {httpx.get(f"{base}/healthz").status_code for _ in range(requests_sent)}
        assert answered == {200}
        # Whichever process takes each scrape (a new connection each), it sums both processes.
        counts = {_healthz_count(base) for _ in range(6)}
        assert counts == {2 * requests_sent}
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=stop_timeout_s)
        assert not any(Path(f"/proc/{child}").exists() for child in spawned)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_more_processes_with_the_in_process_pi_sandbox_are_refused(database_url: str) -> None:
    port = free_port()
    msc = Path(sys.executable).with_name("msc")
    done = subprocess.run(
        [str(msc), "serve", "--processes", "2"],
        env=_env(database_url, port, MSC_PI_SANDBOX="true"),
        capture_output=True,
        timeout=ready_timeout_s,
        check=False,
    )
    assert done.returncode != 0
    assert b"--processes above 1" in done.stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
