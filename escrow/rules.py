"""The posting rules, as pure functions over an in-memory snapshot of the touched state.

Both ledgers (PostgreSQL and the in-memory fake) plan a batch here, so the rules exist once.
A plan says, per request, its result code and, for the OK ones, the rows to store.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple

from escrow.model import (
    PENDING_RESOLUTION,
    AccountFlags,
    Result,
    ResultCode,
    TransferFlags,
    TransferRecord,
    TransferRequest,
    amount_max,
    transfer_id,
)

us_per_s = 1_000_000
clock_lag_max_us = 1_000_000
"""Ledger timestamps follow the clock but may lag it by up to this much (see the migration's
``ledger_clock_catch_up``): catching up on every batch would cost a locked write each time."""
batch_transfers_max = 8190
"""Like TigerBeetle's batch limit: bounds the lock time and the memory of one batch."""
accounts_page_max = 1000
"""Accounts returned by one page of ``accounts``."""


class PendingStatus(StrEnum):
    """Where a pending transfer stands; only PENDING can change, and only once."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(slots=True)
class AccountState:
    """A working copy of an account's totals while a batch is planned."""

    id: int
    code: str
    asset: str
    flags: AccountFlags
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


@dataclass(slots=True)
class PendingState:
    """A pending transfer's reservation, as far as resolving it needs."""

    id: uuid.UUID
    debit_id: int
    credit_id: int
    amount: int
    asset: str
    expires_at_us: int | None
    status: PendingStatus


class NewTransfer(NamedTuple):
    """A row to store: the request resolved to account ids and a ledger timestamp.

    A named tuple rather than a frozen dataclass: one is built per transfer on the hot path.
    Its fields are in the order of the ``transfers`` columns the ledger inserts them into.
    """

    id: uuid.UUID
    timestamp: int
    debit_id: int
    credit_id: int
    amount: int
    asset: str
    code: str
    flags: int
    """The request's ``TransferFlags`` as an int, without ``LINKED`` (a chain is not stored)."""
    pending_id: uuid.UUID | None
    timeout_s: int
    external_ref: str | None
    user_data: dict[str, object]


@dataclass(slots=True)
class Snapshot:
    """Everything a batch reads: its accounts, the pending transfers it names, its known ids."""

    accounts: dict[str, AccountState]
    pendings: dict[uuid.UUID, PendingState]
    existing: dict[uuid.UUID, TransferRecord]
    closed_through_us: int
    accounts_by_id: dict[int, AccountState] = field(init=False)
    planned: dict[int, NewTransfer] = field(init=False)
    """The rows this batch has accepted so far, by ``id.int`` (a UUID's own hash is slow)."""

    def __post_init__(self) -> None:
        self.accounts_by_id = {a.id: a for a in self.accounts.values()}
        self.planned = {}

    def stored(self, transfer_id: uuid.UUID) -> TransferRecord | None:
        """The transfer already under this id: stored before, or accepted earlier in the batch."""
        row = self.planned.get(transfer_id.int)
        if row is not None:
            return record_of(row, self)
        return self.existing.get(transfer_id) if self.existing else None


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of planning a batch: one result per request, rows for the OK ones."""

    results: list[Result]
    rows: list[NewTransfer]


class _Rejected(Exception):
    def __init__(self, code: ResultCode) -> None:
        self.code = code


def plan_batch(
    requests: Sequence[TransferRequest], snap: Snapshot, timestamps: Sequence[int]
) -> Plan:
    """Decide every request of a batch in order; linked chains succeed or fail together.

    Request ``i`` gets the ledger timestamp ``timestamps[i]`` (increasing). ``snap`` is updated
    in place to the state after the batch.
    """
    results: list[Result] = []
    rows: list[NewTransfer] = []
    last = len(requests) - 1
    start = 0
    for index, request in enumerate(requests):
        if int(request.flags) & _LINKED_BIT and index < last:
            continue
        if start == index:
            _plan_single(request, timestamps[index], snap, results, rows)
        else:
            _plan_chain(requests, range(start, index + 1), snap, timestamps, results, rows)
        start = index + 1
    return Plan(results, rows)


def _plan_single(
    request: TransferRequest,
    ts: int,
    snap: Snapshot,
    results: list[Result],
    rows: list[NewTransfer],
) -> None:
    """An unlinked transfer: every check runs before any change, so nothing needs undoing."""
    if int(request.flags) & _LINKED_BIT:
        results.append(Result(request.id, ResultCode.LINKED_EVENT_CHAIN_OPEN))
        return
    try:
        code = _apply(request, ts, snap, rows, _NO_UNDO)
    except _Rejected as rejected:
        results.append(Result(request.id, rejected.code))
        return
    results.append(Result(request.id, code, _timestamp_of(request, code, snap, ts)))


def _plan_chain(
    requests: Sequence[TransferRequest],
    chain: range,
    snap: Snapshot,
    timestamps: Sequence[int],
    results: list[Result],
    rows: list[NewTransfer],
) -> None:
    if int(requests[chain[-1]].flags) & _LINKED_BIT:
        for index in chain:
            results.append(Result(requests[index].id, ResultCode.LINKED_EVENT_CHAIN_OPEN))
        return
    undo = _Undo(snap)
    rows_before = len(rows)
    chain_results: list[Result] = []
    for index in chain:
        request, ts = requests[index], timestamps[index]
        try:
            code = _apply(request, ts, snap, rows, undo)
        except _Rejected as rejected:
            undo.restore()
            del rows[rows_before:]
            failed = {request.id: rejected.code}
            for other in chain:
                other_id = requests[other].id
                results.append(
                    Result(other_id, failed.get(other_id, ResultCode.LINKED_EVENT_FAILED))
                )
            return
        chain_results.append(Result(request.id, code, _timestamp_of(request, code, snap, ts)))
    results.extend(chain_results)


def _timestamp_of(request: TransferRequest, code: ResultCode, snap: Snapshot, ts: int) -> int:
    if code is ResultCode.OK:
        return ts
    existing = snap.stored(request.id)
    return existing.timestamp if existing is not None else ts


class _Undo:
    """Remembers the first value of every state a linked chain touches, to roll it back."""

    def __init__(self, snap: Snapshot) -> None:
        self._snap = snap
        self._accounts: dict[int, AccountState] = {}
        self._pendings: dict[uuid.UUID, PendingState | None] = {}
        self._new_ids: list[int] = []

    def account(self, state: AccountState) -> AccountState:
        if state.id not in self._accounts:
            self._accounts[state.id] = replace(state)
        return state

    def pending(self, pending_id: uuid.UUID) -> None:
        if pending_id not in self._pendings:
            current = self._snap.pendings.get(pending_id)
            self._pendings[pending_id] = replace(current) if current is not None else None

    def new_id(self, key: int) -> None:
        self._new_ids.append(key)

    def restore(self) -> None:
        for account_id, saved in self._accounts.items():
            state = self._snap.accounts_by_id[account_id]
            state.debits_pending, state.debits_posted = saved.debits_pending, saved.debits_posted
            state.credits_pending, state.credits_posted = (
                saved.credits_pending,
                saved.credits_posted,
            )
        for pending_id, saved_pending in self._pendings.items():
            if saved_pending is None:
                self._snap.pendings.pop(pending_id, None)
            else:
                self._snap.pendings[pending_id] = saved_pending
        for key in self._new_ids:
            self._snap.planned.pop(key, None)


class _NoUndo(_Undo):
    """The undo log of a chain of one: nothing to restore, so nothing to remember."""

    def __init__(self) -> None:
        pass

    def account(self, state: AccountState) -> AccountState:
        return state

    def pending(self, pending_id: uuid.UUID) -> None:
        pass

    def new_id(self, key: int) -> None:
        pass


_NO_UNDO = _NoUndo()
_LINKED_BIT = int(TransferFlags.LINKED)
_KIND_BITS = int(PENDING_RESOLUTION | TransferFlags.PENDING)
_KINDS_ALLOWED = frozenset(
    {
        0,
        int(TransferFlags.PENDING),
        int(TransferFlags.POST_PENDING),
        int(TransferFlags.VOID_PENDING),
    }
)
_RESOLUTION_BITS = int(PENDING_RESOLUTION)
_PENDING_BIT = int(TransferFlags.PENDING)
_DEBIT_LIMIT = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CREDIT_LIMIT = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)


def _apply(
    request: TransferRequest,
    ts: int,
    snap: Snapshot,
    rows: list[NewTransfer],
    undo: _Undo,
) -> ResultCode:
    if request.id.int == 0:
        raise _Rejected(ResultCode.ID_MUST_NOT_BE_ZERO)
    stored = snap.stored(request.id)
    if stored is not None:
        if same_fields(request, stored):
            return ResultCode.EXISTS
        raise _Rejected(ResultCode.EXISTS_WITH_DIFFERENT_FIELDS)
    flags = int(request.flags)
    if flags & _KIND_BITS not in _KINDS_ALLOWED:
        raise _Rejected(ResultCode.FLAGS_ARE_MUTUALLY_EXCLUSIVE)
    if ts <= snap.closed_through_us:
        raise _Rejected(ResultCode.PERIOD_CLOSED)
    if flags & _RESOLUTION_BITS:
        row = _resolve_pending(request, ts, snap, undo)
    else:
        row = _move(request, ts, snap, undo)
    rows.append(row)
    snap.planned[request.id.int] = row
    undo.new_id(request.id.int)
    return ResultCode.OK


def _move(request: TransferRequest, ts: int, snap: Snapshot, undo: _Undo) -> NewTransfer:
    """A posted transfer, or a new pending one: check the accounts and limits, then apply."""
    pending = bool(int(request.flags) & _PENDING_BIT)
    if request.pending_id is not None:
        raise _Rejected(ResultCode.PENDING_ID_MUST_BE_EMPTY)
    if request.timeout_s and not pending:
        raise _Rejected(ResultCode.TIMEOUT_RESERVED_FOR_PENDING)
    debit, credit = _accounts_of(request, snap)
    if request.amount <= 0:
        raise _Rejected(ResultCode.AMOUNT_MUST_BE_POSITIVE)
    _check_limits(debit, credit, request.amount)
    undo.account(debit)
    undo.account(credit)
    if pending:
        debit.debits_pending += request.amount
        credit.credits_pending += request.amount
        expires = ts + request.timeout_s * us_per_s if request.timeout_s else None
        undo.pending(request.id)
        snap.pendings[request.id] = PendingState(
            request.id,
            debit.id,
            credit.id,
            request.amount,
            request.asset,
            expires,
            PendingStatus.PENDING,
        )
    else:
        debit.debits_posted += request.amount
        credit.credits_posted += request.amount
    return _row(request, ts, debit.id, credit.id, request.amount)


def _accounts_of(request: TransferRequest, snap: Snapshot) -> tuple[AccountState, AccountState]:
    if request.debit == request.credit:
        raise _Rejected(ResultCode.ACCOUNTS_MUST_DIFFER)
    debit = snap.accounts.get(request.debit)
    if debit is None:
        raise _Rejected(ResultCode.DEBIT_ACCOUNT_NOT_FOUND)
    credit = snap.accounts.get(request.credit)
    if credit is None:
        raise _Rejected(ResultCode.CREDIT_ACCOUNT_NOT_FOUND)
    if not debit.asset == credit.asset == request.asset:
        raise _Rejected(ResultCode.ASSET_MISMATCH)
    return debit, credit


def _check_limits(debit: AccountState, credit: AccountState, amount: int) -> None:
    debit_total = debit.debits_posted + debit.debits_pending + amount
    credit_total = credit.credits_posted + credit.credits_pending + amount
    if debit_total > amount_max or credit_total > amount_max:
        raise _Rejected(ResultCode.OVERFLOWS)
    if int(debit.flags) & _DEBIT_LIMIT and debit_total > debit.credits_posted:
        raise _Rejected(ResultCode.EXCEEDS_CREDITS)
    if int(credit.flags) & _CREDIT_LIMIT and credit_total > credit.debits_posted:
        raise _Rejected(ResultCode.EXCEEDS_DEBITS)


def _resolve_pending(request: TransferRequest, ts: int, snap: Snapshot, undo: _Undo) -> NewTransfer:
    """Post (all or part of) or void a pending transfer; the unposted rest is released."""
    if request.pending_id is None:
        raise _Rejected(ResultCode.PENDING_ID_REQUIRED)
    if request.timeout_s:
        raise _Rejected(ResultCode.TIMEOUT_RESERVED_FOR_PENDING)
    pending = snap.pendings.get(request.pending_id)
    if pending is None:
        raise _Rejected(ResultCode.PENDING_NOT_FOUND)
    debit = snap.accounts_by_id[pending.debit_id]
    credit = snap.accounts_by_id[pending.credit_id]
    if (request.debit and request.debit != debit.code) or (
        request.credit and request.credit != credit.code
    ):
        raise _Rejected(ResultCode.PENDING_HAS_DIFFERENT_ACCOUNTS)
    if request.asset != pending.asset:
        raise _Rejected(ResultCode.PENDING_HAS_DIFFERENT_ASSET)
    posting = TransferFlags.POST_PENDING in request.flags
    _check_pending_open(pending, ts, posting)
    if posting and not 0 < request.amount <= pending.amount:
        raise _Rejected(
            ResultCode.EXCEEDS_PENDING_AMOUNT
            if request.amount
            else ResultCode.AMOUNT_MUST_BE_POSITIVE
        )
    if not posting and request.amount != 0:
        raise _Rejected(ResultCode.VOID_AMOUNT_MUST_BE_ZERO)
    undo.account(debit)
    undo.account(credit)
    undo.pending(pending.id)
    debit.debits_pending -= pending.amount
    credit.credits_pending -= pending.amount
    if posting:
        debit.debits_posted += request.amount
        credit.credits_posted += request.amount
        status = PendingStatus.POSTED
    else:
        expired = pending.expires_at_us is not None and ts >= pending.expires_at_us
        status = PendingStatus.EXPIRED if expired else PendingStatus.VOIDED
    pending.status = status  # a chain's undo kept the state it had before (``_Undo.pending``)
    amount = request.amount if posting else pending.amount
    return _row(request, ts, debit.id, credit.id, amount)


def _check_pending_open(pending: PendingState, ts: int, posting: bool) -> None:
    if pending.status is PendingStatus.POSTED:
        raise _Rejected(ResultCode.PENDING_ALREADY_POSTED)
    if pending.status is PendingStatus.VOIDED:
        raise _Rejected(ResultCode.PENDING_ALREADY_VOIDED)
    if pending.status is PendingStatus.EXPIRED:
        raise _Rejected(ResultCode.PENDING_EXPIRED)
    expired = pending.expires_at_us is not None and ts >= pending.expires_at_us
    if posting and expired:
        raise _Rejected(ResultCode.PENDING_EXPIRED)


def _row(
    request: TransferRequest, ts: int, debit_id: int, credit_id: int, amount: int
) -> NewTransfer:
    return NewTransfer(
        request.id,
        ts,
        debit_id,
        credit_id,
        amount,
        request.asset,
        request.code,
        int(request.flags) & ~_LINKED_BIT,
        request.pending_id,
        request.timeout_s,
        request.external_ref,
        request.user_data,
    )


def record_of(row: NewTransfer, snap: Snapshot) -> TransferRecord:
    """The stored form of a planned row, with account codes instead of ids."""
    return TransferRecord(
        row.id,
        row.timestamp,
        snap.accounts_by_id[row.debit_id].code,
        snap.accounts_by_id[row.credit_id].code,
        row.amount,
        row.asset,
        row.code,
        TransferFlags(row.flags),
        row.pending_id,
        row.timeout_s,
        row.external_ref,
        row.user_data,
    )


def same_fields(request: TransferRequest, stored: TransferRecord) -> bool:
    """True when a retried request asks for exactly the transfer that is stored under its id."""
    void = TransferFlags.VOID_PENDING in request.flags
    return (
        (request.debit == stored.debit or (not request.debit and bool(request.pending_id)))
        and (request.credit == stored.credit or (not request.credit and bool(request.pending_id)))
        and (request.amount == stored.amount or (void and request.amount == 0))
        and request.asset == stored.asset
        and request.code == stored.code
        and int(request.flags) & ~_LINKED_BIT == int(stored.flags)
        and request.pending_id == stored.pending_id
        and request.timeout_s == stored.timeout_s
        and request.external_ref == stored.external_ref
        and request.user_data == stored.user_data
    )


PENDING_EXPIRED_CODE = "ledger.pending_expired"


def expiry_void(pending_id: uuid.UUID, asset: str) -> TransferRequest:
    """The void that ends a pending transfer at its timeout (id derived from the pending's)."""
    return TransferRequest(
        transfer_id(PENDING_EXPIRED_CODE, str(pending_id)),
        "",
        "",
        0,
        asset,
        PENDING_EXPIRED_CODE,
        flags=TransferFlags.VOID_PENDING,
        pending_id=pending_id,
    )
