"""Where the simulated service meets the outside world, and what may go wrong there.

Every fault is chosen from the seed's random stream, so a seed names one history exactly.
"""

from __future__ import annotations

import random
from collections import Counter
from enum import StrEnum


class Boundary(StrEnum):
    """An I/O boundary: a database commit or a call to (or from) a rail."""

    COMMIT = "commit"
    PI_API = "pi_api"
    HORIZON = "horizon"
    QRIS_GATEWAY = "qris_gateway"
    BANK_FILE = "bank_file"
    EVM_NODE = "evm_node"


class Fault(StrEnum):
    """What the boundary does instead of succeeding.

    ``crash``: the process dies at the commit, the transaction rolls back; ``timeout``: the
    effect happened but the answer was lost; ``error_5xx``: no effect, an error; ``duplicate``:
    the message is delivered (or the call is made) twice; ``reorder``: the message waits while
    later ones overtake it.
    """

    CRASH = "crash"
    TIMEOUT = "timeout"
    ERROR_5XX = "error_5xx"
    DUPLICATE = "duplicate"
    REORDER = "reorder"


POSSIBLE: dict[Boundary, tuple[Fault, ...]] = {
    Boundary.COMMIT: (Fault.CRASH, Fault.TIMEOUT),
    Boundary.PI_API: (Fault.TIMEOUT, Fault.ERROR_5XX, Fault.DUPLICATE, Fault.REORDER),
    Boundary.HORIZON: (Fault.TIMEOUT, Fault.ERROR_5XX),
    Boundary.QRIS_GATEWAY: (Fault.TIMEOUT, Fault.ERROR_5XX, Fault.DUPLICATE, Fault.REORDER),
    Boundary.BANK_FILE: (Fault.TIMEOUT, Fault.ERROR_5XX, Fault.DUPLICATE, Fault.REORDER),
    Boundary.EVM_NODE: (Fault.TIMEOUT, Fault.ERROR_5XX, Fault.DUPLICATE, Fault.REORDER),
}
"""The faults each boundary can show: a commit is not delivered twice, Horizon is only read."""
fault_rate_max = 0.3
"""The highest share of boundary crossings that fail in one seed's history."""


class Injector:
    """Chooses, from the seed's stream, whether and how each boundary crossing fails."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        self._rng = rng
        self.rate = rate
        self.enabled = True
        self.injected: Counter[str] = Counter()

    def choose(self, boundary: Boundary) -> Fault | None:
        """The fault at this crossing, if any (never one once the run recovers)."""
        if not self.enabled or self._rng.random() >= self.rate:
            return None
        fault = self._rng.choice(POSSIBLE[boundary])
        self.injected[fault] += 1
        return fault
