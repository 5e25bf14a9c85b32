"""A firm quote's amounts (decision 0022): the fee is the spread rounded up, the MSC bought is
rounded down, buying an amount costs at least its price, and the SEP-38 view's fee details sum
to its total and its prices agree with its amounts."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from escrow.money import MSC, PI
from settlement.rates.firm import FeeDetail, FirmQuote, price_buy, price_sell, sep38
from settlement.rates.quotes import Quote

rates = st.integers(1, 10**9)
"""Sen per 1 PI: Rp 0.01 up to Rp 10,000,000."""
spreads = st.integers(0, 1000)
sells = st.integers(1, 10**14)
buys = st.integers(1, 10**12)
PI_UNIT = 10**PI.scale


@given(sells, rates, spreads)
def test_selling_pi_rounds_the_fee_up_and_the_msc_down(sell: int, rate: int, bp: int) -> None:
    priced = price_sell(sell, rate, bp, PI.scale)
    assert priced.fee_units == -(-sell * bp // 10_000)
    assert Fraction(priced.fee_units) >= Fraction(sell * bp, 10_000)
    exact = Fraction((sell - priced.fee_units) * rate, PI_UNIT)
    assert priced.buy_units <= exact < priced.buy_units + 1


@given(buys, rates, spreads)
def test_buying_msc_costs_at_least_its_price_and_the_same_pi_sold_buys_it(
    buy: int, rate: int, bp: int
) -> None:
    priced = price_buy(buy, rate, bp, PI.scale)
    net = priced.sell_units - priced.fee_units
    assert priced.buy_units == buy
    assert Fraction(net * rate, PI_UNIT) >= buy  # the Pi after the fee pays for every sen
    assert Fraction(priced.fee_units) >= Fraction(priced.sell_units * bp, 10_000)
    assert price_sell(priced.sell_units, rate, bp, PI.scale).buy_units >= buy


def _quote(sell: int, rate: int, bp: int, details: list[int]) -> FirmQuote:
    priced = price_sell(sell, rate, bp, PI.scale)
    parts = [*details, priced.fee_units - sum(details)]
    now = 1_800_000_000_000_000
    lock = Quote(uuid.uuid4(), "PI", "IDR", rate, "median", now, now, now + 120_000_000, (1, 2))
    return FirmQuote(
        lock.id, "pioneer:p", "PI", sell, "MSC", priced.buy_units, "sell", "PI",
        priced.fee_units, tuple(FeeDetail(f"part{i}", units, "a part") for i, units in
                                enumerate(parts)), bp, lock, now, lock.expires_at_us,
    )  # fmt: skip


@given(st.integers(10**7, 10**14), rates, spreads, st.data())
def test_the_sep38_view_is_consistent(sell: int, rate: int, bp: int, data: st.DataObject) -> None:
    fee = price_sell(sell, rate, bp, PI.scale).fee_units
    split = data.draw(st.lists(st.integers(0, fee), max_size=3).filter(lambda p: sum(p) <= fee))
    quote = _quote(sell, rate, bp, split)
    if quote.buy_units <= 0:
        return
    view = sep38(quote)
    total = Decimal(view["fee"]["total"])
    assert sum(Decimal(d["amount"]) for d in view["fee"]["details"]) == total
    sold, bought = Decimal(view["sell_amount"]), Decimal(view["buy_amount"])
    assert sold == Decimal(sell).scaleb(-PI.scale)
    assert bought == Decimal(quote.buy_units).scaleb(-MSC.scale)
    # SEP-38: sell_amount - fee = price * buy_amount, to within one unit of the buy asset
    price = Fraction(PI_UNIT // 10**PI.scale * 10**MSC.scale, rate)
    shortfall = Fraction(sold - total) / price - Fraction(bought)
    assert 0 <= shortfall < Fraction(1, 10**MSC.scale)
    assert abs(Fraction(Decimal(view["price"])) - price) <= Fraction(1, 10**12)
    total_price = Fraction(sold) / Fraction(bought)
    assert abs(Fraction(Decimal(view["total_price"])) - total_price) <= Fraction(1, 10**12)
