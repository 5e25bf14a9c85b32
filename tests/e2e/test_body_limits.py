"""Hostile bodies and headers against a real uvicorn server in a subprocess (a crash must not
kill pytest).

Issue 9 item 6: web3 (through py_ecc) raised the recursion limit to 100000, so a 200 KB body of
nested arrays POSTed without authentication overflowed the C stack while JSON was parsed and the
process died with SIGSEGV; and bodies were read whole before anything refused them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.database import drop_database, fresh_database, worker_database_name
from tests.support.serving import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
ready_timeout_s = 30.0
answer_timeout_s = 10.0

SERVER = """
import sys
import uvicorn
from api.app import create_app
from settlement.bootstrap import build_container
from settlement.config import Settings

container = build_container(Settings(), sys.argv[1])
uvicorn.run(create_app(container), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@pytest.fixture(scope="module")
def server(
    database_server_url: str, worker_id: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    name = worker_database_name(worker_id) + "_body_limits"
    url = fresh_database(database_server_url, name)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "MSC_EVM_RPC_URL": f"http://127.0.0.1:{free_port()}",  # nothing there: no EVM
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, url, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}")
            try:
                httpx.get(base + "/healthz", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("server not up")
                time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)
        drop_database(database_server_url, name)


def test_deeply_nested_json_is_refused_and_the_server_lives(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = server
    depth = 100_000  # 200 KB of brackets: with the recursion limit at 100000 this segfaulted
    body = b"[" * depth + b"]" * depth
    try:
        reply = httpx.post(
            base + "/v1/pi/payments/incomplete",
            content=body,
            headers={"content-type": "application/json"},
            timeout=answer_timeout_s,
        )
    except httpx.HTTPError as error:
        time.sleep(0.5)
        pytest.fail(f"no answer ({error!r}); server exit code {process.poll()}")
    assert reply.status_code in (400, 413), reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] in ("json_too_deep", "request_body_too_large")
    assert httpx.get(base + "/healthz", timeout=answer_timeout_s).status_code == 200


def test_nesting_deeper_than_the_limit_within_the_size_cap_is_refused(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = server
    depth = 10_000  # 20 KB: under the body cap, far over the depth limit
    reply = httpx.post(
        base + "/v1/pi/payments/incomplete",
        content=b"[" * depth + b"]" * depth,
        headers={"content-type": "application/json"},
        timeout=answer_timeout_s,
    )
    assert process.poll() is None, f"server died with {process.returncode}"
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "json_too_deep"


def test_a_declared_huge_body_is_refused_before_it_is_sent(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Only the headers and a first kilobyte go out; the 413 must come without the rest."""
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    head = (
        b"POST /v1/pi/payments/incomplete HTTP/1.1\r\nHost: service\r\n"
        b"Content-Type: application/json\r\nContent-Length: 20000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=answer_timeout_s) as sock:
        sock.sendall(head + b" " * 1024)
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


def test_a_chunked_body_over_the_cap_is_refused(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """No Content-Length: the cap counts the bytes as they arrive."""
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    head = (
        b"POST /v1/pi/payments/incomplete HTTP/1.1\r\nHost: service\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (16 * 1024, b" " * (16 * 1024))
    with socket.create_connection(("127.0.0.1", port), timeout=answer_timeout_s) as sock:
        sock.sendall(head + chunk * 5)  # 80 KiB and no terminating chunk: the stream stays open
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("POST", "/v1/msc/withdrawals", "pi_unauthorized"),  # a Pioneer route: Pi is not asked
        ("GET", "/v1/merchants", "unauthenticated"),  # an API key route
    ],
)
def test_a_latin_1_credential_is_refused_and_the_server_lives(
    server: tuple[str, subprocess.Popen[bytes]], method: str, path: str, code: str
) -> None:
    """Bytes 0x80-0xFF in Authorization reach the app as Latin-1 text (the ASGI client in the
    schemathesis run cannot send them)."""
    base, process = server
    reply = httpx.request(
        method,
        base + path,
        headers={"Authorization": b"Bearer \x80\xff\xe9", "Idempotency-Key": "latin-1"},
        json={"amount": "1.00", "to_address": "0x" + "11" * 20},
        timeout=answer_timeout_s,
    )
    assert process.poll() is None, f"server died with {process.returncode}"
    assert reply.status_code == 401, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == code
