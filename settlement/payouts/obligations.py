"""Payout obligations: what the daily batch pays, whoever owes it (decision 0023).

An obligation says who is paid (``payee``, ``bank_account``), how much Rupiah (``amount_units``,
sen), from which account of the chart (``debit_account``, a liability in IDR: the money is owed
to the payee there), why (``kind`` and ``source_ref``, unique while not returned) and from when
(``due_at_us``: the first cut-off at or after it takes it). ``record`` is the interface other
use cases call; merchants' IDR balances, the QRIS refunds owed and the MSC redemptions owed are
found by the cut itself (``DUE``) and recorded as they are taken into a batch. A returned line
(the bank rejected it) leaves its refund or redemption owed, so the next day's cut takes it
again; a merchant's balance is due again by itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import text

from chain.bank.account import BankAccount
from chain.bank.transfer_file import PAYEE, payee_chars_max
from escrow.calendar import from_us
from escrow.errors import AccountNotFound
from escrow.model import AccountKind
from settlement.payouts.errors import OBLIGATION_EXISTS, PayoutRefused
from settlement.unit_of_work import UnitOfWork

__all__ = ["DUE", "Obligation", "ObligationKind", "record"]

source_ref_chars_max = 128
_SOURCE_REF = re.compile(rf"[A-Za-z0-9_.:-]{{1,{source_ref_chars_max}}}")


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
            raise PayoutRefused(f"payee: 1 to {payee_chars_max} of letters, digits and _.:-")
        if not _SOURCE_REF.fullmatch(self.source_ref):
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


DUE = """
    WITH later AS (
        SELECT credit_account_id AS account_id, sum(amount) AS units FROM transfers
         WHERE ts > :cutoff_us AND flags IN (0, 4) GROUP BY 1
    ), owed AS (
        SELECT debit_account, sum(amount_units) AS units FROM payout_obligations
         WHERE status = 'open' GROUP BY 1
    )
    SELECT NULL::uuid AS id, 'merchant' AS kind, m.id || ':' || :day AS source_ref,
           m.id AS payee, m.bank_code, m.account_number, m.holder_name,
           due.units AS amount_units, a.code AS debit_account, :cutoff AS due_at
      FROM merchants m
      JOIN accounts a ON a.code = 'merchant:' || m.id || '\\:IDR'
      LEFT JOIN later ON later.account_id = a.id
      LEFT JOIN owed ON owed.debit_account = a.code
      CROSS JOIN LATERAL (SELECT a.credits_posted - a.debits_posted - a.debits_pending
          - coalesce(later.units, 0) - coalesce(owed.units, 0) AS units) AS due
     WHERE m.bank_code IS NOT NULL AND due.units > 0
    UNION ALL
    SELECT NULL::uuid, 'qris_refund', r.transfer_id::text, r.checkout_id, r.bank_code,
           r.account_number, r.holder_name, r.amount_units, r.destination, r.created_at
      FROM checkout_refunds r
     WHERE r.status = 'owed' AND r.asset = 'IDR' AND r.destination = :refunds
       AND r.bank_code IS NOT NULL AND r.created_at <= :cutoff
       AND NOT EXISTS (SELECT 1 FROM payout_obligations x WHERE x.kind = 'qris_refund'
                        AND x.source_ref = r.transfer_id::text AND x.status <> 'returned')
    UNION ALL
    SELECT NULL::uuid, 'redemption', r.id::text, r.holder, r.bank_code, r.account_number,
           r.account_name, r.amount, :redemptions, r.created_at
      FROM msc_redemptions r
     WHERE r.status = 'owed' AND r.created_at <= :cutoff
       AND NOT EXISTS (SELECT 1 FROM payout_obligations x WHERE x.kind = 'redemption'
                        AND x.source_ref = r.id::text AND x.status <> 'returned')
    UNION ALL
    SELECT o.id, o.kind, o.source_ref, o.payee, o.bank_code, o.account_number, o.holder_name,
           o.amount_units, o.debit_account, o.due_at
      FROM payout_obligations o WHERE o.status = 'open' AND o.due_at <= :cutoff
"""
"""What is due by the cut-off (``id`` null for what the cut itself records):

- each merchant with a bank account, its available IDR balance (posted, less what is held) less
  what was credited after the cut-off (it waits for the next day) and less what an open
  obligation already owes from its account, source ``<merchant>:<day>``;
- each QRIS refund owed by the cut-off whose payer's bank account the treasury recorded and
  that no batch holds yet, source its transfer id;
- each MSC redemption owed by the cut-off that no batch holds yet (``msc_redemptions``, paid
  from ``payable:redemptions:IDR``), source its id;
- each open obligation recorded through ``record`` (redemptions), due by the cut-off."""
