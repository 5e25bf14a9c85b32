"""The ledger's tables as typed SQLAlchemy models (the DDL itself lives in migration 0001)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the ledger's models."""


class AssetRow(Base):
    """An asset and its scale."""

    __tablename__ = "assets"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    scale: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    """An account and its four running totals."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    asset: Mapped[str] = mapped_column(ForeignKey("assets.code"))
    kind: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[int] = mapped_column(Integer, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class TransferRow(Base):
    """An immutable transfer."""

    __tablename__ = "transfers"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, unique=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    asset: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    flags: Mapped[int] = mapped_column(Integer)
    pending_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("transfers.id"))
    timeout_s: Mapped[int] = mapped_column(Integer, default=0)
    external_ref: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class PendingTransferRow(Base):
    """The reservation of a pending transfer and how it ended."""

    __tablename__ = "pending_transfers"
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    asset: Mapped[str] = mapped_column(Text)
    expires_at_us: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("transfers.id"))


class LedgerStateRow(Base):
    """The one row that says through which instant the ledger is closed."""

    __tablename__ = "ledger_state"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    closed_through_us: Mapped[int] = mapped_column(BigInteger)


class LedgerPeriodRow(Base):
    """A closed month (Asia/Jakarta)."""

    __tablename__ = "ledger_periods"
    period: Mapped[str] = mapped_column(Text, primary_key=True)
    starts_at_us: Mapped[int] = mapped_column(BigInteger)
    ends_at_us: Mapped[int] = mapped_column(BigInteger)
    transfer_count: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[datetime]
    closed_by: Mapped[str] = mapped_column(Text)
