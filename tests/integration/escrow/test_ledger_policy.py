"""The PostgreSQL ledger with the chart as its policy: undeclared accounts and codes refused."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from escrow.chart import AccountUndeclared, TransferCodeUndeclared
from escrow.ledger import Ledger
from escrow.model import AccountKind, TransferRequest
from settlement import chart
from settlement.chart import CHART, TransferCode

pytestmark = pytest.mark.integration


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_an_undeclared_account_is_refused_before_anything_is_written(db_conn: Connection) -> None:
    ledger = Ledger(db_conn, policy=CHART)
    before = _count(db_conn, "accounts")
    with pytest.raises(AccountUndeclared):
        ledger.ensure_account("nope:nope", "PI", AccountKind.LIABILITY)
    with pytest.raises(AccountUndeclared):  # a declared code with another kind
        ledger.ensure_account(chart.pioneer_pi("U9").code, "PI", AccountKind.ASSET)
    assert _count(db_conn, "accounts") == before


def test_an_undeclared_transfer_code_is_refused_and_nothing_posted(db_conn: Connection) -> None:
    ledger = Ledger(db_conn, policy=CHART)
    uid = uuid.uuid4().hex[:10]
    for spec in (chart.pi_custody(), chart.pioneer_pi(uid)):
        chart.open_account(ledger, spec)
    before = _count(db_conn, "transfers")
    credit = chart.pioneer_pi(uid).code
    odd = TransferRequest(uuid.uuid4(), "treasury:pi_custody", credit, 7, "PI", "pi.gift")
    with pytest.raises(TransferCodeUndeclared):
        ledger.post_batch([odd])
    assert _count(db_conn, "transfers") == before
    fine = TransferRequest(uuid.uuid4(), "treasury:pi_custody", credit, 7, "PI",
                           TransferCode.PI_RECEIVED)  # fmt: skip
    assert ledger.post(fine).ok
