"""The ledger's vocabulary as plain data: assets, accounts, transfers, results, balances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntFlag, StrEnum
from hashlib import sha1
from typing import Any

from escrow.errors import AccountConflict, InvalidTransfer

amount_max = 2**63 - 1
"""Amounts are PostgreSQL BIGINT; every running total must fit too."""
transfer_code_length_max = 64
external_ref_length_max = 128
timeout_s_max = 366 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Asset:
    """An asset and its scale: amounts are integers counting units of ``10**-scale``.

    The assets that exist are ``escrow.money.ASSETS`` (the same rows as the ``assets`` table).
    """

    code: str
    scale: int
    name: str


class AccountKind(StrEnum):
    """The five kinds of account of double entry."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class AccountFlags(IntFlag):
    """Balance limits, as in TigerBeetle."""

    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


class TransferFlags(IntFlag):
    """How a transfer moves value: at once, reserved (pending), or resolving a reservation."""

    NONE = 0
    LINKED = 1
    PENDING = 2
    POST_PENDING = 4
    VOID_PENDING = 8


PENDING_RESOLUTION = TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING


@dataclass(frozen=True, slots=True)
class Account:
    """An account with its four running totals (each in the asset's smallest unit)."""

    id: int
    code: str
    asset: str
    kind: AccountKind
    owner: str | None
    flags: AccountFlags
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


def require_same_account(
    account: Account, asset: str, kind: AccountKind, flags: AccountFlags
) -> Account:
    """``ensure_account``'s answer for an existing code: the same account, or a conflict."""
    if (account.asset, account.kind, account.flags) != (asset, kind, flags):
        raise AccountConflict(
            f"account {account.code} exists as {account.asset}/{account.kind}/{account.flags!r}"
        )
    return account


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """A transfer as the client asks for it; the client chooses ``id`` (its idempotency key).

    For ``POST_PENDING`` the amount is what to post (at most the pending amount; the rest is
    released); for ``VOID_PENDING`` the amount must be 0. Both may leave ``debit``/``credit``
    empty to inherit the pending transfer's accounts.
    """

    id: uuid.UUID
    debit: str
    credit: str
    amount: int
    asset: str
    code: str
    flags: TransferFlags = TransferFlags.NONE
    pending_id: uuid.UUID | None = None
    timeout_s: int = 0
    external_ref: str | None = None
    user_data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise InvalidTransfer(f"amount must be an int of minor units, not {self.amount!r}")
        if not 0 <= self.amount <= amount_max:
            raise InvalidTransfer(f"amount out of range: {self.amount}")
        if not 0 < len(self.code) <= transfer_code_length_max:
            raise InvalidTransfer(f"transfer code must be 1..{transfer_code_length_max} chars")
        if self.external_ref is not None and len(self.external_ref) > external_ref_length_max:
            raise InvalidTransfer("external reference too long")
        if not 0 <= self.timeout_s <= timeout_s_max:
            raise InvalidTransfer(f"timeout_s out of range: {self.timeout_s}")


class ResultCode(StrEnum):
    """The outcome of one transfer of a batch (TigerBeetle's result codes, in our words)."""

    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    ACCOUNTS_MUST_DIFFER = "accounts_must_differ"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ASSET_MISMATCH = "asset_mismatch"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    PENDING_ID_REQUIRED = "pending_id_required"
    PENDING_ID_MUST_BE_EMPTY = "pending_id_must_be_empty"
    TIMEOUT_RESERVED_FOR_PENDING = "timeout_reserved_for_pending_transfer"
    PENDING_NOT_FOUND = "pending_not_found"
    PENDING_HAS_DIFFERENT_ACCOUNTS = "pending_transfer_has_different_accounts"
    PENDING_HAS_DIFFERENT_ASSET = "pending_transfer_has_different_asset"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_transfer_amount"
    VOID_AMOUNT_MUST_BE_ZERO = "void_amount_must_be_zero"
    PENDING_ALREADY_POSTED = "pending_already_posted"
    PENDING_ALREADY_VOIDED = "pending_already_voided"
    PENDING_EXPIRED = "pending_expired"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOWS = "overflows"
    PERIOD_CLOSED = "period_closed"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one transfer; ``timestamp`` is the ledger's, set when the outcome is OK."""

    id: uuid.UUID
    code: ResultCode
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        """True when the transfer is in the ledger now (posted by this call or before it)."""
        return self.code in (ResultCode.OK, ResultCode.EXISTS)


DEBIT_NORMAL_KINDS = frozenset({AccountKind.ASSET, AccountKind.EXPENSE})


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's totals, read in its normal direction (debit for assets/expenses, else credit).

    ``posted`` is the balance of posted transfers; ``pending_out`` is what pending transfers
    reserve against it and ``pending_in`` what they will bring; ``available = posted -
    pending_out``.
    """

    kind: AccountKind
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def debit_normal(self) -> bool:
        """True for assets and expenses, whose balance grows with debits."""
        return self.kind in DEBIT_NORMAL_KINDS

    @property
    def posted(self) -> int:
        """Posted balance in the normal direction."""
        net = self.debits_posted - self.credits_posted
        return net if self.debit_normal else -net

    @property
    def pending_out(self) -> int:
        """Amount pending transfers will take away."""
        return self.credits_pending if self.debit_normal else self.debits_pending

    @property
    def pending_in(self) -> int:
        """Amount pending transfers will bring."""
        return self.debits_pending if self.debit_normal else self.credits_pending

    @property
    def available(self) -> int:
        """Posted minus what pending transfers have reserved against it."""
        return self.posted - self.pending_out


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer as stored: immutable, with its ledger timestamp (µs since the Unix epoch)."""

    id: uuid.UUID
    timestamp: int
    debit: str
    credit: str
    amount: int
    asset: str
    code: str
    flags: TransferFlags
    pending_id: uuid.UUID | None
    timeout_s: int
    external_ref: str | None
    user_data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    """Per asset: the sums over all accounts; double entry means debits equal credits."""

    asset: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balanced(self) -> bool:
        """True when debits equal credits, posted and pending alike."""
        return (
            self.debits_posted == self.credits_posted
            and self.debits_pending == self.credits_pending
        )


TRANSFER_ID_NAMESPACE = uuid.UUID("6f6d7363-2d73-6574-746c-656d656e7421")
_NAMESPACE_BYTES = TRANSFER_ID_NAMESPACE.bytes
_CLEAR_VERSION_VARIANT = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_5_VARIANT = (5 << 76) | (0x8000 << 48)


def transfer_id(namespace: str, external_id: str) -> uuid.UUID:
    """The deterministic transfer id of an external event, so that a replay maps to one posting.

    ``namespace`` names the kind of event (``"pi.payment"``, ``"qris.rrn"``); ``external_id`` is
    the event's own id. The same pair always gives the same id.
    """
    if not namespace or not external_id:
        raise InvalidTransfer("transfer_id needs a namespace and an external id")
    # ``uuid.uuid5`` by hand (RFC 9562 section 5.5): the namespace's bytes computed once, the
    # version and variant bits set on the integer; a payout batch asks this 200,000 times.
    digest = sha1(_NAMESPACE_BYTES + f"{namespace}\x1f{external_id}".encode()).digest()  # noqa: S324 - UUIDv5 is SHA-1 by definition
    number = int.from_bytes(digest[:16]) & _CLEAR_VERSION_VARIANT | _VERSION_5_VARIANT
    return uuid.UUID(int=number)
