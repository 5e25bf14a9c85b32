"""Pi use cases on a real PostgreSQL, with the Pi sandbox in-process behind the real clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from stellar_sdk import Keypair

from chain.pi.horizon import HorizonClient
from chain.pi.platform import PiPlatformClient
from chain.pi.sandbox.app import Sandbox, build_app, make_sandbox
from chain.pi.sandbox.client import SandboxDriver
from chain.pi.sandbox.inprocess import inprocess_client
from chain.pi.transport import HttpLimits, JsonTransport
from settlement.pi.deps import PiDeps

BASE = "http://pi-sandbox.test"
API_KEY = "test-server-key"
EXPIRY_MARGIN_S = 120


class FakeClock:
    """Seconds since the epoch, moved by tests; read by the service as a ``Clock`` (µs)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def now_us(self) -> int:
        """The ``escrow.clock.Clock`` reading."""
        return round(self.now * 1_000_000)


@dataclass
class PiWorld:
    sandbox: Sandbox
    driver: SandboxDriver
    deps: PiDeps
    app: Keypair
    clock: FakeClock


@pytest.fixture
def pi_world() -> Iterator[PiWorld]:
    app = Keypair.random()
    clock = FakeClock()
    sandbox = make_sandbox(
        api_key=API_KEY, app_address=app.public_key, app_balance_units=0, base_url=BASE, clock=clock
    )
    with inprocess_client(build_app(sandbox), BASE) as http:
        transport = JsonTransport(http, HttpLimits(attempts_max=2), sleep=lambda _s: None)
        deps = PiDeps(
            platform=PiPlatformClient(transport, BASE, API_KEY),
            chain=HorizonClient(transport, BASE),
            network="Pi Testnet",
            app_address=app.public_key,
            signer=app,
            clock=clock,
            a2u_expiry_margin_s=EXPIRY_MARGIN_S,
        )
        yield PiWorld(sandbox, SandboxDriver(http, BASE), deps, app, clock)
