"""The rate a quote is locked at: the median of the fresh readings, or a refusal (decision 0022).

Pure: given the readings (one per source), the time and the policy, ``decide`` answers the
median or raises ``RateRefused`` with a stable code:

- a reading is fresh when it has a price, was observed at most ``age_s_max`` ago (a treasury
  rate: until its ``valid_until``) and not more than ``observed_skew_s_max`` in the future;
- fewer than ``sources_min`` fresh readings: ``rate_stale`` when enough sources answered but too
  many answers were old, else ``rate_sources_insufficient``;
- the fresh readings spread (highest minus lowest) more than ``spread_bp_max`` basis points of
  their median: ``rate_spread_exceeded``;
- the median of an even count is the mean of the two middle prices rounded down: a lower Pi
  price is the ledger's side (a Pioneer selling Pi gets no more, a Pi leg asks no less Pi).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from escrow.calendar import US_PER_S
from escrow.refusals import Refusal
from settlement.rates.readings import Reading

BP = 10_000
observed_skew_s_max = 30
"""A source's clock may run this far ahead of ours; a reading further in the future is not fresh."""


class RateRefused(Refusal, LookupError):
    """No rate to quote at: nothing is quoted, nothing written but the readings."""

    code = "rate_unavailable"


age_s_max_default = 300
"""A reading older than this is stale unless configured otherwise (``MSC_RATES_AGE_S_MAX``)."""


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """When readings make a rate: how many fresh sources, how old, how far apart."""

    sources_min: int = 1
    age_s_max: int = age_s_max_default
    spread_bp_max: int = 500

    def __post_init__(self) -> None:
        if self.sources_min < 1 or self.age_s_max < 1 or not 0 <= self.spread_bp_max <= BP:
            raise ValueError(f"not a rate policy: {self}")


@dataclass(frozen=True, slots=True)
class MedianPrice:
    """The median ``price_units`` of the fresh ``used`` readings (oldest observation first)."""

    base: str
    quote: str
    price_units: int
    used: tuple[Reading, ...]

    @property
    def observed_at_us(self) -> int:
        """When the oldest reading used was observed: the quote is no fresher than that."""
        return min(r.observed_at_us or 0 for r in self.used)

    @property
    def source(self) -> str:
        """The one source's name, or ``median`` of several."""
        return self.used[0].source if len(self.used) == 1 else "median"


def is_fresh(reading: Reading, now_us: int, age_s_max: int) -> bool:
    """Whether ``reading`` holds a price fresh enough to quote at ``now_us``."""
    if reading.price_units is None or reading.observed_at_us is None:
        return False
    if reading.observed_at_us > now_us + observed_skew_s_max * US_PER_S:
        return False
    until_us = reading.valid_until_us
    if until_us is None:
        until_us = reading.observed_at_us + age_s_max * US_PER_S
    return now_us <= until_us


def median_units(prices: Sequence[int]) -> int:
    """The median of ``prices``; of an even count, the two middle ones' mean rounded down."""
    if not prices:
        raise ValueError("no median of nothing")
    ordered = sorted(prices)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


def spread_bp_exceeds(prices: Sequence[int], median: int, spread_bp_max: int) -> bool:
    """Whether (highest - lowest) / median is over ``spread_bp_max`` basis points (exact)."""
    return (max(prices) - min(prices)) * BP > spread_bp_max * median


def decide(
    readings: Sequence[Reading], now_us: int, policy: RatePolicy, base: str, quote: str
) -> MedianPrice:
    """The median of the fresh readings for base/quote, or ``RateRefused`` (module docstring)."""
    mine = [r for r in readings if (r.base, r.quote) == (base, quote)]
    fresh = [r for r in mine if is_fresh(r, now_us, policy.age_s_max)]
    if len(fresh) < policy.sources_min:
        answered = sum(1 for r in mine if r.price_units is not None)
        said = ", ".join(
            f"{r.source}: {r.failure or ('fresh' if r in fresh else 'stale')}" for r in mine
        )
        shown = (
            f"{len(fresh)} fresh {base}/{quote} readings of {policy.sources_min} needed"
            f" ({said or 'no source'})"
        )
        if answered >= policy.sources_min:
            raise RateRefused(shown, code="rate_stale")
        raise RateRefused(shown, code="rate_sources_insufficient")
    prices = [r.price_units for r in fresh if r.price_units is not None]
    median = median_units(prices)
    if spread_bp_exceeds(prices, median, policy.spread_bp_max):
        raise RateRefused(
            f"{base}/{quote} sources disagree: {min(prices)} to {max(prices)} around {median},"
            f" over {policy.spread_bp_max} bp",
            code="rate_spread_exceeded",
        )
    used = tuple(sorted(fresh, key=lambda r: (r.observed_at_us or 0, r.id)))
    return MedianPrice(base, quote, median, used)
