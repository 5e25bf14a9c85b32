"""A hypothesis state machine that drives any ledger with random postings and checks invariants.

The same machine runs on the in-memory ledger (many examples) and, step by step against it, on
PostgreSQL (differential: both must give the same result for every transfer).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from escrow.clock import FixedClock
from escrow.model import (
    Account,
    AccountFlags,
    AccountKind,
    Result,
    ResultCode,
    TransferFlags,
    TransferRecord,
    TransferRequest,
    TrialBalanceLine,
)

ACCOUNTS: tuple[tuple[str, str, AccountKind, AccountFlags], ...] = (
    ("bank:idr", "IDR", AccountKind.ASSET, AccountFlags.NONE),
    ("merchant:idr", "IDR", AccountKind.LIABILITY, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
    ("fees:idr", "IDR", AccountKind.INCOME, AccountFlags.NONE),
    ("reserve:idr", "IDR", AccountKind.ASSET, AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
    ("custody:pi", "PI", AccountKind.ASSET, AccountFlags.NONE),
    ("pioneer:pi", "PI", AccountKind.LIABILITY, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
)
CODES = [a[0] for a in ACCOUNTS] + ["missing:idr"]
FLAG_CHOICES = [
    TransferFlags.NONE,
    TransferFlags.NONE,
    TransferFlags.PENDING,
    TransferFlags.POST_PENDING,
    TransferFlags.VOID_PENDING,
    TransferFlags.LINKED,
    TransferFlags.LINKED | TransferFlags.PENDING,
    TransferFlags.PENDING | TransferFlags.VOID_PENDING,
]


class AnyLedger(Protocol):
    """What the machine needs of a ledger."""

    def ensure_account(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = ...,
        flags: AccountFlags = ...,
    ) -> Account: ...
    def account(self, code: str) -> Account: ...
    def post_batch(self, requests: Sequence[TransferRequest]) -> list[Result]: ...
    def trial_balance(self) -> list[TrialBalanceLine]: ...
    def void_expired(self) -> int: ...


class LedgerMachine(RuleBasedStateMachine):
    """Random batches (duplicates, pending/post/void, linked chains) with invariants checked."""

    clock: FixedClock
    ledger: AnyLedger

    def __init__(self) -> None:
        super().__init__()
        self.known_ids: list[uuid.UUID] = []
        self.accepted: dict[uuid.UUID, TransferRequest] = {}
        self.pending_ids: list[uuid.UUID] = []
        self.history: list[tuple[int, list[TransferRequest] | None, list[Result]]] = []
        """(clock, batch, results) per step; a ``None`` batch is a sweep of expired pendings."""

    def open_accounts(self) -> None:
        for code, asset, kind, flags in ACCOUNTS:
            self.ledger.ensure_account(code, asset, kind, flags=flags)

    def stored(self) -> list[TransferRecord]:
        raise NotImplementedError

    def on_batch(self, requests: list[TransferRequest], results: list[Result]) -> None:
        """Hook for the differential machine."""

    @rule(data=st.data(), size=st.integers(1, 8))
    def post_batch(self, data: st.DataObject, size: int) -> None:
        requests = [self._request(data) for _ in range(size)]
        results = self._post(requests)
        assert len(results) == len(requests)
        for request, result in zip(requests, results, strict=True):
            assert result.id == request.id
            self.known_ids.append(request.id)
            if result.code is ResultCode.OK:
                self.accepted[request.id] = request
                if TransferFlags.PENDING in request.flags:
                    self.pending_ids.append(request.id)
        self.on_batch(requests, results)

    def _post(self, requests: list[TransferRequest]) -> list[Result]:
        now = self.clock.now_us()
        results = self.ledger.post_batch(requests)
        self.history.append((now, requests, results))
        return results

    @rule(data=st.data())
    def replaying_accepted_transfers_changes_nothing(self, data: st.DataObject) -> None:
        if not self.accepted:
            return
        ids = data.draw(st.lists(st.sampled_from(sorted(self.accepted)), min_size=1, max_size=8))
        before = self._totals()
        replay = [_unlinked(self.accepted[i]) for i in ids]
        results = self._post(replay)
        self.on_batch(replay, results)
        assert [r.code for r in results] == [ResultCode.EXISTS] * len(replay)
        assert self._totals() == before

    @rule(seconds=st.integers(0, 150))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def sweeper_voids_expired(self) -> None:
        self.history.append((self.clock.now_us(), None, []))
        self.sweep()

    def sweep(self) -> None:
        """Void expired pending transfers (the differential machine does it on both ledgers)."""
        self.ledger.void_expired()

    @invariant()
    def debits_equal_credits_per_asset(self) -> None:
        for line in self.ledger.trial_balance():
            assert line.balanced, line

    @invariant()
    def flagged_accounts_stay_inside_their_limits(self) -> None:
        for code, _asset, _kind, flags in ACCOUNTS:
            a = self.ledger.account(code)
            assert min(a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted) >= 0
            if AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS in flags:
                assert a.debits_pending + a.debits_posted <= a.credits_posted
            if AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS in flags:
                assert a.credits_pending + a.credits_posted <= a.debits_posted

    @invariant()
    def posted_totals_are_the_sum_of_stored_transfers(self) -> None:
        expected = {code: [0, 0] for code in CODES}
        for record in self.stored():
            if record.flags in (TransferFlags.NONE, TransferFlags.POST_PENDING):
                expected[record.debit][0] += record.amount
                expected[record.credit][1] += record.amount
        for code, _asset, _kind, _flags in ACCOUNTS:
            a = self.ledger.account(code)
            assert [a.debits_posted, a.credits_posted] == expected[code], code

    def _totals(self) -> list[tuple[int, int, int, int]]:
        return [
            (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
            for a in (self.ledger.account(code) for code, *_ in ACCOUNTS)
        ]

    def _request(self, data: st.DataObject) -> TransferRequest:
        reuse = self.known_ids and data.draw(st.integers(0, 9)) == 0
        if reuse and data.draw(st.booleans()) and self.accepted:
            return _unlinked(self.accepted[data.draw(st.sampled_from(sorted(self.accepted)))])
        transfer_id = data.draw(st.sampled_from(self.known_ids)) if reuse else uuid.uuid4()
        flags = data.draw(st.sampled_from(FLAG_CHOICES))
        resolving = bool(flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING))
        pending_id = None
        if resolving or data.draw(st.integers(0, 19)) == 0:
            choices = [*self.pending_ids, uuid.uuid4()]
            pending_id = data.draw(st.sampled_from(choices))
        debit = data.draw(st.sampled_from(CODES))
        credit = data.draw(st.sampled_from(CODES))
        if resolving and data.draw(st.booleans()):
            debit, credit = "", ""
        asset = "PI" if debit.endswith(":pi") else "IDR"
        if data.draw(st.integers(0, 14)) == 0:
            asset = "PI" if asset == "IDR" else "IDR"
        amount = 0 if TransferFlags.VOID_PENDING in flags else data.draw(st.integers(0, 2000))
        timeout = (
            data.draw(st.sampled_from([0, 0, 60, 120])) if TransferFlags.PENDING in flags else 0
        )
        return TransferRequest(
            transfer_id, debit, credit, amount, asset, "prop", flags, pending_id, timeout
        )


def _unlinked(request: TransferRequest) -> TransferRequest:
    return TransferRequest(
        request.id,
        request.debit,
        request.credit,
        request.amount,
        request.asset,
        request.code,
        request.flags & ~TransferFlags.LINKED,
        request.pending_id,
        request.timeout_s,
        request.external_ref,
        request.user_data,
    )
