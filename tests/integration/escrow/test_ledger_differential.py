"""The ledger on PostgreSQL, driven by the property machine in lock-step with the in-memory ledger.

Every batch must give the same results (codes and timestamps) on both; the invariants are checked
on PostgreSQL after every step, and each example's transaction is rolled back at the end.
"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import settings
from sqlalchemy import Connection, Engine, text

from escrow import ledger as ledger_module
from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.memory import MemoryLedger
from escrow.model import Result, TransferFlags, TransferRecord, TransferRequest
from escrow.periods import period
from tests.support.ledger_machine import LedgerMachine

pytestmark = pytest.mark.integration
example_span_us = 40 * 24 * 3600 * 1_000_000
_example_starts = itertools.count(period("2031-01").starts_at_us, example_span_us)
"""Each example starts later than the last one ended: the timestamp sequence is not rolled back."""


class PostgresLedgerMachine(LedgerMachine):
    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(next(_example_starts))
        self.conn: Connection = self.engine.connect()
        self.transaction = self.conn.begin()
        self.postgres = Ledger(self.conn, self.clock)
        self.memory = MemoryLedger(self.clock)
        self.ledger = self.postgres
        self.open_accounts()
        self.ledger = self.memory
        self.open_accounts()
        self.ledger = self.postgres

    def _post(self, requests: list[TransferRequest]) -> list[Result]:
        results = super()._post(requests)
        assert self.memory.post_batch(requests) == results
        return results

    def sweep(self) -> None:
        assert self.postgres.void_expired() == self.memory.void_expired()

    def stored(self) -> list[TransferRecord]:
        rows = self.conn.execute(
            text(
                "SELECT t.id, t.ts, d.code, c.code, t.amount, t.asset, t.code, t.flags FROM"
                " transfers t JOIN accounts d ON d.id = t.debit_account_id"
                " JOIN accounts c ON c.id = t.credit_account_id ORDER BY t.ts"
            )
        ).all()
        stored = [
            TransferRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], TransferFlags(r[7]), None, 0, None, {}
            )
            for r in rows
        ]
        assert [(s.id, s.timestamp, s.amount) for s in stored] == [
            (m.id, m.timestamp, m.amount) for m in self.memory.transfers()
        ]
        return stored

    def teardown(self) -> None:
        self.transaction.rollback()
        self.conn.close()


@pytest.mark.parametrize("copy_from", [1, ledger_module.copy_rows_min], ids=["copy", "insert"])
def test_postgres_ledger_matches_the_rules(
    module_engine: Engine, monkeypatch: pytest.MonkeyPatch, copy_from: int
) -> None:
    """Both ways a batch is stored (COPY, INSERT) are held to the rules."""
    monkeypatch.setattr(ledger_module, "copy_rows_min", copy_from)
    PostgresLedgerMachine.engine = module_engine
    PostgresLedgerMachine.TestCase.settings = settings(
        max_examples=int(os.environ.get("MSC_LEDGER_MACHINE_EXAMPLES", "25")),
        stateful_step_count=25,
        deadline=None,
    )
    PostgresLedgerMachine.TestCase().runTest()
