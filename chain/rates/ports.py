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
        """The source's name, recorded with every reading and quote."""
        ...

    def price(self, base: str, quote: str) -> PriceObservation:
        """The current price of one ``base`` in ``quote``; ``RateUnavailable`` if none."""
        ...


SOURCE_UNREACHABLE = "source_unreachable"
SOURCE_TIMEOUT = "source_timeout"
SOURCE_STATUS = "source_status"
SOURCE_TOO_LARGE = "source_too_large"
SOURCE_BAD_JSON = "source_bad_json"
SOURCE_FIELD_MISSING = "source_field_missing"
SOURCE_VALUE_INVALID = "source_value_invalid"
SOURCE_PAIR_UNKNOWN = "source_pair_unknown"
FAILURES = frozenset(
    {
        SOURCE_UNREACHABLE,
        SOURCE_TIMEOUT,
        SOURCE_STATUS,
        SOURCE_TOO_LARGE,
        SOURCE_BAD_JSON,
        SOURCE_FIELD_MISSING,
        SOURCE_VALUE_INVALID,
        SOURCE_PAIR_UNKNOWN,
    }
)
"""Why a source gave no price: stored with the failed reading (``rate_readings.failure``)."""


class RateUnavailable(Exception):
    """The source has no price for this pair now; ``reason`` is one of ``FAILURES``."""

    def __init__(self, detail: str, reason: str = SOURCE_PAIR_UNKNOWN) -> None:
        super().__init__(detail)
        self.reason = reason
