"""A reader paging a merchant's history never misses a committed transfer, even one that took
its ledger timestamp before a transfer the reader has already been shown, and committed after
(two real connections on the module's own database, committing out of timestamp order)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, Engine

from escrow.clock import SystemClock
from escrow.model import TransferRequest
from settlement import chart
from settlement.chart import TransferCode
from settlement.reports.history import merchant_history
from settlement.unit_of_work import bind
from tests.support.checkout_rows import merchant_id, open_checkout_accounts, post

pytestmark = pytest.mark.integration


def credit(conn: Connection, mid: str, asset: str, units: int) -> uuid.UUID:
    """Credit the merchant's ``asset`` account from suspense; the transaction stays open."""
    request = TransferRequest(
        uuid.uuid4(),
        chart.suspense(asset).code,
        chart.merchant_balance(mid, asset).code,
        units,
        asset,
        TransferCode.SUSPENSE,
    )
    post(bind(conn, SystemClock()), request)
    return request.id


def test_a_transfer_committed_after_a_later_one_is_still_served(module_engine: Engine) -> None:
    mid = merchant_id()
    with module_engine.begin() as setup:
        open_checkout_accounts(bind(setup, SystemClock()), mid)
    with module_engine.connect() as slow:
        slow_tx = slow.begin()
        early = credit(slow, mid, "IDR", 100)  # its timestamp is taken now; it commits last
        with module_engine.begin() as fast:
            later = [credit(fast, mid, "PI", 10_000_000), credit(fast, mid, "PI", 20_000_000)]
        with module_engine.connect() as reader:
            first = merchant_history(reader, mid, after=None, limit=1)
        assert [e.transfer_id for e in first.entries] == later[:1]
        assert first.next_after is not None
        slow_tx.commit()
    with module_engine.connect() as reader:
        rest = merchant_history(reader, mid, after=first.next_after, limit=10)
    served = [e.transfer_id for e in first.entries + rest.entries]
    assert sorted(served) == sorted([early, *later])
    assert len(served) == len(set(served))
    assert rest.next_after is None
