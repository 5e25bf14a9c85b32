"""A merchant's history on PostgreSQL: every transfer touching its accounts, in ledger order,
paged by cursor without a gap or a repeat, read on the (account, ts) indexes."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from escrow.clock import SystemClock
from escrow.model import TransferFlags, TransferRequest
from settlement.chart import TransferCode
from settlement.reports import ReportRefused
from settlement.reports.history import _PAGE, history_page_max, merchant_history
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.checkout_rows import (
    hold,
    merchant_id,
    open_checkout_accounts,
    pay_pi,
    post,
    release,
)

pytestmark = pytest.mark.integration


def story(uow: UnitOfWork, mid: str) -> list[uuid.UUID]:
    """Sales, holds, a void and a payout of ``mid`` (and another merchant's sale around them);
    the ids of the transfers that touch ``mid``'s accounts, in the order they were posted."""
    other = merchant_id()
    open_checkout_accounts(uow, mid)
    open_checkout_accounts(uow, other)
    touching: list[uuid.UUID] = []
    for n in range(4):
        pay_pi(uow, 10_000_000)
        held = hold(uow, mid, "PI", 10_000_000, f"leg-{mid}-{n}")
        touching.append(held)
        if n == 2:
            void = TransferRequest(
                uuid.uuid4(),
                "",
                "",
                0,
                "PI",
                TransferCode.CHECKOUT_UNHOLD,
                TransferFlags.VOID_PENDING,
                pending_id=held,
            )
            post(uow, void)
            touching.append(void.id)
        else:
            release(uow, held, "PI", 10_000_000, 100_000, 50_000, f"leg-{mid}-{n}")
            touching.append(_last_touching(uow, mid))
        pay_pi(uow, 5_000_000)
        release(
            uow,
            hold(uow, other, "PI", 5_000_000, f"leg-{other}-{n}"),
            "PI",
            5_000_000,
            1,
            1,
            f"leg-{other}-{n}",
        )
    payout = TransferRequest(
        uuid.uuid4(),
        f"merchant:{mid}:PI",
        "treasury:pi_custody",
        3_000_000,
        "PI",
        TransferCode.PI_PAYOUT,
    )
    post(uow, payout)
    touching.append(payout.id)
    return touching


def _last_touching(uow: UnitOfWork, mid: str) -> uuid.UUID:
    found: uuid.UUID = uow.conn.execute(
        text(
            "SELECT t.id FROM transfers t JOIN accounts a ON a.id = t.credit_account_id"
            " WHERE a.code = :code ORDER BY t.ts DESC LIMIT 1"
        ),
        {"code": f"merchant:{mid}:PI"},
    ).scalar_one()
    return found


def test_a_merchant_without_accounts_has_an_empty_history(db_conn: Connection) -> None:
    page = merchant_history(db_conn, merchant_id(), after=None, limit=10)
    assert page.entries == ()
    assert page.next_after is None


@pytest.mark.parametrize("limit", [1, 3, 4, history_page_max])
def test_pages_hold_every_transfer_once_in_ledger_order(db_conn: Connection, limit: int) -> None:
    mid = merchant_id()
    touching = story(bind(db_conn, SystemClock()), mid)
    seen, after, pages = [], None, 0
    while True:
        page = merchant_history(db_conn, mid, after=after, limit=limit)
        assert len(page.entries) <= limit
        seen += page.entries
        pages += 1
        if page.next_after is None:
            break
        assert len(page.entries) == limit
        after = page.next_after
    assert [e.transfer_id for e in seen] == touching
    assert [e.timestamp_us for e in seen] == sorted({e.timestamp_us for e in seen})
    assert pages == -(-len(touching) // limit)


def test_each_entry_says_which_way_and_against_what(db_conn: Connection) -> None:
    mid = merchant_id()
    story(bind(db_conn, SystemClock()), mid)
    entries = merchant_history(db_conn, mid, after=None, limit=history_page_max).entries
    summary = [(e.code, e.direction, e.counterparty, e.effect, e.amount) for e in entries]
    escrow = "escrow:checkout:PI"
    held = ("checkout.hold", "in", escrow, "pending", "1.0000000")
    posted = ("checkout.release", "in", escrow, "pending_posted", "0.9850000")
    voided = ("checkout.unhold", "in", escrow, "pending_voided", "1.0000000")
    payout = ("pi.payout", "out", "treasury:pi_custody", "posted", "0.3000000")
    assert summary == [held, posted, held, posted, held, voided, held, posted, payout]
    assert {e.external_ref for e in entries[:2]} == {f"leg-{mid}-0"}


def test_a_bad_cursor_or_page_size_is_refused(db_conn: Connection) -> None:
    mid = merchant_id()
    for limit in (0, history_page_max + 1):
        with pytest.raises(ReportRefused) as refused:
            merchant_history(db_conn, mid, after=None, limit=limit)
        assert refused.value.code == "history_limit_invalid"
    with pytest.raises(ReportRefused) as refused:
        merchant_history(db_conn, mid, after="bm90IGEgY3Vyc29y", limit=5)
    assert refused.value.code == "history_cursor_invalid"


def test_a_page_is_read_on_the_account_and_timestamp_indexes(db_conn: Connection) -> None:
    mid = merchant_id()
    story(bind(db_conn, SystemClock()), mid)
    db_conn.execute(text("SET LOCAL enable_seqscan = off"))
    codes = [f"merchant:{mid}:{a}" for a in ("IDR", "PI", "MSC", "MSCP")]
    plan = "\n".join(
        row[0]
        for row in db_conn.execute(
            text("EXPLAIN " + str(_PAGE)),
            {"codes": codes, "afters": [0, 5, 0, 0], "limit": 11},
        )
    )
    assert "transfers_debit_history" in plan
    assert "transfers_credit_history" in plan
    assert "Seq Scan on transfers" not in plan
