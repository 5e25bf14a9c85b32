"""A local anvil node (from contracts/node_modules) for tests and the embedded default."""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx
from eth_account import Account

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
ENSURE_NODE_DEPS = PROJECT_ROOT / "scripts" / "lib" / "ensure-node-deps"

start_timeout_s = 30.0
stop_timeout_s = 10.0
poll_interval_s = 0.05

ANVIL_CHAIN_ID = 31337
"""anvil's default chain id."""

_LISTENING = re.compile(r"Listening on ([0-9.]+):(\d+)")
_PLATFORM_PACKAGES = {
    ("linux", "x86_64"): "anvil-linux-amd64",
    ("linux", "aarch64"): "anvil-linux-arm64",
    ("darwin", "x86_64"): "anvil-darwin-amd64",
    ("darwin", "arm64"): "anvil-darwin-arm64",
}


class AnvilError(RuntimeError):
    """anvil is missing, did not start, or stopped unexpectedly."""


def anvil_binary(contracts_dir: Path = CONTRACTS_DIR) -> Path:
    """The native anvil binary of the pinned npm package (no Node wrapper: signals reach anvil)."""
    key = (sys.platform, platform.machine().lower())
    package = _PLATFORM_PACKAGES.get(key)
    if package is None:
        raise AnvilError(f"no anvil build for platform {key}")
    binary = contracts_dir / "node_modules" / "@foundry-rs" / package / "bin" / "anvil"
    if not binary.is_file():
        raise AnvilError(f"{binary} missing: run {ENSURE_NODE_DEPS}")
    return binary


def ensure_node_deps() -> None:
    """Install the pinned contracts toolchain when missing (npm ci in contracts/)."""
    subprocess.run([str(ENSURE_NODE_DEPS)], check=True)  # noqa: S603 - our own script, fixed path


class AnvilNode:
    """One anvil process on a free local port; optional state file persisted across restarts."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        chain_id: int = ANVIL_CHAIN_ID,
        log_file: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._state_file = state_file
        self._chain_id = chain_id
        self._log_file = log_file
        self._host = host
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        """Start anvil and return its HTTP RPC URL once it answers."""
        binary = anvil_binary()
        args = [str(binary), "--host", self._host, "--port", str(self._port)]
        args += ["--chain-id", str(self._chain_id)]
        if self._state_file is not None:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--state", str(self._state_file)]
        log_path = self._log_file or _temp_log_path()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = self._await_listening(log_path)
        return self.url

    def stop(self) -> None:
        """Stop anvil gracefully (SIGTERM: it dumps --state on exit), then forcefully if needed."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=stop_timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _await_listening(self, log_path: Path) -> str:
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise AnvilError(f"anvil exited at start: {_tail(log_path)}")
            match = _LISTENING.search(log_path.read_text(errors="replace"))
            if match is not None:
                url = f"http://{match.group(1)}:{match.group(2)}"
                if _answers(url):
                    return url
            time.sleep(poll_interval_s)
        self.stop()
        raise AnvilError(f"anvil did not start within {start_timeout_s} s: {_tail(log_path)}")


def _answers(url: str) -> bool:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        return httpx.post(url, json=body, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _temp_log_path() -> Path:
    handle, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
    os.close(handle)
    return Path(name)


def _tail(log_path: Path, chars: int = 2000) -> str:
    return log_path.read_text(errors="replace")[-chars:]


dev_key_balance_wei = 10**21
"""1000 test ether: what a fresh local service key is given on anvil."""


def ensure_local_dev_key(key_file: Path, rpc_url: str) -> str:
    """A random service key for the local anvil, kept in ``key_file`` (0600) and funded there.

    Local only: refuses any chain but anvil's, so no key is ever generated for a real network.
    """
    if _rpc(rpc_url, "eth_chainId", []) != hex(ANVIL_CHAIN_ID):
        raise AnvilError(f"{rpc_url} is not a local anvil (chain id {ANVIL_CHAIN_ID})")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(Account.create().key.hex() + "\n")
    address = str(Account.from_key(key_file.read_text(encoding="ascii").strip()).address)
    if int(str(_rpc(rpc_url, "eth_getBalance", [address, "latest"])), 16) < dev_key_balance_wei:
        _rpc(rpc_url, "anvil_setBalance", [address, hex(dev_key_balance_wei)])
    return address


def _rpc(url: str, method: str, params: list[object]) -> object:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = httpx.post(url, json=body, timeout=5.0).json()
    if "error" in answer:
        raise AnvilError(f"{method}: {answer['error']}")
    return answer["result"]
