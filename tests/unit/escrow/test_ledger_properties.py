"""Property tests of the ledger's invariants on the in-memory ledger."""

from __future__ import annotations

from hypothesis import settings

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from escrow.model import TransferRecord
from escrow.periods import period
from tests.support.ledger_machine import LedgerMachine

START_US = period("2026-05").starts_at_us


class MemoryLedgerMachine(LedgerMachine):
    """The machine on the fake; at the end, the whole history replays to the same results."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START_US)
        self.memory = MemoryLedger(self.clock)
        self.ledger = self.memory
        self.open_accounts()

    def stored(self) -> list[TransferRecord]:
        return self.memory.transfers()

    def teardown(self) -> None:
        replay_clock = FixedClock(START_US)
        self.ledger = again = MemoryLedger(replay_clock)
        self.open_accounts()
        for now, requests, results in self.history:
            replay_clock.advance_to(now)
            if requests is None:
                again.void_expired()
            else:
                assert again.post_batch(requests) == results
        assert again.transfers() == self.memory.transfers()


MemoryLedgerMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
TestMemoryLedger = MemoryLedgerMachine.TestCase
