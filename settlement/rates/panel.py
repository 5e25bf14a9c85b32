"""The panel of rate sources: asks each configured source, stores every reading, and answers the
median of the fresh ones (``settlement.rates.median``).

A source is asked at most once per ``reuse_s``: a reading fetched within that window (by the
worker's poll or an earlier quote) is used again instead of asking once more, so quotes under load
cost no network I/O while the worker polls. The treasury's rate is read from its stored reading,
never fetched. Sources are asked before any row is locked. A reading is an observation, true
whatever the quote it was fetched for becomes: with ``readings_engine`` (the service's wiring) it
is committed in a transaction of its own, so a refused quote keeps the readings that refused it;
without (tests on a rolled-back connection) it is written in the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Connection, Engine

from chain.rates.ports import RateSource, RateUnavailable
from escrow.calendar import US_PER_S, iso_of_us
from escrow.money import asset, format_amount
from settlement.rates import readings
from settlement.rates.median import MedianPrice, RatePolicy, RateRefused, decide, is_fresh
from settlement.rates.readings import TREASURY_SOURCE, Reading
from settlement.unit_of_work import UnitOfWork, in_transaction

log = structlog.get_logger(__name__)
PAIRS = (("PI", "IDR"),)
"""The pairs the panel prices (MSC is priced 1:1 with IDR, so PI/IDR serves PI/MSC)."""


@dataclass(frozen=True, slots=True)
class RatePanel:
    """The configured sources, the policy their readings must meet, and how long a reading is
    reused before its source is asked again (``reuse_s``, 0 = always ask)."""

    sources: tuple[RateSource, ...]
    policy: RatePolicy = field(default_factory=RatePolicy)
    reuse_s: int = 0
    readings_engine: Engine | None = None

    def __post_init__(self) -> None:
        names = [source.name for source in self.sources]
        if len(set(names)) != len(names) or TREASURY_SOURCE in names:
            raise ValueError(f"source names are unique and not {TREASURY_SOURCE!r}: {names}")


def ask(uow: UnitOfWork, panel: RatePanel, source: RateSource, base: str, quote: str) -> Reading:
    """Ask ``source`` now and store what it said (a price or the failure)."""
    try:
        seen = source.price(base, quote)
    except RateUnavailable as failed:
        log.info("rate_source_failed", source=source.name, reason=failed.reason, detail=str(failed))
        unavailable, fetched_us = failed, uow.clock.now_us()
    else:
        fetched_us = uow.clock.now_us()
        return _store(
            uow,
            panel,
            lambda conn: readings.record_observation(conn, seen, fetched_us, source.name),
        )
    return _store(
        uow,
        panel,
        lambda conn: readings.record_failure(
            conn, source.name, base, quote, unavailable, fetched_us
        ),
    )


def _store(uow: UnitOfWork, panel: RatePanel, write: Callable[[Connection], Reading]) -> Reading:
    """Write a reading on its own committed transaction, or in ``uow`` without an engine."""
    if panel.readings_engine is None:
        return write(uow.conn)
    return in_transaction(panel.readings_engine, write)


def observe(uow: UnitOfWork, panel: RatePanel, base: str, quote: str) -> list[Reading]:
    """One reading per source (reused within ``reuse_s``, else asked now) and the treasury's."""
    now_us = uow.clock.now_us()
    reusable = [source.name for source in panel.sources] if panel.reuse_s else []
    kept = {
        r.source: r for r in readings.latest_of(uow.conn, [*reusable, TREASURY_SOURCE], base, quote)
    }
    found: list[Reading] = []
    for source in panel.sources:
        reading = kept.get(source.name)
        if reading is not None and now_us - reading.fetched_at_us <= panel.reuse_s * US_PER_S:
            found.append(reading)
        else:
            found.append(ask(uow, panel, source, base, quote))
    treasury = kept.get(TREASURY_SOURCE)
    if treasury is not None:
        found.append(treasury)
    return found


def poll(uow: UnitOfWork, panel: RatePanel) -> list[Reading]:
    """Ask every source for every pair now (the worker's job), storing each reading."""
    return [
        ask(uow, panel, source, base, quote) for base, quote in PAIRS for source in panel.sources
    ]


def current_price(uow: UnitOfWork, panel: RatePanel, base: str, quote: str) -> MedianPrice:
    """The median of the fresh readings for the pair now, or ``RateRefused`` (stable codes)."""
    return decide(observe(uow, panel, base, quote), uow.clock.now_us(), panel.policy, base, quote)


def describe(found: Sequence[Reading], now_us: int, policy: RatePolicy) -> list[dict[str, object]]:
    """The readings as rows for operators (``msc rate show``, ``GET /v1/rates``)."""

    return [
        {
            "source": r.source,
            "price": None
            if r.price_units is None
            else format_amount(r.price_units, asset(r.quote).scale),
            "fresh": is_fresh(r, now_us, policy.age_s_max),
            "failure": r.failure,
            "observed_at": iso_of_us(r.observed_at_us),
            "fetched_at": iso_of_us(r.fetched_at_us),
            "valid_until": iso_of_us(r.valid_until_us),
            "entered_by": r.entered_by,
            "reading_id": r.id,
        }
        for r in found
    ]


def stored(conn: Connection, panel: RatePanel, base: str, quote: str) -> list[Reading]:
    """The newest stored reading of each source and the treasury's, asking no source."""
    names = [source.name for source in panel.sources] + [TREASURY_SOURCE]
    return readings.latest_of(conn, names, base, quote)


def state(
    found: Sequence[Reading], now_us: int, policy: RatePolicy, base: str, quote: str
) -> dict[str, object]:
    """What the panel would quote now from ``found``: the median or the refusal, and each
    reading (``msc rate show``, ``GET /v1/rates``)."""
    answer: dict[str, object] = {"base_asset": base, "quote_asset": quote}
    try:
        median = decide(found, now_us, policy, base, quote)
    except RateRefused as refused:
        answer |= {"price": None, "refusal": refused.code, "detail": refused.detail}
    else:
        price = format_amount(median.price_units, asset(quote).scale)
        answer |= {"price": price, "refusal": None, "detail": None, "source": median.source}
    answer["policy"] = {
        "sources_min": policy.sources_min,
        "age_s_max": policy.age_s_max,
        "spread_bp_max": policy.spread_bp_max,
    }
    answer["readings"] = describe(found, now_us, policy)
    return answer
