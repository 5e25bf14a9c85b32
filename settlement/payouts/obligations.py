"""Payout obligations: what the daily batch pays, whoever owes it (decision 0023).

An obligation says who is paid (``payee``, ``bank_account``), how much Rupiah (``amount_units``,
sen), from which account of the chart (``debit_account``, a liability in IDR: the money is owed
to the payee there), why (``kind`` and ``source_ref``, unique while not returned) and from when
(``due_at_us``: the first cut-off at or after it takes it). ``record`` is the interface other
use cases call (redemptions of MSC record theirs here); merchants' IDR balances and the QRIS
refunds owed are gathered by the cut itself (``gather_merchants``, ``gather_qris_refunds``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, text

from chain.bank.account import BankAccount
from chain.bank.transfer_file import PAYEE
from escrow.calendar import from_us
from escrow.errors import AccountNotFound
from escrow.model import AccountKind
from settlement.payouts.errors import OBLIGATION_EXISTS, PayoutRefused
from settlement.unit_of_work import UnitOfWork

__all__ = ["Obligation", "ObligationKind", "gather_merchants", "gather_qris_refunds", "record"]

source_ref_chars_max = 128


class ObligationKind(StrEnum):
    """Why the treasury owes the payee."""

    MERCHANT = "merchant"
    QRIS_REFUND = "qris_refund"
    REDEMPTION = "redemption"


@dataclass(frozen=True, slots=True)
class Obligation:
    """One payment the batch owes (see the module's docstring)."""

    kind: ObligationKind
    payee: str
    bank_account: BankAccount
    amount_units: int
    source_ref: str
    debit_account: str
    due_at_us: int

    def __post_init__(self) -> None:
        if not PAYEE.fullmatch(self.payee):
            raise PayoutRefused("payee: 1 to 64 of letters, digits and _.:-")
        if not PAYEE.fullmatch(self.source_ref[:64]) or len(self.source_ref) > source_ref_chars_max:
            raise PayoutRefused(f"source reference: 1 to {source_ref_chars_max} of [A-Za-z0-9_.:-]")
        if isinstance(self.amount_units, bool) or self.amount_units <= 0:
            raise PayoutRefused("an obligation pays a positive amount of sen")


def record(uow: UnitOfWork, obligation: Obligation) -> uuid.UUID:
    """Record ``obligation`` (idempotent: the same one again answers its id; another one under
    the same kind and source while the first is not returned is ``payout_obligation_exists``).

    The debit account must be an IDR liability of the chart; the batch holds the money from it
    at the cut and posts it to the bank when the bank accepts the line."""
    try:
        account = uow.ledger.account(obligation.debit_account)
    except AccountNotFound:
        raise PayoutRefused(f"no account {obligation.debit_account[:64]}") from None
    if account.asset != "IDR" or account.kind is not AccountKind.LIABILITY:
        raise PayoutRefused("an obligation is paid from an IDR liability account")
    bank = obligation.bank_account
    params = {
        "id": uuid.uuid4(),
        "kind": str(obligation.kind),
        "source": obligation.source_ref,
        "payee": obligation.payee,
        "bank": bank.bank_code,
        "number": bank.account_number,
        "holder": bank.holder_name,
        "amount": obligation.amount_units,
        "debit": obligation.debit_account,
        "due": from_us(obligation.due_at_us),
        "now": from_us(uow.clock.now_us()),
    }
    uow.conn.execute(
        text(
            "INSERT INTO payout_obligations (id, kind, source_ref, payee, bank_code,"
            " account_number, holder_name, amount_units, debit_account, due_at, created_at)"
            " VALUES (:id, :kind, :source, :payee, :bank, :number, :holder, :amount, :debit,"
            " :due, :now) ON CONFLICT (kind, source_ref) WHERE status <> 'returned' DO NOTHING"
        ),
        params,
    )
    row = uow.conn.execute(
        text(
            "SELECT id, payee, bank_code, account_number, holder_name, amount_units,"
            " debit_account FROM payout_obligations WHERE kind = :kind AND source_ref = :source"
            " AND status <> 'returned'"
        ),
        params,
    ).one()
    wanted = (obligation.payee, *bank.view().values(), obligation.amount_units)
    if tuple(row[1:]) != (*wanted, obligation.debit_account):
        raise PayoutRefused(
            f"{obligation.kind} {obligation.source_ref} is already owed otherwise",
            code=OBLIGATION_EXISTS,
        )
    return uuid.UUID(str(row[0]))


_MERCHANTS = """
    INSERT INTO payout_obligations (id, kind, source_ref, payee, bank_code, account_number,
        holder_name, amount_units, debit_account, due_at, created_at)
    SELECT gen_random_uuid(), 'merchant', m.id || ':' || :day, m.id, m.bank_code,
           m.account_number, m.holder_name, due.units, a.code, :cutoff, :now
      FROM merchants m
      JOIN accounts a ON a.code = 'merchant:' || m.id || '\\:IDR'
      CROSS JOIN LATERAL (SELECT
          a.credits_posted - a.debits_posted - a.debits_pending
          - coalesce((SELECT sum(t.amount) FROM transfers t WHERE t.credit_account_id = a.id
                       AND t.ts > :cutoff_us AND t.flags IN (0, 4)), 0)
          - coalesce((SELECT sum(o.amount_units) FROM payout_obligations o
                       WHERE o.debit_account = a.code AND o.status = 'open'), 0) AS units
      ) AS due
     WHERE m.bank_code IS NOT NULL AND due.units > 0
    ON CONFLICT (kind, source_ref) WHERE status <> 'returned' DO NOTHING
"""
"""Each merchant with a bank account is owed its available IDR balance (posted, less what is
held) less what was credited after the cut-off (it waits for the next day) and less what an open
obligation already owes it."""

_QRIS_REFUNDS = """
    INSERT INTO payout_obligations (id, kind, source_ref, payee, bank_code, account_number,
        holder_name, amount_units, debit_account, due_at, created_at)
    SELECT gen_random_uuid(), 'qris_refund', r.transfer_id::text, r.checkout_id, r.bank_code,
           r.account_number, r.holder_name, r.amount_units, r.destination, r.created_at, :now
      FROM checkout_refunds r
     WHERE r.status = 'owed' AND r.asset = 'IDR' AND r.destination = :refunds
       AND r.bank_code IS NOT NULL AND r.created_at <= :cutoff
    ON CONFLICT (kind, source_ref) WHERE status <> 'returned' DO NOTHING
"""
"""Each QRIS refund owed before the cut-off whose payer's bank account the treasury recorded."""


def gather_merchants(conn: Connection, day: str, cutoff_us: int, now_us: int) -> int:
    """Record the merchants' obligations of business ``day``; how many were new."""
    result = conn.execute(
        text(_MERCHANTS),
        {"day": day, "cutoff": from_us(cutoff_us), "cutoff_us": cutoff_us, "now": from_us(now_us)},
    )
    return result.rowcount


def gather_qris_refunds(conn: Connection, refunds_account: str, cutoff_us: int, now_us: int) -> int:
    """Record the QRIS refunds owed by the cut-off; how many were new."""
    result = conn.execute(
        text(_QRIS_REFUNDS),
        {"refunds": refunds_account, "cutoff": from_us(cutoff_us), "now": from_us(now_us)},
    )
    return result.rowcount
