"""The simulated service's state: what its database holds (rolled back whole when a commit
fails) and what the rails hold (the outside world, which no rollback undoes)."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field, fields

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from escrow.model import TransferRequest
from settlement import chart, points
from settlement.audit.proposal import Proposal, Signature
from settlement.chart import TransferCode
from settlement.checkout.model import Checkout
from settlement.conversions.conversion import Conversion
from settlement.locks.positions import Position
from settlement.tenders import Tender

MERCHANT = "UM001"
PIONEER = "pioneer-9"
ASSETS = ("IDR", "PI", "MSC", "MSCP")
CHECKOUT, CONVERT, LOCK = "checkout", "convert", "lock"
"""What a Pi payment is for: a checkout's leg, a conversion, a lock's principal."""
points_budget_units = 3000
"""MSC Points the treasury funded the budget with: enough for some locks, not for all."""


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment as its rail knows it: made by a payer for a checkout's leg."""

    id: str
    tender: Tender
    checkout_id: str
    leg_reference: str
    amount_units: int
    payer: str | None
    purpose: str = CHECKOUT
    """``checkout_id`` and ``leg_reference`` name the conversion or the lock's reference when
    the payment is for one."""


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """An MSC withdrawal booked to ``msc:onchain`` (``evm_withdrawals``), minted once."""

    key: str
    """The withdrawal's transfer id, which is also its mint reference on chain."""
    holder: str
    amount_units: int
    minted: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """An outbox message: a side effect owed to a rail, once per (kind, key)."""

    kind: str
    key: str
    amount_units: int = 0
    uid: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a payout batch: an obligation paid from ``debit`` (a merchant's balance, the
    QRIS refunds owed)."""

    obligation: str
    debit: str
    amount_units: int


@dataclass(frozen=True, slots=True)
class Batch:
    """A payout batch: cut (its lines held), then confirmed by the bank's answer."""

    id: str
    lines: tuple[Line, ...]
    confirmed: bool = False


@dataclass
class Db:
    """Everything one database transaction may change."""

    ledger: MemoryLedger
    checkouts: dict[str, Checkout] = field(default_factory=dict)
    booked: dict[str, str] = field(default_factory=dict)
    """Payment id -> the leg it was booked for (``pi_payments``, QRIS receipts)."""
    outbox: dict[tuple[str, str], Message] = field(default_factory=dict)
    responses: dict[str, str] = field(default_factory=dict)
    """Idempotency key -> the answer given (``settlement/idempotency.py``)."""
    batches: dict[str, Batch] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    """Closed month -> how many transfers it held when it closed (``closed_periods``)."""
    conversions: dict[str, Conversion] = field(default_factory=dict)
    """Reference -> the conversion (``conversions``)."""
    positions: dict[str, Position] = field(default_factory=dict)
    """Reference -> the lock position (``lock_positions``)."""
    withdrawals: dict[str, Withdrawal] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    signatures: dict[str, tuple[Signature, ...]] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    """Executed proposal ids in the order of execution (the governance log)."""
    parameters: dict[str, object] = field(default_factory=dict)
    """Treasury parameters set by executed proposals."""


@dataclass
class Rails:
    """The outside world: the Pi wallet and chain, the QRIS gateway."""

    payments: dict[str, Payment] = field(default_factory=dict)
    pi_completed: set[str] = field(default_factory=set)
    envelopes_landed: dict[str, str] = field(default_factory=dict)
    """Envelope id -> the payout key it paid: the chain takes an envelope once."""
    landings: Counter[str] = field(default_factory=Counter)
    """Payout key -> how many envelopes paid it (must be at most one)."""
    a2u_units: dict[str, int] = field(default_factory=dict)
    bank_files: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    """Batch id -> the bank's answer per line (accepted or returned): it takes a file once."""
    bank_paid: Counter[str] = field(default_factory=Counter)
    """Obligation -> how many times the bank paid it (must be at most one)."""
    mint_txs: dict[str, str] = field(default_factory=dict)
    """Signed transaction -> the mint reference it carries: the node takes a transaction once."""
    minted: Counter[str] = field(default_factory=Counter)
    """Mint reference -> how many times the token minted for it (the contract: at most once)."""
    mint_units: dict[str, int] = field(default_factory=dict)

    def supply(self) -> int:
        """The token's totalSupply: every mint (no deposit burns in these histories)."""
        return sum(self.mint_units[ref] * n for ref, n in self.minted.items())

    def submit_mint(self, tx: str, ref: str, units: int) -> None:
        """The EVM node takes a signed transaction once; the token reverts a reused reference."""
        if tx in self.mint_txs:
            return
        self.mint_txs[tx] = ref
        if self.minted[ref]:
            return
        self.minted[ref] += 1
        self.mint_units[ref] = units

    def wallet_units(self) -> int:
        """The app wallet's Pi: what Pioneers paid less what A2U sent."""
        paid = sum(p.amount_units for p in self.payments.values() if p.tender is Tender.PI)
        return paid - sum(self.a2u_units[key] * n for key, n in self.landings.items())

    def submit_a2u(self, envelope: str, key: str, units: int) -> None:
        """The chain takes a signed envelope once; a resubmission of it changes nothing."""
        if envelope in self.envelopes_landed:
            return
        self.envelopes_landed[envelope] = key
        self.landings[key] += 1
        self.a2u_units[key] = units


@dataclass(frozen=True, slots=True)
class Bugs:
    """Deliberate bugs, for the test that proves the simulator finds them (never on otherwise).

    ``idempotency_off``: a redelivered payment is booked again under a fresh transfer id;
    ``fresh_envelope``: an A2U retry signs a new envelope instead of resubmitting the stored one;
    ``fresh_mint_ref``: a mint retry signs a new transaction under a new reference instead of
    resubmitting the stored one (the first attempt is right); ``proposal_unchecked``: executing
    a proposal skips its liveness checks (executed already, nonce used, expired).
    """

    idempotency_off: bool = False
    fresh_envelope: bool = False
    fresh_mint_ref: bool = False
    proposal_unchecked: bool = False


def new_ledger(clock: FixedClock) -> MemoryLedger:
    """A ledger with the chart as policy, every account a checkout of MERCHANT and PIONEER's
    conversions, withdrawals and locks use, and the points budget funded."""
    ledger = MemoryLedger(clock, policy=chart.CHART)
    for spec in (
        chart.pi_custody(),
        chart.qris_clearing(),
        chart.mscp_budget(),
        chart.mscp_authorised(),
        chart.qris_refunds(),
        chart.conversions_pi(),
        chart.conversion_fees(),
        chart.exchange("PI"),
        chart.exchange("MSC"),
        chart.msc_onchain(),
        chart.locks_pi(),
        chart.lock_penalties(),
        chart.pioneer_pi(PIONEER),
        chart.pioneer_balance(PIONEER, "MSC"),
        chart.pioneer_balance(PIONEER, "MSCP"),
    ):
        chart.open_account(ledger, spec)
    funded = ledger.post(
        TransferRequest(
            points.funding_id("sim"), chart.mscp_authorised().code, chart.mscp_budget().code,
            points_budget_units, "MSCP", TransferCode.POINTS_FUNDED,
        )
    )  # fmt: skip
    if not funded.ok:
        raise ValueError(f"funding the points budget: {funded.code}")
    for asset in ASSETS:
        for spec in (
            chart.checkout_escrow(asset),
            chart.merchant_balance(MERCHANT, asset),
            chart.platform_fee(asset),
            chart.community_fund(asset),
        ):
            chart.open_account(ledger, spec)
    return ledger


def snapshot(db: Db, clock: FixedClock) -> Db:
    """A copy of the database to restore when a transaction rolls back (the clock is shared).

    Only the ledger is copied deeply: every other table holds frozen rows, so copying the
    tables themselves is enough (and five times cheaper than a deep copy of everything)."""
    ledger = copy.deepcopy(db.ledger, memo={id(clock): clock, id(chart.CHART): chart.CHART})
    tables = {f.name: copy.copy(getattr(db, f.name)) for f in fields(db) if f.name != "ledger"}
    return Db(ledger, **tables)
