"""``store.balances_at`` on PostgreSQL: on random ledgers (a hot account, accounts used on one
side only, holds posted or voided, accounts never used), at every cut, it equals the naive
computation from every transfer: the accounts with a transfer by then, with their totals then."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.model import AccountKind, ResultCode, TransferFlags, TransferRequest
from settlement.audit import store

pytestmark = pytest.mark.integration

HOT = "treasury:bank:IDR"
ACCOUNTS = (HOT, "merchant:A:IDR", "merchant:B:IDR", "merchant:C:IDR", "unused:IDR")
"""``unused:IDR`` is opened and never moved: it must never appear."""


@dataclass(frozen=True)
class Move:
    debit: int
    credit: int
    amount: int
    hold: bool
    """Posted as a pending transfer, to be resolved by a later step (or never)."""


@dataclass(frozen=True)
class Resolve:
    hold: int
    post: bool


steps = st.lists(
    st.one_of(
        st.builds(Move, st.integers(0, 3), st.integers(0, 3), st.integers(1, 999), st.booleans()),
        st.builds(Resolve, st.integers(0, 20), st.booleans()),
    ),
    min_size=1,
    max_size=20,
)


def naive(conn: Connection, end_us: int) -> set[store.BalanceRow]:
    """Every transfer ever read, each account's four totals summed up to ``end_us``."""
    rows = conn.execute(
        text(
            "SELECT t.ts, d.code AS debit, c.code AS credit, t.amount, t.flags,"
            " coalesce(p.amount, 0) AS released FROM transfers t"
            " JOIN accounts d ON d.id = t.debit_account_id"
            " JOIN accounts c ON c.id = t.credit_account_id"
            " LEFT JOIN pending_transfers p ON p.id = t.pending_id"
        )
    ).all()
    totals: dict[str, list[int]] = {}
    for row in rows:
        if row.ts > end_us:
            continue
        for code, side in ((row.debit, 0), (row.credit, 1)):
            entry = totals.setdefault(code, [0, 0, 0, 0])  # dpo, cpo, dp, cp
            if row.flags in (0, 4):
                entry[side] += row.amount
            if row.flags == 2:
                entry[2 + side] += row.amount
            if row.flags in (4, 8):
                entry[2 + side] -= row.released
    accounts = {
        r.code: r for r in conn.execute(text("SELECT code, owner, asset, kind FROM accounts"))
    }
    return {
        store.BalanceRow(code, accounts[code].owner, "IDR", accounts[code].kind, *entry)
        for code, entry in totals.items()
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps)
def test_balances_at_equals_the_naive_sum_at_every_cut(
    module_conn: Connection, clock: FixedClock, plan: list[Move | Resolve]
) -> None:
    savepoint = module_conn.begin_nested()
    try:
        ledger = Ledger(module_conn, clock)
        for code in ACCOUNTS:
            kind = AccountKind.ASSET if code == HOT else AccountKind.LIABILITY
            ledger.ensure_account(code, "IDR", kind, owner=code.split(":")[1])
        holds: list[tuple[uuid.UUID, int]] = []
        cuts = [clock.now_us()]
        for step in plan:
            clock.advance(60)
            request = _request(step, holds)
            if request is None:
                continue
            assert ledger.post(request).code is ResultCode.OK
            last = module_conn.exec_driver_sql("SELECT max(ts) FROM transfers").scalar_one()
            cuts.append(int(last))
        for end in {*cuts, *(cut - 1 for cut in cuts)}:
            assert set(store.balances_at(module_conn, end)) == naive(module_conn, end)
    finally:
        savepoint.rollback()


def _request(step: Move | Resolve, holds: list[tuple[uuid.UUID, int]]) -> TransferRequest | None:
    """The step as a request (a post releases its hold and posts half of it); None for a
    resolution when no hold is open."""
    if isinstance(step, Resolve):
        if not holds:
            return None
        pending, held = holds.pop(step.hold % len(holds))
        if step.post:
            flags, amount = TransferFlags.POST_PENDING, max(1, held // 2)
        else:
            flags, amount = TransferFlags.VOID_PENDING, 0
        return TransferRequest(uuid.uuid4(), "", "", amount, "IDR", "t", flags, pending)
    debit, credit = ACCOUNTS[step.debit], ACCOUNTS[(step.debit + 1 + step.credit % 3) % 4]
    flags = TransferFlags.PENDING if step.hold else TransferFlags.NONE
    request = TransferRequest(uuid.uuid4(), debit, credit, step.amount, "IDR", "t", flags)
    if step.hold:
        holds.append((request.id, step.amount))
    return request
