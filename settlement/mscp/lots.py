"""The issuance lots of every point credited to a Pioneer, and a Pioneer's expiry schedule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from escrow.calendar import from_us
from escrow.errors import AccountNotFound
from escrow.model import TransferRequest
from escrow.sql import sql
from settlement import chart, parameters
from settlement.mscp.fifo import Lot, remaining
from settlement.unit_of_work import UnitOfWork

SOURCES = ("onboarding", "referral", "data_dividend", "cashback", "staking")
PIONEER_PREFIX, MSCP_SUFFIX = "pioneer:", ":MSCP"


@dataclass(frozen=True, slots=True)
class HeldLot:
    """A lot as the Pioneer sees it: what is left of it and when that expires."""

    transfer_id: uuid.UUID
    source: str
    units: int
    remaining: int
    expired: int
    issued_at: datetime
    expires_at: datetime | None


def record(uow: UnitOfWork, uid: str, source: str, transfer: uuid.UUID, units: int) -> None:
    """Record the lot of ``units`` points credited to ``uid`` by ``transfer`` (once per transfer),
    expiring after the treasury's term if it set one."""
    now = from_us(uow.clock.now_us())
    days = parameters.mscp_expiry_days(uow.conn)
    uow.conn.execute(
        sql(
            "INSERT INTO mscp_lots (transfer_id, uid, source, units, remaining, issued_at,"
            " expires_at) VALUES (:id, :uid, :source, :units, :units, :at, :expires)"
            " ON CONFLICT (transfer_id) DO NOTHING"
        ),
        {
            "id": transfer,
            "uid": uid,
            "source": source,
            "units": units,
            "at": now,
            "expires": None if days is None else now + timedelta(days=days),
        },
    )


def record_many(uow: UnitOfWork, issued: Sequence[tuple[str, uuid.UUID, int]], source: str) -> None:
    """Record the lots of ``(uid, transfer, units)`` credits in one statement (see ``record``)."""
    now = from_us(uow.clock.now_us())
    days = parameters.mscp_expiry_days(uow.conn)
    uow.conn.execute(
        sql(
            "INSERT INTO mscp_lots (transfer_id, uid, source, units, remaining, issued_at,"
            " expires_at) SELECT c.id, c.uid, :source, c.units, c.units, :at, :expires"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:uids AS text[]), CAST(:units AS bigint[]))"
            " AS c(id, uid, units) ON CONFLICT (transfer_id) DO NOTHING"
        ),
        {
            "ids": [t for _, t, _ in issued],
            "uids": [u for u, _, _ in issued],
            "units": [n for _, _, n in issued],
            "source": source,
            "at": now,
            "expires": None if days is None else now + timedelta(days=days),
        },
    )


def record_credits(uow: UnitOfWork, transfers: Sequence[TransferRequest], source: str) -> None:
    """Record a lot for each transfer of ``transfers`` crediting a Pioneer's points."""
    for transfer in transfers:
        uid = uid_of(transfer.credit)
        if uid is not None and transfer.asset == "MSCP" and transfer.amount > 0:
            record(uow, uid, source, transfer.id, transfer.amount)


def uid_of(account: str) -> str | None:
    """The Pioneer of a ``pioneer:{uid}:MSCP`` account code, None for any other account."""
    if account.startswith(PIONEER_PREFIX) and account.endswith(MSCP_SUFFIX):
        return account[len(PIONEER_PREFIX) : -len(MSCP_SUFFIX)]
    return None


def balance(uow: UnitOfWork, uid: str) -> int:
    """The Pioneer's posted points (0 before their account exists)."""
    try:
        return uow.ledger.balance(chart.pioneer_balance(uid, "MSCP").code).posted
    except AccountNotFound:
        return 0


def held(uow: UnitOfWork, uid: str, *, lock: bool = False) -> list[HeldLot]:
    """The Pioneer's lots in issuance order with what is left of each (FIFO)."""
    suffix = " FOR UPDATE" if lock else ""
    rows = uow.conn.execute(
        sql(
            "SELECT transfer_id, source, units, expired_units, issued_at, expires_at"  # noqa: S608 - constant text
            f" FROM mscp_lots WHERE uid = :uid ORDER BY issued_at, transfer_id{suffix}"
        ),
        {"uid": uid},
    ).all()
    left = remaining([Lot(int(r.units), int(r.expired_units)) for r in rows], balance(uow, uid))
    return [
        HeldLot(r.transfer_id, r.source, int(r.units), rest, int(r.expired_units), r.issued_at,
                r.expires_at)
        for r, rest in zip(rows, left, strict=True)
    ]  # fmt: skip


def expiring_uids(conn: Connection, now_us: int, limit: int) -> list[str]:
    """Pioneers with a lot past its expiry that is not wholly expired (it may be spent)."""
    rows = conn.execute(
        sql(
            "SELECT DISTINCT uid FROM mscp_lots WHERE expires_at <= :now"
            " AND units > expired_units AND remaining > 0 ORDER BY uid LIMIT :limit"
        ),
        {"now": from_us(now_us), "limit": limit},
    ).all()
    return [str(r.uid) for r in rows]
