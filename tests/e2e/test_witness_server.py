"""``msc-audit witness serve`` over real HTTP on loopback: keys made with ``msc-audit keygen``,
a growing log cosigned, a stale size answered 409 with the size, a forked tree refused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settlement.audit import merkle
from settlement.audit.checkpoint import Checkpoint
from settlement.audit.consistency import consistency_proof
from settlement.audit.note import parse_signer, parse_vkey, sign_note
from settlement.audit.witness import encode_request, read_cosignature
from tests.support.serving import free_port, wait_ready

pytestmark = pytest.mark.e2e
ORIGIN = "madiun.go.id/msc/transfers"
MSC_AUDIT = [
    sys.executable,
    "-c",
    "import sys; from settlement.audit.cli import main; sys.exit(main())",
]


def _keygen(tmp_path: Path, name: str, *flags: str) -> tuple[Path, str]:
    out = tmp_path / (name.replace("/", "_") + ".key")
    done = subprocess.run(
        [*MSC_AUDIT, "keygen", "--name", name, "--out", str(out), *flags],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out, done.stdout.strip()


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    log_key, log_vkey = _keygen(tmp_path, ORIGIN)
    witness_key, witness_vkey = _keygen(tmp_path, "witness.example/w1", "--witness")
    port = free_port()
    process = subprocess.Popen(
        [
            *MSC_AUDIT,
            "witness",
            "serve",
            "--key",
            str(witness_key),
            "--log",
            log_vkey,
            "--state",
            str(tmp_path / "state.json"),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + "/", process)
        yield url, witness_vkey, log_key
    finally:
        process.terminate()
        process.wait(timeout=10)


def _leaves(n: int, tag: bytes = b"") -> list[bytes]:
    return [merkle.leaf_hash(tag + i.to_bytes(4, "big")) for i in range(n)]


def test_a_witness_over_http(witness: tuple[str, str, Path]) -> None:
    url, witness_vkey, log_key = witness
    signer = parse_signer(log_key.read_text())
    key = parse_vkey(witness_vkey)

    def submit(old: int, hashes: list[bytes]) -> tuple[str, httpx.Response]:
        text = Checkpoint(ORIGIN, len(hashes), merkle.root_of_hashes(hashes)).text()
        proof = []
        if old:
            proof = consistency_proof(
                old, len(hashes), lambda a, b: merkle.root_of_hashes(hashes[a:b])
            )
        body = encode_request(old, proof, sign_note(text, signer).encode())
        return text, httpx.post(url + "/add-checkpoint", content=body, timeout=10)

    text, reply = submit(0, _leaves(3))
    assert reply.status_code == 200, reply.text
    _, cosignature = read_cosignature(reply.content, text, key)
    assert cosignature.timestamp > 0
    text, reply = submit(3, _leaves(40))
    assert reply.status_code == 200, reply.text
    _, reply = submit(3, _leaves(50))
    assert (reply.status_code, reply.text, reply.headers["content-type"]) == (
        409,
        "40\n",
        "text/x.tlog.size",
    )
    _, reply = submit(40, _leaves(40, b"fork") + _leaves(10))
    assert reply.status_code == 422
    assert "not consistent with the cosigned size 40" in reply.text
    assert httpx.post(url + "/elsewhere", content=b"x", timeout=10).status_code == 404
