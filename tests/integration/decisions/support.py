"""What the decision tests share: an onboarded merchant, balances, and a count of every write
a refused decision must not have made."""

from __future__ import annotations

from sqlalchemy import Connection, text

from escrow.clock import SystemClock
from escrow.errors import AccountNotFound
from escrow.ledger import Ledger
from settlement.merchants import service as merchants
from settlement.merchants.model import MerchantRequest
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.merchants import fresh_id, fresh_nmid, static_qris


def uow_of(conn: Connection) -> UnitOfWork:
    return bind(conn, SystemClock())


def onboard(conn: Connection) -> tuple[str, str]:
    """A merchant taking QRIS and Pi: (id, nmid)."""
    merchant_id, nmid = fresh_id(), fresh_nmid()
    request = MerchantRequest(
        merchant_id, "Pecel Bu Tin", "Kelurahan A", frozenset({Tender.QRIS, Tender.PI}),
        nmid=nmid, static_qris=static_qris(nmid),
    )  # fmt: skip
    merchants.onboard(uow_of(conn), request, "test")
    return merchant_id, nmid


def balance(conn: Connection, code: str) -> int:
    """Posted balance in the account's normal direction (0 for an account not opened)."""
    try:
        return Ledger(conn).balance(code).posted
    except AccountNotFound:
        return 0


def writes(conn: Connection) -> tuple[int, int, int, int]:
    """Transfers, outbox messages and payout obligations, decisions, resolved exceptions and
    flags: what a refused decision leaves as it was."""
    row = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM transfers),"
            " (SELECT count(*) FROM outbox) + (SELECT count(*) FROM payout_obligations),"
            " (SELECT count(*) FROM exception_decisions),"
            " (SELECT count(*) FROM qris_exceptions WHERE resolved_at IS NOT NULL)"
            " + (SELECT count(*) FROM pi_flags WHERE resolved_at IS NOT NULL)"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])
