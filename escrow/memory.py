"""An in-memory ledger with the same rules as the PostgreSQL one: the fake for unit tests.

It plans every batch with ``escrow.rules`` exactly as ``escrow.ledger.Ledger`` does, so the
property tests can run thousands of sequences fast and compare the two ledgers step by step.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from escrow.chart import AccountPolicy
from escrow.clock import Clock, SystemClock
from escrow.errors import AccountNotFound, InvalidTransfer, PeriodNotClosable
from escrow.model import (
    Account,
    AccountFlags,
    AccountKind,
    Balance,
    Result,
    ResultCode,
    TransferRecord,
    TransferRequest,
    TrialBalanceLine,
    require_same_account,
)
from escrow.money import ASSETS
from escrow.periods import ClosedPeriod, period
from escrow.rules import (
    AccountState,
    PendingState,
    PendingStatus,
    Snapshot,
    accounts_page_max,
    batch_transfers_max,
    clock_lag_max_us,
    expiry_void,
    plan_batch,
    record_of,
)


@dataclass(frozen=True, slots=True)
class _Opened:
    kind: AccountKind
    owner: str | None


class MemoryLedger:
    """Accounts, transfers and pending reservations in dictionaries."""

    def __init__(
        self,
        clock: Clock | None = None,
        assets: Sequence[str] = tuple(ASSETS),
        policy: AccountPolicy | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._policy = policy
        self._assets = tuple(assets)
        self._accounts: dict[str, AccountState] = {}
        self._opened: dict[str, _Opened] = {}
        self._pendings: dict[uuid.UUID, PendingState] = {}
        self._transfers: dict[uuid.UUID, TransferRecord] = {}
        self._closed_through_us = 0
        self._last_ts = 0

    def ensure_account(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = None,
        flags: AccountFlags = AccountFlags.NONE,
    ) -> Account:
        """Open the account if it does not exist; if it does, it must be the same account."""
        if self._policy is not None:
            self._policy.check_account(code, asset, kind, flags)
        if asset not in self._assets:
            raise InvalidTransfer(f"unknown asset {asset}")
        if code not in self._accounts:
            self._accounts[code] = AccountState(len(self._accounts) + 1, code, asset, flags)
            self._opened[code] = _Opened(kind, owner)
        return require_same_account(self.account(code), asset, kind, flags)

    def ensure_open(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = None,
        flags: AccountFlags = AccountFlags.NONE,
    ) -> None:
        """``ensure_account`` for a caller that needs no balance."""
        self.ensure_account(code, asset, kind, owner, flags)

    def account(self, code: str) -> Account:
        """The account with this code, with its current totals."""
        state = self._accounts.get(code)
        if state is None:
            raise AccountNotFound(code)
        opened = self._opened[code]
        return Account(
            state.id,
            code,
            state.asset,
            opened.kind,
            opened.owner,
            state.flags,
            state.debits_pending,
            state.debits_posted,
            state.credits_pending,
            state.credits_posted,
        )

    def accounts(self, after_code: str = "", limit: int = accounts_page_max) -> list[Account]:
        """Accounts in code order after ``after_code``, at most ``limit``."""
        codes = sorted(code for code in self._accounts if code > after_code)[
            : min(limit, accounts_page_max)
        ]
        return [self.account(code) for code in codes]

    def post(self, request: TransferRequest) -> Result:
        """Post one transfer."""
        return self.post_batch([request])[0]

    def post_batch(self, requests: Sequence[TransferRequest]) -> list[Result]:
        """Post a batch with the ledger's rules; see ``escrow.ledger.Ledger.post_batch``."""
        if not requests:
            return []
        if len(requests) > batch_transfers_max:
            raise InvalidTransfer(f"a batch holds at most {batch_transfers_max} transfers")
        if self._policy is not None:
            for request in requests:
                self._policy.check_transfer_code(request.code)
        snap = Snapshot(self._accounts, self._pendings, self._transfers, self._closed_through_us)
        plan = plan_batch(requests, snap, self._take_timestamps(len(requests)))
        for row in plan.rows:
            self._transfers[row.id] = record_of(row, snap)
        return plan.results

    def _take_timestamps(self, n: int, lag_max_us: int = clock_lag_max_us) -> list[int]:
        """As the PostgreSQL ledger: the next n of a sequence that catches up with the clock."""
        now = self._clock.now_us()
        if self._last_ts < now - lag_max_us:
            self._last_ts = now - 1
        first = self._last_ts + 1
        self._last_ts += n
        return list(range(first, first + n))

    def transfer(self, transfer_id: uuid.UUID) -> TransferRecord | None:
        """The stored transfer with this id, if any."""
        return self._transfers.get(transfer_id)

    def transfers(self) -> list[TransferRecord]:
        """Every stored transfer in ledger order."""
        return sorted(self._transfers.values(), key=lambda record: record.timestamp)

    def balance(self, code: str) -> Balance:
        """The account's balance now."""
        a = self.account(code)
        return Balance(
            a.kind, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending
        )

    def trial_balance(self) -> list[TrialBalanceLine]:
        """Per asset, the sums of all accounts' totals."""
        lines = []
        for asset in sorted(self._assets):
            states = [s for s in self._accounts.values() if s.asset == asset]
            lines.append(
                TrialBalanceLine(
                    asset,
                    sum(s.debits_posted for s in states),
                    sum(s.credits_posted for s in states),
                    sum(s.debits_pending for s in states),
                    sum(s.credits_pending for s in states),
                )
            )
        return lines

    def close_period(self, name: str, closed_by: str = "") -> ClosedPeriod:
        """Close a month (WIB) that has ended; ``closed_by`` is not kept in memory."""
        month = period(name)
        if self._clock.now_us() <= month.ends_at_us:
            raise PeriodNotClosable(f"{name} has not ended yet")
        self._take_timestamps(0, lag_max_us=0)
        self._closed_through_us = max(self._closed_through_us, month.ends_at_us)
        count = sum(
            1
            for record in self._transfers.values()
            if month.starts_at_us <= record.timestamp <= month.ends_at_us
        )
        return ClosedPeriod(month, count)

    def void_expired(self, limit: int = batch_transfers_max) -> int:
        """Void pending transfers whose timeout has passed; how many were voided."""
        now = self._clock.now_us()
        due = sorted(
            (p.expires_at_us, p.id.bytes, p)
            for p in self._pendings.values()
            if p.status is PendingStatus.PENDING
            and p.expires_at_us is not None
            and p.expires_at_us <= now
        )
        voids = [expiry_void(p.id, p.asset) for _, _, p in due[:limit]]
        results = self.post_batch(voids)
        return sum(1 for result in results if result.code is ResultCode.OK)
