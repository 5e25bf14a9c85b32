"""The embedded worker's throttle: periodic jobs run at once, then at most once per interval."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from settlement.throttle import Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_call_runs_then_waits_for_the_interval() -> None:
    clock, runs = FakeClock(), []
    throttle = Throttle(lambda: runs.append(clock.now), 30.0, clock)
    throttle()
    clock.now = 29.9
    throttle()
    clock.now = 30.0
    throttle()
    assert runs == [0.0, 30.0]


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=50))
def test_runs_are_never_closer_than_the_interval(steps: list[int]) -> None:
    # Whole seconds: their sums are exact, so the property is about the throttle, not rounding.
    clock, runs = FakeClock(), []
    throttle = Throttle(lambda: runs.append(clock.now), 10.0, clock)
    for step in steps:
        clock.now += float(step)
        throttle()
    assert runs[0] == steps[0]
    assert all(later - earlier >= 10.0 for earlier, later in pairwise(runs))
