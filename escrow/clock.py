"""Where the ledger gets the time: an injectable clock in µs since the Unix epoch."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock time; the ledger never reads the time any other way."""

    def now_us(self) -> int:
        """Microseconds since the Unix epoch."""
        ...


class SystemClock:
    """The machine's clock."""

    def now_us(self) -> int:
        """Microseconds since the Unix epoch, from the system clock."""
        return time.time_ns() // 1000


class FixedClock:
    """A clock that stands still until moved; for tests and replays."""

    def __init__(self, now_us: int) -> None:
        self._now_us = now_us

    def now_us(self) -> int:
        """The time it was last set to."""
        return self._now_us

    def advance(self, seconds: int) -> None:
        """Move the clock forward (or back, with a negative number) by ``seconds``."""
        self._now_us += seconds * 1_000_000

    def advance_to(self, now_us: int) -> None:
        """Set the clock to ``now_us`` exactly."""
        self._now_us = now_us
