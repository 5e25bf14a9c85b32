"""Starting ``msc serve`` in a test: a free port to give it, and waiting until it answers."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pytest

ready_timeout_s = 60.0


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until ``url`` answers 200; the test fails if the process exits or ``ready_timeout_s``
    passes first."""
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
