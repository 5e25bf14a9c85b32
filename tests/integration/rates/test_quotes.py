"""Rates and firm quotes on PostgreSQL, with HTTP JSON sources answered by the rates sandbox:
every reading is stored, a quote locks the median of the fresh ones and names them, and a stale,
missing, wild or down source refuses with its stable code and quotes nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Connection, text

from chain.pi.sandbox.inprocess import SyncASGITransport
from chain.rates.http import HttpJsonSource, HttpSourceSpec
from chain.rates.ports import PriceObservation
from chain.rates.sandbox import (
    OBSERVED_FIELD,
    PRICE_FIELD,
    RateSandbox,
    SandboxMode,
    build_rates_sandbox_app,
)
from escrow.clock import FixedClock
from settlement import parameters
from settlement.rates import panel as rate_panel
from settlement.rates import readings
from settlement.rates.firm import QuoteRefused, find_firm_quote, firm_quote, require_live, sep38
from settlement.rates.median import RatePolicy, RateRefused
from settlement.rates.panel import RatePanel
from settlement.rates.quotes import find_quote
from settlement.rates.readings import enter_treasury_rate
from settlement.unit_of_work import UnitOfWork, bind

pytestmark = pytest.mark.integration
NOW_US = 1_900_000_000 * 1_000_000
TTL_S = 120
RP_5000 = 500_000


class Upstream:
    """Sandboxes by name behind one in-process HTTP client, and sources reading them."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.sandboxes: dict[str, RateSandbox] = {}
        self._mounts: dict[str, httpx.BaseTransport] = {}

    def add(self, name: str, units: int) -> RateSandbox:
        sandbox = RateSandbox(units, self.clock)
        self.sandboxes[name] = sandbox
        self._mounts[f"http://{name}.test"] = SyncASGITransport(build_rates_sandbox_app(sandbox))
        return sandbox

    def panel(self, policy: RatePolicy, reuse_s: int = 0) -> RatePanel:
        client = httpx.Client(mounts=self._mounts)
        sources = tuple(
            HttpJsonSource(
                HttpSourceSpec(
                    name, f"http://{name}.test/price", PRICE_FIELD, False, OBSERVED_FIELD
                ),
                client,
                self.clock,
            )
            for name in self.sandboxes
        )
        return RatePanel(sources, policy, reuse_s)


@pytest.fixture
def upstream() -> Upstream:
    return Upstream(FixedClock(NOW_US))


def _uow(conn: Connection, upstream: Upstream) -> UnitOfWork:
    return bind(conn, upstream.clock)


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _effects(conn: Connection) -> tuple[int, ...]:
    return tuple(_count(conn, t) for t in ("rate_quotes", "firm_quotes", "transfers", "outbox"))


def test_a_pioneer_sells_ten_pi_for_msc_at_the_median_less_the_spread(
    db_conn: Connection, upstream: Upstream
) -> None:
    upstream.add("alpha", 500_000)
    upstream.add("beta", 501_000)
    upstream.add("gamma", 510_000)
    uow = _uow(db_conn, upstream)
    parameters.set_(uow, parameters.QUOTE_SPREAD_BP, 100, "treasury:test")
    panel = upstream.panel(RatePolicy(sources_min=3, age_s_max=300, spread_bp_max=500))

    quote = firm_quote(
        uow, panel, requested_by="pioneer:p1", sell_asset="PI", buy_asset="MSC",
        sell_units=100_000_000, ttl_s=TTL_S,
    )  # fmt: skip

    assert quote.rate.price_units == 501_000  # the median of 5000, 5010, 5100
    assert quote.rate.source == "median"
    assert quote.fee_units == 1_000_000  # 1 % of 10 PI, in Pi
    assert quote.buy_units == 4_959_900  # 9.9 PI x Rp 5.010 = Rp 49.599
    assert sum(d.units for d in quote.fee_details) == quote.fee_units
    view = sep38(quote)
    assert (view["sell_amount"], view["buy_amount"], view["fee"]["total"]) == (
        "10.0000000", "49599.00", "0.1000000",
    )  # fmt: skip
    assert view["fee"]["asset"] == "PI"
    used = db_conn.execute(
        text("SELECT source, price_units, observed_at IS NOT NULL AS seen FROM rate_readings"
             " WHERE id = ANY(:ids) ORDER BY source"),
        {"ids": list(quote.rate.reading_ids)},
    ).all()  # fmt: skip
    assert [tuple(row) for row in used] == [
        ("alpha", 500_000, True), ("beta", 501_000, True), ("gamma", 510_000, True),
    ]  # fmt: skip

    upstream.clock.advance(TTL_S + 1)
    kept = find_firm_quote(db_conn, quote.id)
    assert kept == quote  # held and readable after it expired
    with pytest.raises(QuoteRefused) as expired:
        require_live(kept, upstream.clock.now_us())
    assert expired.value.code == "quote_expired"


def test_buying_an_amount_of_msc_quotes_the_pi_to_sell(
    db_conn: Connection, upstream: Upstream
) -> None:
    upstream.add("alpha", RP_5000)
    uow = _uow(db_conn, upstream)
    parameters.set_(uow, parameters.QUOTE_SPREAD_BP, 0, "treasury:test")
    quote = firm_quote(
        uow, upstream.panel(RatePolicy()), requested_by="pioneer:p1", sell_asset="PI",
        buy_asset="MSC", buy_units=1_000_000, ttl_s=TTL_S,
    )  # fmt: skip
    assert (quote.given, quote.sell_units, quote.buy_units, quote.fee_units) == (
        "buy", 20_000_000, 1_000_000, 0,
    )  # fmt: skip
    assert find_quote(db_conn, quote.id) == quote.rate


def test_the_treasury_rate_is_one_more_source(db_conn: Connection, upstream: Upstream) -> None:
    upstream.add("alpha", RP_5000)
    uow = _uow(db_conn, upstream)
    panel = upstream.panel(RatePolicy(sources_min=2, age_s_max=60, spread_bp_max=500))
    with pytest.raises(RateRefused) as alone:
        rate_panel.current_price(uow, panel, "PI", "IDR")
    assert alone.value.code == "rate_sources_insufficient"
    officer = enter_treasury_rate(uow, "PI", "IDR", 502_000, 3600, "treasury:officer")
    upstream.clock.advance(600)  # older than age_s_max, but within the officer's validity
    median = rate_panel.current_price(uow, panel, "PI", "IDR")
    assert median.price_units == 501_000  # (5000 + 5020) / 2
    assert officer.id in {r.id for r in median.used}
    row = db_conn.execute(
        text("SELECT entered_by, valid_until > observed_at FROM rate_readings WHERE id = :id"),
        {"id": officer.id},
    ).one()
    assert tuple(row) == ("treasury:officer", True)


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        (SandboxMode.STALE, "rate_stale"),
        (SandboxMode.MISSING, "rate_sources_insufficient"),
        (SandboxMode.DOWN, "rate_sources_insufficient"),
        (SandboxMode.WILD, "rate_spread_exceeded"),
    ],
)
def test_a_misbehaving_source_quotes_nothing_and_its_reading_is_kept(
    db_conn: Connection, upstream: Upstream, mode: SandboxMode, code: str
) -> None:
    upstream.add("alpha", RP_5000)
    upstream.add("beta", RP_5000).set_mode(mode)
    uow = _uow(db_conn, upstream)
    panel = upstream.panel(RatePolicy(sources_min=2, age_s_max=300, spread_bp_max=500))
    before, readings = _effects(db_conn), _count(db_conn, "rate_readings")
    with pytest.raises(RateRefused) as refused:
        firm_quote(
            uow, panel, requested_by="pioneer:p1", sell_asset="PI", buy_asset="MSC",
            sell_units=10_000_000, ttl_s=TTL_S,
        )  # fmt: skip
    assert refused.value.code == code
    assert _effects(db_conn) == before  # nothing quoted, posted or queued
    assert _count(db_conn, "rate_readings") == readings + 2  # both readings are stored
    beta = db_conn.execute(
        text("SELECT price_units, failure FROM rate_readings WHERE source = 'beta'"
             " ORDER BY id DESC LIMIT 1")
    ).one()  # fmt: skip
    expected = {
        SandboxMode.STALE: (RP_5000, None),
        SandboxMode.MISSING: (None, "source_field_missing"),
        SandboxMode.DOWN: (None, "source_status"),
        SandboxMode.WILD: (RP_5000 * 10, None),
    }[mode]
    assert tuple(beta) == expected


def test_a_reading_is_reused_within_the_window_then_asked_again(
    db_conn: Connection, upstream: Upstream
) -> None:
    sandbox = upstream.add("alpha", RP_5000)
    uow = _uow(db_conn, upstream)
    panel = upstream.panel(RatePolicy(), reuse_s=30)
    first = rate_panel.current_price(uow, panel, "PI", "IDR")
    sandbox.set_price(510_000)
    upstream.clock.advance(30)
    again = rate_panel.current_price(uow, panel, "PI", "IDR")
    assert (again.price_units, again.used) == (RP_5000, first.used)
    upstream.clock.advance(1)
    assert rate_panel.current_price(uow, panel, "PI", "IDR").price_units == 510_000


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"sell_asset": "MSC", "buy_asset": "PI", "sell_units": 100}, "quote_pair_unsupported"),
        ({"sell_units": 100, "buy_units": 100}, "quote_amount_invalid"),
        ({}, "quote_amount_invalid"),
        ({"sell_units": 0}, "quote_amount_invalid"),
        ({"sell_units": 1}, "quote_amount_too_small"),  # 1e-7 PI buys no sen
    ],
)
def test_a_quote_that_cannot_be_made_is_refused_with_nothing_written(
    db_conn: Connection, upstream: Upstream, changes: dict[str, object], code: str
) -> None:
    upstream.add("alpha", RP_5000)
    before = _effects(db_conn)
    asked: dict[str, object] = {"sell_asset": "PI", "buy_asset": "MSC", **changes}
    with pytest.raises(QuoteRefused) as refused:
        firm_quote(
            _uow(db_conn, upstream), upstream.panel(RatePolicy()), requested_by="pioneer:p1",
            ttl_s=TTL_S, **asked,  # type: ignore[arg-type]
        )  # fmt: skip
    assert refused.value.code == code
    assert _effects(db_conn)[1:] == before[1:]  # no firm quote, transfer or message
    assert find_firm_quote(db_conn, uuid.uuid4()) is None


def test_latest_of_answers_each_sources_newest_reading_in_the_order_asked(
    db_conn: Connection,
) -> None:
    """One statement for the panel's sources: the newest by fetch time (the higher id on a tie)
    of each, only its own pair, none for a source never read."""
    seen = [
        ("b", "PI", "IDR", 100, 10),
        ("a", "PI", "IDR", 200, 30),
        ("a", "PI", "IDR", 300, 20),
        ("a", "PI", "MSC", 400, 90),
        ("b", "PI", "IDR", 500, 10),
    ]
    for source, base, quote, units, fetched_s in seen:
        observation = PriceObservation(base, quote, units, NOW_US, source)
        readings.record_observation(db_conn, observation, NOW_US + fetched_s * 1_000_000, source)
    found = readings.latest_of(db_conn, ["b", "never", "a"], "PI", "IDR")
    assert [(r.source, r.price_units) for r in found] == [("b", 500), ("a", 200)]
