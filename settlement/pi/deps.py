"""What the Pi use cases need from outside, as interfaces (wired in settlement/bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from stellar_sdk import Keypair

from chain.pi.ports import PiChain, PiPlatform
from escrow.clock import Clock, SystemClock
from settlement.rates.panel import RatePanel


@dataclass(frozen=True)
class PiDeps:
    """The Platform API, the chain, and this deployment's network and app wallet."""

    platform: PiPlatform
    chain: PiChain
    network: str
    app_address: str
    signer: Keypair | None = None
    clock: Clock = field(default_factory=SystemClock)
    """The ledger's clock (µs since the epoch); Stellar's unix seconds are ``now_us // 10**6``."""
    a2u_expiry_margin_s: int = field(kw_only=True)
    """How long after an A2U transaction's time bound it may still show up on Horizon (clock
    skew, ingestion lag); only then is a payout whose transaction is not found given up."""
    rates: RatePanel | None = field(default=None, kw_only=True)
    """The rate panel that requotes a conversion paid after its quote expired (None: such a
    payment is refunded)."""
