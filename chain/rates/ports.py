"""What a price source offers: one observed price of a whole base unit in the quote asset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PriceObservation:
    """``price_units`` smallest units of ``quote`` for one whole ``base`` (sen per 1 PI), seen
    at ``observed_at_us`` by ``source``."""

    base: str
    quote: str
    price_units: int
    observed_at_us: int
    source: str


class RateSource(Protocol):
    """A source of prices; may do I/O, so callers ask it before they lock anything."""

    @property
    def name(self) -> str:
        """The source's name, recorded with every quote."""
        ...

    def price(self, base: str, quote: str) -> PriceObservation:
        """The current price of one ``base`` in ``quote``; ``RateUnavailable`` if none."""
        ...


class RateUnavailable(Exception):
    """The source has no price for this pair now."""
