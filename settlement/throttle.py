"""A call made at most once per interval: the cadence of periodic work (monotonic seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable


class Throttle:
    """Calls ``action`` at most once every ``interval_s`` (the first call runs at once)."""

    def __init__(
        self,
        action: Callable[[], object],
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._action = action
        self._interval_s = interval_s
        self._clock = clock
        self._next_at: float | None = None

    def __call__(self) -> None:
        """Run the action when due."""
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return
        self._next_at = now + self._interval_s
        self._action()
