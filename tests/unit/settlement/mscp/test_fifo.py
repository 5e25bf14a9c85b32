"""Property: FIFO over issuance lots (settlement.mscp.fifo): the oldest points go first, no lot
holds more than it had, and what the lots hold is the balance."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from settlement.mscp.fifo import Lot, remaining

lots = st.lists(
    st.integers(1, 10_000).flatmap(lambda u: st.builds(Lot, st.just(u), st.integers(0, u))),
    max_size=20,
)


@given(lots, st.integers(-100, 300_000))
def test_fifo_takes_the_oldest_first_and_sums_to_the_balance(held: list[Lot], balance: int) -> None:
    left = remaining(held, balance)
    available = [lot.units - lot.expired for lot in held]
    assert all(0 <= rest <= avail for rest, avail in zip(left, available, strict=True))
    assert sum(left) == min(max(0, balance), sum(available))
    touched = [
        n for n, (rest, avail) in enumerate(zip(left, available, strict=True)) if rest < avail
    ]
    if touched:  # every lot before the last one touched is spent whole
        assert all(left[n] == 0 for n in range(touched[-1]))


@given(lots, st.integers(0, 300_000), st.integers(0, 300_000))
def test_spending_more_never_gives_a_lot_back(held: list[Lot], spend: int, more: int) -> None:
    total = sum(lot.units - lot.expired for lot in held)
    before = remaining(held, total - spend)
    after = remaining(held, total - spend - more)
    assert all(b >= a for b, a in zip(before, after, strict=True))


@given(lots, st.integers(0, 300_000))
def test_expiring_what_is_left_of_the_oldest_lot_keeps_the_others(
    held: list[Lot], spent: int
) -> None:
    if not held:
        return
    total = sum(lot.units - lot.expired for lot in held)
    balance = max(0, total - spent)
    left = remaining(held, balance)
    expired = [Lot(held[0].units, held[0].expired + left[0]), *held[1:]]
    again = remaining(expired, balance - left[0])
    assert again == [0, *left[1:]]
