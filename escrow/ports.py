"""The ledger as use cases see it: one Protocol that the PostgreSQL and in-memory ledgers satisfy.

A use case types its ledger as ``LedgerProtocol`` (it arrives in the unit of work), so it runs
unchanged on ``escrow.ledger.Ledger`` in production and on ``escrow.memory.MemoryLedger`` in a
unit test without PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from escrow.model import (
    Account,
    AccountFlags,
    AccountKind,
    Balance,
    Result,
    TransferRecord,
    TransferRequest,
    TrialBalanceLine,
)
from escrow.periods import ClosedPeriod
from escrow.rules import accounts_page_max, batch_transfers_max


class LedgerProtocol(Protocol):
    """Accounts, transfers, balances and periods, inside the caller's transaction."""

    def ensure_account(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = None,
        flags: AccountFlags = AccountFlags.NONE,
    ) -> Account:
        """Open the account if it does not exist; if it does, it must be the same account."""
        ...

    def ensure_open(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = None,
        flags: AccountFlags = AccountFlags.NONE,
    ) -> None:
        """``ensure_account`` for a caller that needs no balance (it may cost no read)."""
        ...

    def account(self, code: str) -> Account:
        """The account with this code (``AccountNotFound`` if none), with its current totals."""
        ...

    def post(self, request: TransferRequest) -> Result:
        """Post one transfer."""
        ...

    def post_batch(self, requests: Sequence[TransferRequest]) -> list[Result]:
        """Post transfers in order, one result each (linked chains all or nothing)."""
        ...

    def transfer(self, transfer_id: uuid.UUID) -> TransferRecord | None:
        """The stored transfer with this id, if any."""
        ...

    def balance(self, code: str) -> Balance:
        """The account's balance now, in its normal direction."""
        ...

    def accounts(self, after_code: str = "", limit: int = accounts_page_max) -> list[Account]:
        """One page of accounts in code order, after ``after_code``."""
        ...

    def trial_balance(self) -> list[TrialBalanceLine]:
        """Per asset, the sums of all accounts' totals."""
        ...

    def close_period(self, name: str, closed_by: str) -> ClosedPeriod:
        """Close a month (WIB) that has ended."""
        ...

    def void_expired(self, limit: int = batch_transfers_max) -> int:
        """Void pending transfers whose timeout has passed (at most ``limit``); how many."""
        ...
