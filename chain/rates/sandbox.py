"""A fixed-price source for the demo, the sandbox and tests (``MSC_RATES_SANDBOX_IDR_PER_PI``)."""

from __future__ import annotations

from dataclasses import dataclass

from chain.rates.ports import PriceObservation, RateUnavailable
from escrow.clock import Clock


@dataclass(frozen=True, slots=True)
class SandboxRateSource:
    """Always the configured price of 1 PI in IDR, observed now on ``clock``."""

    idr_units_per_pi: int
    clock: Clock
    name: str = "sandbox"

    def price(self, base: str, quote: str) -> PriceObservation:
        """The configured Pi price in sen; only PI/IDR is known."""
        if (base, quote) != ("PI", "IDR"):
            raise RateUnavailable(f"the sandbox prices PI in IDR only, not {base}/{quote}")
        return PriceObservation(base, quote, self.idr_units_per_pi, self.clock.now_us(), self.name)
