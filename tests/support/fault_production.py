"""``MSC_ENV=production`` on the real stack, its guards untouched: fresh secrets of production's
strength, and the outside world as production meets it, over HTTP on loopback.

Production refuses the Pi sandbox *mode* (``MSC_PI_SANDBOX``), not Pi's API: with the mode off
the service speaks the Pi Platform API and Horizon over HTTP at ``MSC_PI_API_URL`` and
``MSC_PI_HORIZON_URL``, which here are the test's Pi sandbox server, holding this deployment's
API key and app wallet. Midtrans' status API is the test's Midtrans server under this key; the
price of Pi comes from two HTTP JSON sources of the test's own (production asks for at least
two); the EVM node is an anvil on a chain id that is not anvil's default, the service's key
funded there and blocks mined every ``block_interval_s`` so that production's two
confirmations come; the transparency log's note key is a file, as production asks.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from stellar_sdk import Keypair

from chain.rates.sandbox import OBSERVED_FIELD, PRICE_FIELD, RateSandbox, build_rates_sandbox_app
from settlement.audit.note import generate_signer
from settlement.config import Settings, production_confirmations_min
from tests.support.asgi_server import serving

CHAIN_ID = 7_305_001
"""Any chain id but anvil's 31337, which production refuses."""
IDR_PER_PI_UNITS = 500_000  # Rp 5,000.00 a Pi, from both sources
block_interval_s = 0.25
service_key_balance_wei = 10**21


def _secret() -> str:
    return secrets.token_urlsafe(32)  # 43 characters: over production's 32-byte floor


@dataclass(frozen=True)
class Production:
    """This deployment's secrets, generated fresh (none is a development default)."""

    operator_token: str = field(default_factory=_secret)
    pseudonym_key: str = field(default_factory=_secret)
    pi_api_key: str = field(default_factory=_secret)
    pi_wallet: Keypair = field(default_factory=Keypair.random)
    midtrans_key: str = field(default_factory=_secret)
    xendit_token: str = field(default_factory=_secret)
    evm_account: LocalAccount = field(default_factory=Account.create)

    @property
    def operator(self) -> dict[str, str]:
        """The treasury's bearer header."""
        return {"Authorization": f"Bearer {self.operator_token}"}

    def env(self, rate_urls: list[str], note_key: Path) -> dict[str, str]:
        """The service's production settings (besides its database and the URLs)."""
        sources = [
            {"name": f"exchange-{n}", "url": url, "field": PRICE_FIELD,
             "observed_field": OBSERVED_FIELD}
            for n, url in enumerate(rate_urls, start=1)
        ]  # fmt: skip
        return {
            "MSC_ENV": "production",
            "MSC_PI_SANDBOX": "false",
            "MSC_PI_API_KEY": self.pi_api_key,
            "MSC_PI_WALLET_SECRET": self.pi_wallet.secret,
            "MSC_OPERATOR_TOKEN": self.operator_token,
            "MSC_PSEUDONYM_KEY": self.pseudonym_key,
            "MSC_QRIS_MIDTRANS_SERVER_KEY": self.midtrans_key,
            "MSC_QRIS_XENDIT_CALLBACK_TOKEN": self.xendit_token,
            "MSC_EVM_CHAIN_ID": str(CHAIN_ID),
            "MSC_EVM_PRIVATE_KEY": self.evm_account.key.hex(),
            "MSC_EVM_CONFIRMATIONS": str(production_confirmations_min),
            "MSC_RATES_SOURCES": json.dumps(sources),
            "MSC_RATES_SOURCES_MIN": str(len(sources)),
            "MSC_TLOG_NOTE_KEY_FILE": str(note_key),
        }


def _rpc(url: str, method: str, params: list[object]) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = httpx.post(url, json=body, timeout=5.0).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")


@contextmanager
def mining(node_url: str) -> Iterator[None]:
    """A block every ``block_interval_s`` (anvil mines one a transaction; the confirmations
    production waits for need more)."""
    done = threading.Event()

    def tick() -> None:
        while not done.wait(block_interval_s):
            try:
                _rpc(node_url, "evm_mine", [])
            except httpx.HTTPError:
                return  # the node is gone: the stack is closing

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextmanager
def production_edges(
    production: Production, node_url: str, log_dir: Path
) -> Iterator[dict[str, str]]:
    """Two price sources on loopback ports, the note key file, the service key funded, blocks
    mined; yields the service's production settings."""
    note_key = log_dir / "note.key"
    note_key.write_text(generate_signer(Settings().tlog_origin).encode(), encoding="ascii")
    note_key.chmod(0o600)
    _rpc(node_url, "anvil_setBalance", [production.evm_account.address,
                                        hex(service_key_balance_wei)])  # fmt: skip
    with ExitStack() as stack:
        urls = [
            stack.enter_context(serving(build_rates_sandbox_app(RateSandbox(IDR_PER_PI_UNITS))))
            + "/price"
            for _ in range(2)
        ]
        stack.enter_context(mining(node_url))
        yield production.env(urls, note_key)
