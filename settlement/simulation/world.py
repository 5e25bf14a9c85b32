"""The simulated service's state: what its database holds (rolled back whole when a commit
fails) and what the rails hold (the outside world, which no rollback undoes)."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from settlement import chart
from settlement.checkout.model import Checkout
from settlement.tenders import Tender

MERCHANT = "UM001"
ASSETS = ("IDR", "PI", "MSC", "MSCP")


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment as its rail knows it: made by a payer for a checkout's leg."""

    id: str
    tender: Tender
    checkout_id: str
    leg_reference: str
    amount_units: int
    payer: str | None


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
    ``fresh_envelope``: an A2U retry signs a new envelope instead of resubmitting the stored one.
    """

    idempotency_off: bool = False
    fresh_envelope: bool = False


def new_ledger(clock: FixedClock) -> MemoryLedger:
    """A ledger with the chart as policy and every account a checkout of MERCHANT uses."""
    ledger = MemoryLedger(clock, policy=chart.CHART)
    for spec in (
        chart.pi_custody(),
        chart.qris_clearing(),
        chart.mscp_budget(),
        chart.mscp_authorised(),
        chart.qris_refunds(),
    ):
        chart.open_account(ledger, spec)
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
    """A copy of the database to restore when a transaction rolls back (the clock is shared)."""
    return copy.deepcopy(db, memo={id(clock): clock, id(chart.CHART): chart.CHART})
