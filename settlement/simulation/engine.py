"""The scheduler: a seed's history of checkout, conversion, withdrawal, lock and proposal
requests, rail deliveries, jobs and outbox work, interleaved one I/O boundary at a time, with a
fault chosen at every boundary (the new kinds' glue: ``pioneer.py``, ``governance.py``).

Each job is a generator that yields the boundary it is about to cross and receives the fault
there (or None). A commit runs its body on the database and keeps it, or (a crash) restores the
copy taken before it: a rolled-back transaction. The rails (payments made, envelopes landed,
payments completed, tokens minted) are never rolled back. After every step the invariants of
``msc check`` hold (``invariants.STEP_CHECKS`` and ``proposals_once``); at the end, with faults
off, the service recovers (every unbooked payment redelivered, every due job run, the outbox
drained) and every accepted request's effect exists exactly once.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, fields, replace
from functools import partial

from escrow.calendar import US_PER_S
from escrow.clock import FixedClock
from escrow.errors import InvariantViolation
from escrow.model import ResultCode, TransferFlags, TransferRequest, transfer_id
from escrow.periods import period
from escrow.refusals import Refusal
from settlement import chart
from settlement.chart import TransferCode
from settlement.check.model import CheckResult, failed, held, some
from settlement.checkout import rules
from settlement.checkout.model import Checkout, CheckoutStatus, Leg, LegStatus, leg_reference
from settlement.checkout.rules import Decision, ReleaseTerms, accounts_to_open, linked
from settlement.evm.bridge import MINT_KIND
from settlement.locks.positions import LockStatus
from settlement.shares.rules import ShareRule, parse_rule
from settlement.simulation import governance, invariants, pioneer
from settlement.simulation.faults import Boundary, Fault, Injector, fault_rate_max
from settlement.simulation.world import (
    CHECKOUT,
    CONVERT,
    LOCK,
    MERCHANT,
    PIONEER,
    Batch,
    Bugs,
    Db,
    Line,
    Message,
    Payment,
    Rails,
    new_ledger,
    snapshot,
)
from settlement.tenders import TENDER_ASSET, Tender

MONTH = "2026-09"
T0_US = period(MONTH).ends_at_us + 1 - 1800 * US_PER_S
"""Half an hour before a month ends (WIB), so every history sees the month close."""
TTL_S = 600
AUTO_RELEASE_S = 1200
client_retries_max = 3
redelivery_delay_steps_max = 8
reorder_delay_steps_max = 5
workers_max = 2
jobs_in_flight_max = 8
"""Requests in flight at once (a bounded server): more wait outside, as clients would."""
arrival_share = 0.5
"""The share of steps at which a new request arrives; the others only advance the jobs."""
late_payment_share = 0.2
"""Payments (and hand-overs, refunds) for any checkout, late or for a closed one; the rest pay
an open leg (act on a paid checkout)."""
recovery_rounds_max = 50
ARRIVAL_NAMESPACE = "sim.arrival"
OUTBOX_COMPLETE = "pi.complete"
OUTBOX_A2U = pioneer.OUTBOX_A2U
OUTBOX_BANK_FILE = "payout.file"
PAYOUT_HOLD_NAMESPACE = "sim.payout.hold"
PAYOUT_PAID_NAMESPACE = "sim.payout.paid"
PAYOUT_RETURNED_NAMESPACE = "sim.payout.returned"
bank_return_share = 0.1
"""The share of payout lines the bank returns (a closed account, a wrong name)."""
RULE: ShareRule = parse_rule(
    "default",
    [
        {"to": "platform_fee", "percent_bp": 100},
        {"to": "community_fund", "percent_bp": 50},
        {"to": "merchant", "remaining": True},
    ],
    1000,
    None,
)
SOURCES = {Tender.PI: chart.pi_custody(), Tender.QRIS: chart.qris_clearing()}
_CODES = {Tender.PI: TransferCode.PI_RECEIVED, Tender.QRIS: TransferCode.QRIS_RECEIVED}
_INBOUND = {Tender.PI: Boundary.PI_API, Tender.QRIS: Boundary.QRIS_GATEWAY}
_CREDITS = {CONVERT: chart.conversions_pi(), LOCK: chart.locks_pi()}
"""The expectation's credit account of a Pi payment that is for no checkout."""
_WORKLOAD = (
    ("create", 2),
    ("pay", 7),
    ("handover", 2),
    ("refund", 1),
    ("dispute", 1),
    ("decide", 1),
    ("time", 1),
    ("work", 3),
    ("close", 1),
    ("payout", 1),
    ("convert", 2),
    ("withdraw", 2),
    ("lock", 2),
    ("unlock", 1),
    ("days", 1),
    ("propose", 2),
    ("sign", 4),
    ("execute", 2),
)
_DAYS_S = (86_400, 7 * 86_400, 30 * 86_400)
"""How far a ``days`` step moves the clock: locks accrue, some mature."""
lock_terms_s_max = 91 * 86_400
"""Past every lock's term: the recovery's first round matures them all."""

Step = Generator[Boundary, Fault | None, None]
Check = Callable[[Db, Rails], CheckResult]


class Failed(Exception):
    """A job's boundary failed (crash, timeout, 5xx): its caller retries, or not."""


@dataclass
class Job:
    """One request or delivery in flight."""

    name: str
    start: Callable[[], Step]
    retries: int
    accept: Callable[[], None] | None = None
    gen: Step | None = None
    waiting: Boundary | None = None
    delay: int = 0


@dataclass
class Outcome:
    """What one seed's history did."""

    seed: int
    steps: int
    faults: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    refused: int = 0
    failure: str | None = None
    replay: str = ""


class Simulation:
    """One seed's history (see the module doc)."""

    def __init__(self, seed: int, steps: int, bugs: Bugs | None = None) -> None:
        self.seed = seed
        self.steps = steps
        self.bugs = bugs or Bugs()
        self.rng = random.Random(seed)  # noqa: S311 (a replayable stream, not a secret)
        self.clock = FixedClock(T0_US)
        self.db = Db(new_ledger(self.clock))
        self.rails = Rails()
        self.injector = Injector(self.rng, self.rng.uniform(0.02, fault_rate_max))
        self.jobs: list[Job] = []
        self.accepted: list[tuple[str, str]] = []
        self.refused = 0
        self.serial = 0
        self.deliveries: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.board = governance.board(self)
        self.step_checks = (*invariants.STEP_CHECKS, invariants.proposals_once(self.board.officers))

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> Outcome:
        """Run the history, recover, check; the first failed invariant ends it."""
        outcome = Outcome(self.seed, self.steps)
        try:
            for step in range(1, self.steps + 1):
                if len(self.jobs) < jobs_in_flight_max and self.rng.random() < arrival_share:
                    self._arrive()
                self._step()
                self._require(self.step_checks, f"step {step}")
            self._recover()
            self._require(self._final_checks(), "after recovery")
        except InvariantViolation as exc:
            outcome.failure = str(exc)
        except Exception as exc:  # a crash of the rules or of the engine is a failure too
            outcome.failure = f"{type(exc).__name__}: {exc}"
        outcome.faults = self.injector.injected
        outcome.accepted = len(self.accepted)
        outcome.refused = self.refused
        outcome.replay = replay_command(self.seed, self.steps, self.bugs)
        return outcome

    def _require(self, checks: tuple[Check, ...], when: str) -> None:
        for check in checks:
            result = check(self.db, self.rails)
            if result.failed:
                raise InvariantViolation(f"{when}: {result.name}: {result.detail}")

    def _final_checks(self) -> tuple[Check, ...]:
        return (
            *self.step_checks,
            invariants.payments_booked_once,
            invariants.pi_completed,
            invariants.a2u_once,
            invariants.nothing_stuck,
            invariants.merchant_paid_once(RULE),
            invariants.payouts_once,
            invariants.proposals_signed(self.board.officers),
            self._accepted_effects,
        )

    def _step(self) -> None:
        runnable = [job for job in self.jobs if job.delay == 0]
        for job in self.jobs:
            job.delay = max(job.delay - 1, 0)
        if runnable:
            self._advance(self.rng.choice(runnable))

    def _advance(self, job: Job) -> None:
        """Cross the job's next boundary with the fault chosen for it."""
        if job.gen is None:
            job.gen = job.start()
            job.waiting = next(job.gen, None)
        if job.waiting is None:
            self.jobs.remove(job)
            return
        fault = self.injector.choose(job.waiting)
        if fault is Fault.REORDER:  # this one waits; later messages overtake it
            job.delay = self.rng.randint(1, reorder_delay_steps_max)
            return
        try:
            job.waiting = job.gen.send(fault)
        except StopIteration:
            self.jobs.remove(job)
            if job.accept is not None:
                job.accept()
        except Refusal:
            self.jobs.remove(job)
            self.refused += 1
        except Failed:
            self.jobs.remove(job)
            if job.retries != 0:
                delay = self.rng.randint(1, redelivery_delay_steps_max)
                self.jobs.append(Job(job.name, job.start, job.retries - 1, job.accept, delay=delay))

    def _recover(self) -> None:
        """Faults off; time passes beyond every deadline; every unbooked payment redelivered,
        every due checkout expired or released, the outbox drained (as the beat and the Pi
        recovery job do)."""
        self.injector.enabled = False
        for _ in range(recovery_rounds_max):
            self.clock.advance(TTL_S + AUTO_RELEASE_S + 1 + lock_terms_s_max)
            for payment in self.rails.payments.values():
                if payment.id not in self.db.booked:
                    self.deliver(payment)
            self._schedule_due()
            for co in list(self.db.checkouts.values()):  # the treasury decides every dispute
                if co.status is CheckoutStatus.DISPUTED:
                    self._client_act("decide_refund", co.id)
            self._close_month()
            if self._owed_lines("due") and all(b.confirmed for b in self.db.batches.values()):
                self._cut()
            for batch_id in self.rails.bank_files:
                if not self.db.batches[batch_id].confirmed:
                    self._bank_confirms(batch_id)
            if self.db.outbox:
                self._spawn_worker()
            if not self.jobs:
                return
            while self.jobs:
                for job in list(self.jobs):
                    job.delay = 0
                    self._advance(job)
                self._require(self.step_checks, "recovery")
        raise InvariantViolation("recovery did not finish")

    # -- the workload ------------------------------------------------------------------------
    def _arrive(self) -> None:
        """What the outside world asks for this step, drawn from the seed."""
        kinds, weights = zip(*_WORKLOAD, strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        checkouts = sorted(self.db.checkouts)
        if kind == "create":
            self._client_create()
        elif kind == "pay" and checkouts:
            open_ = [c for c in checkouts if self.db.checkouts[c].status is CheckoutStatus.OPEN]
            late = not open_ or self.rng.random() < late_payment_share
            self._pay(self.db.checkouts[self.rng.choice(checkouts if late else open_)])
        elif kind in ("handover", "refund", "dispute") and checkouts:
            paid = [c for c in checkouts if self.db.checkouts[c].status is CheckoutStatus.PAID]
            stray = not paid or self.rng.random() < late_payment_share
            self._client_act(kind, self.rng.choice(checkouts if stray else paid))
        elif kind == "decide":
            disputed = [
                c for c in checkouts if self.db.checkouts[c].status is CheckoutStatus.DISPUTED
            ]
            if disputed:
                verdict = self.rng.choice(["decide_release", "decide_refund"])
                self._client_act(verdict, self.rng.choice(disputed))
        elif kind == "time":
            self.clock.advance(self.rng.choice([1, 60, TTL_S, AUTO_RELEASE_S]))
            self._schedule_due()
        elif kind == "work" and self.db.outbox:
            self._spawn_worker()
        elif kind == "close":
            self._close_month()
        elif kind == "payout":
            self._cut()
        elif kind == "days":
            self.clock.advance(self.rng.choice(_DAYS_S))
            self._schedule_due()
        elif kind in _CLIENTS:
            _CLIENTS[kind](self)

    def next_id(self, prefix: str) -> str:
        """A fresh id (a key, a checkout, a payment), numbered in the history's order."""
        self.serial += 1
        return f"{prefix}{self.serial:015d}"

    def _client_create(self) -> None:
        key = self.next_id("key-")
        checkout_id = self.next_id("co_s")
        idr = self.rng.randint(1, 10**7)
        tenders = self.rng.choice([(Tender.PI,), (Tender.QRIS,), (Tender.PI, Tender.QRIS)])
        amounts = {Tender.PI: self.rng.randint(1, 10**9), Tender.QRIS: idr}

        def body() -> None:
            if key in self.db.responses:
                return
            now = self.clock.now_us()
            legs = tuple(
                Leg(leg_reference(checkout_id, t), t, TENDER_ASSET[t], 5000, idr, amounts[t])
                for t in tenders
            )
            self.db.checkouts[checkout_id] = Checkout(
                checkout_id, MERCHANT, idr * len(legs), 0, None, None, CheckoutStatus.OPEN,
                now, now + TTL_S * US_PER_S, AUTO_RELEASE_S, legs,
            )  # fmt: skip
            self.db.responses[key] = checkout_id

        self.client("create", key, checkout_id, body)

    def _client_act(self, kind: str, checkout_id: str) -> None:
        key = self.next_id("key-")

        def body() -> None:
            if key in self.db.responses:
                return
            co = self.db.checkouts[checkout_id]
            now = self.clock.now_us()
            decisions: dict[str, Callable[[], Decision]] = {
                "handover": lambda: rules.release(co, ReleaseTerms(RULE), now, "handover"),
                "refund": lambda: rules.refund(co, now, None),
                "dispute": lambda: rules.dispute(co, PIONEER, now),
                "decide_release": lambda: rules.release(
                    co, ReleaseTerms(RULE), now, "decision_release"
                ),
                "decide_refund": lambda: rules.refund_dispute(co, now, None),
            }
            self._apply(decisions[kind]())
            self.db.responses[key] = checkout_id

        self.client(kind, key, checkout_id, body)

    def client(
        self,
        kind: str,
        key: str,
        subject: str,
        body: Callable[[], None],
        then: Callable[[], None] | None = None,
    ) -> None:
        """A client request with an Idempotency-Key, retried on errors and timeouts; ``then``
        is what the client does once answered (a Pioneer pays the Pi a conversion expects)."""

        def start() -> Step:
            yield from self.commit(body)

        def accept() -> None:
            self.accepted.append((kind, subject))
            if then is not None:
                then()

        self.jobs.append(Job(f"{kind}:{key}", start, client_retries_max, accept))

    def _pay(self, co: Checkout) -> None:
        """A payer pays a leg on its rail (exactly, over, under, or again), then it is told."""
        unpaid = [leg for leg in co.legs if leg.status is LegStatus.OPEN]
        leg = self.rng.choice(unpaid or co.legs)
        units = max(leg.amount_units + self.rng.choice([0, 0, 0, 7, -1]), 1)
        payer = PIONEER if leg.tender is Tender.PI else None
        payment = Payment(self.next_id("pay-"), leg.tender, co.id, leg.reference, units, payer)
        self.rails.payments[payment.id] = payment
        self.deliver(payment)

    def deliver(self, payment: Payment, delay: int = 0) -> None:
        """Pi's callback (approve, complete) or the QRIS gateway's notification, retried by the
        rail until answered; a duplicate delivers it again."""

        def start() -> Step:
            fault = yield _INBOUND[payment.tender]
            if fault is Fault.DUPLICATE:
                self.deliver(payment, self.rng.randint(0, reorder_delay_steps_max))
            if fault in (Fault.ERROR_5XX, Fault.TIMEOUT):
                raise Failed(str(fault))
            if payment.tender is Tender.PI:
                yield from self.call(Boundary.HORIZON, None)  # the transaction, verified
            yield from self.commit(lambda: self._book(payment))

        self.jobs.append(Job(f"deliver:{payment.id}", start, -1, delay=delay))

    def _book(self, payment: Payment) -> None:
        """Book a payment once and let its checkout decide (``u2a.complete``, QRIS posting)."""
        self.deliveries[payment.id] += 1
        if payment.id in self.db.booked and not self.bugs.idempotency_off:
            return
        key = payment.id
        if self.bugs.idempotency_off:
            key = f"{payment.id}#{self.deliveries[payment.id]}"
        asset = TENDER_ASSET[payment.tender]
        result = self.db.ledger.post(
            TransferRequest(
                transfer_id(ARRIVAL_NAMESPACE, key),
                SOURCES[payment.tender].code,
                _CREDITS.get(payment.purpose, chart.checkout_escrow(asset)).code,
                payment.amount_units,
                asset,
                _CODES[payment.tender],
                external_ref=payment.id,
            )
        )
        if result.code is ResultCode.EXISTS:
            return
        if not result.ok:
            raise InvariantViolation(f"arrival of {payment.id} refused: {result.code}")
        self.db.booked[payment.id] = payment.leg_reference
        if payment.purpose == CONVERT:
            pioneer.conversion_paid(self, payment)
        elif payment.purpose != CHECKOUT:
            pioneer.lock_paid(self, payment)
        else:
            co = self.db.checkouts[payment.checkout_id]
            now = self.clock.now_us()
            self._apply(
                rules.receive(co, payment.leg_reference, payment.amount_units, payment.payer,
                              payment.id, now, None)
            )  # fmt: skip
        if payment.tender is Tender.PI:
            self.enqueue(Message(OUTBOX_COMPLETE, payment.id))

    def _schedule_due(self) -> None:
        """The beat: one job per checkout due to expire or be released (``expire_due``)."""
        now = self.clock.now_us()
        for co in list(self.db.checkouts.values()):
            if _due(co, now):
                self._job_due(co.id)
        for reference, pos in sorted(self.db.positions.items()):
            if pos.status is LockStatus.OPEN:
                self._job_lock(reference)

    def _job_lock(self, reference: str) -> None:
        """The beat's accrual of an open lock, or its maturity once due (``mature_due``)."""

        def body() -> None:
            pos = self.db.positions[reference]  # read again under the row's lock
            if pioneer.due(pos, self.clock.now_us()):
                pioneer.close(self, reference)
            else:
                pioneer.accrue(self, reference)

        def start() -> Step:
            yield from self.commit(body)

        self.jobs.append(Job(f"lock:{reference}", start, -1))

    def _job_due(self, checkout_id: str) -> None:
        def body() -> None:
            co = self.db.checkouts[checkout_id]  # read again under the row's lock
            now = self.clock.now_us()
            if not _due(co, now):
                return
            if co.status is CheckoutStatus.OPEN:
                self._apply(rules.expire(co, now, None))
            else:
                self._apply(rules.release(co, ReleaseTerms(RULE), now, "auto_release"))

        def start() -> Step:
            yield from self.commit(body)

        self.jobs.append(Job(f"due:{checkout_id}", start, -1))

    def _close_month(self) -> None:
        """The month close, once the month has ended (``msc books close``): once, however often
        it is asked."""
        if MONTH in self.db.closed or self.clock.now_us() <= period(MONTH).ends_at_us:
            return

        def body() -> None:
            if MONTH in self.db.closed:
                return
            self.db.closed[MONTH] = self.db.ledger.close_period(MONTH).transfer_count

        def start() -> Step:
            yield from self.commit(body)

        self.jobs.append(Job(f"close:{MONTH}", start, client_retries_max))

    def _cut(self) -> None:
        """The daily payout cut (``payouts/cut.py``): what the merchant and the QRIS payers are
        owed, each line held to ``bank:payouts:IDR``, the file queued for the bank; one batch
        open at a time."""
        batch_id = self.next_id("batch-")

        def body() -> None:
            if batch_id in self.db.batches:  # a retry of a cut that committed: its batch stands
                return
            if any(not batch.confirmed for batch in self.db.batches.values()):
                return
            lines = self._owed_lines(batch_id)
            if not lines:
                return
            chart.ensure_open(self.db.ledger, chart.bank_payouts())
            holds = [
                TransferRequest(
                    transfer_id(PAYOUT_HOLD_NAMESPACE, line.obligation),
                    line.debit,
                    chart.bank_payouts().code,
                    line.amount_units,
                    "IDR",
                    TransferCode.PAYOUT_HOLD,
                    TransferFlags.PENDING,
                )
                for line in lines
            ]
            refused = [r for r in self.db.ledger.post_batch(linked(holds)) if not r.ok]
            if refused:
                raise InvariantViolation(f"payout hold refused: {refused[0].code}")
            self.db.batches[batch_id] = Batch(batch_id, tuple(lines))
            self.enqueue(Message(OUTBOX_BANK_FILE, batch_id))

        def start() -> Step:
            yield from self.commit(body)

        self.jobs.append(Job(f"cut:{batch_id}", start, client_retries_max))

    def _owed_lines(self, batch_id: str) -> list[Line]:
        """What the merchant and the QRIS payers are owed and not yet in a batch."""
        lines: list[Line] = []
        for spec in (chart.merchant_balance(MERCHANT, "IDR"), chart.qris_refunds()):
            account = self.db.ledger.account(spec.code)
            free = account.credits_posted - account.debits_posted - account.debits_pending
            if free > 0:
                lines.append(Line(f"{batch_id}:{len(lines)}", spec.code, free))
        return lines

    def _bank_takes(self, batch_id: str) -> None:
        """The bank receives the file: it takes a file once, pays the lines it accepts, and
        answers later (the confirmation file)."""
        if batch_id in self.rails.bank_files:
            return
        batch = self.db.batches[batch_id]
        answers = tuple(self.rng.random() >= bank_return_share for _ in batch.lines)
        self.rails.bank_files[batch_id] = answers
        for line, accepted in zip(batch.lines, answers, strict=True):
            if accepted:
                self.rails.bank_paid[line.obligation] += 1
        self._bank_confirms(batch_id)

    def _bank_confirms(self, batch_id: str, delay: int = 0) -> None:
        """The bank's confirmation file, uploaded by an operator until it is taken
        (``payouts/confirm.py``): each line posted or voided once."""

        def body() -> None:
            batch = self.db.batches[batch_id]
            if batch.confirmed:
                return
            answers = self.rails.bank_files[batch_id]
            resolutions = [
                TransferRequest(
                    transfer_id(
                        PAYOUT_PAID_NAMESPACE if accepted else PAYOUT_RETURNED_NAMESPACE,
                        line.obligation,
                    ),
                    "",
                    "",
                    line.amount_units if accepted else 0,
                    "IDR",
                    TransferCode.PAYOUT_PAID if accepted else TransferCode.PAYOUT_RETURNED,
                    TransferFlags.POST_PENDING if accepted else TransferFlags.VOID_PENDING,
                    pending_id=transfer_id(PAYOUT_HOLD_NAMESPACE, line.obligation),
                )
                for line, accepted in zip(batch.lines, answers, strict=True)
            ]
            refused = [r for r in self.db.ledger.post_batch(linked(resolutions)) if not r.ok]
            if refused:
                raise InvariantViolation(f"payout resolution refused: {refused[0].code}")
            self.db.batches[batch_id] = replace(batch, confirmed=True)

        def start() -> Step:
            fault = yield Boundary.BANK_FILE
            if fault is Fault.DUPLICATE:
                self._bank_confirms(batch_id, self.rng.randint(0, reorder_delay_steps_max))
            if fault in (Fault.ERROR_5XX, Fault.TIMEOUT):
                raise Failed(str(fault))
            yield from self.commit(body)

        self.jobs.append(Job(f"confirm:{batch_id}", start, -1, delay=delay))

    def _spawn_worker(self) -> None:
        """An outbox worker; two may claim the same message (a lease that ran out)."""
        if sum(job.name == "worker" for job in self.jobs) >= workers_max:
            return

        def start() -> Step:
            while self.db.outbox:
                message = self.db.outbox[self.rng.choice(sorted(self.db.outbox))]
                yield from self._send(message)
                yield from self.commit(partial(self._confirm, message))

        self.jobs.append(Job("worker", start, 0))

    def _send(self, message: Message) -> Step:
        """The message's network call, made safe to repeat by the rail's own key."""
        if message.kind == OUTBOX_COMPLETE:
            yield from self.call(Boundary.PI_API, lambda: self.rails.pi_completed.add(message.key))
            return
        if message.kind == OUTBOX_BANK_FILE:
            yield from self.call(Boundary.BANK_FILE, partial(self._bank_takes, message.key))
            return
        if message.kind == MINT_KIND:
            yield from self._mint(message)
            return
        self.attempts[message.key] += 1
        envelope = f"env:{message.key}"  # signed and stored before the first submission
        if self.bugs.fresh_envelope:
            envelope = f"{envelope}:{self.attempts[message.key]}"
        yield from self.call(
            Boundary.HORIZON,
            lambda: self.rails.submit_a2u(envelope, message.key, message.amount_units),
        )

    def _mint(self, message: Message) -> Step:
        """The mint, signed and stored once before its first submission (``txstore``), under
        the withdrawal's transfer id as its reference (the token mints a reference once)."""
        self.attempts[message.key] += 1
        tx, ref = f"tx:{message.key}", message.key
        if self.bugs.fresh_mint_ref and self.attempts[message.key] > 1:  # a retry
            tx, ref = f"{tx}:{self.attempts[message.key]}", f"{ref}#{self.attempts[message.key]}"
        yield from self.call(
            Boundary.EVM_NODE, lambda: self.rails.submit_mint(tx, ref, message.amount_units)
        )

    def _confirm(self, message: Message) -> None:
        """The message done; an A2U's payout posted from the Pioneer's account, a mint's
        withdrawal minted."""
        self.db.outbox.pop((message.kind, message.key), None)
        if message.kind == MINT_KIND:
            pioneer.mint_minted(self, message)
        if message.kind != OUTBOX_A2U or message.uid is None:
            return
        result = self.db.ledger.post(
            TransferRequest(
                invariants.payout_id(message.key),
                chart.pioneer_pi(message.uid).code,
                chart.pi_custody().code,
                message.amount_units,
                "PI",
                TransferCode.PI_PAYOUT,
            )
        )
        if not result.ok and result.code is not ResultCode.EXISTS:
            raise InvariantViolation(f"payout {message.key} refused: {result.code}")

    # -- boundaries --------------------------------------------------------------------------
    def commit(self, body: Callable[[], None]) -> Step:
        """One database transaction: kept, or rolled back whole on a crash (the copy is taken
        only then: the fault is drawn before the body runs)."""
        fault = yield Boundary.COMMIT
        saved = snapshot(self.db, self.clock) if fault is Fault.CRASH else None
        body()  # a refusal comes from the rules, before anything is written
        if saved is not None:
            self.db = saved
            raise Failed("crash")
        if fault is Fault.TIMEOUT:  # committed; the answer lost
            raise Failed("timeout")

    def call(self, boundary: Boundary, effect: Callable[[], None] | None) -> Step:
        """A call out to a rail: a 5xx has no effect, a timeout had it, a duplicate had it
        twice."""
        fault = yield boundary
        if fault is Fault.ERROR_5XX:
            raise Failed(str(fault))
        if effect is not None:
            effect()
            if fault is Fault.DUPLICATE:
                effect()
        if fault is Fault.TIMEOUT:
            raise Failed(str(fault))

    # -- the use cases' common tail ----------------------------------------------------------
    def _apply(self, decision: Decision) -> None:
        """Post the decision as one linked batch, store the checkout, queue its Pi refunds."""
        if decision.transfers:
            for spec in accounts_to_open(decision):
                chart.ensure_open(self.db.ledger, spec)
            results = self.db.ledger.post_batch(linked(decision.transfers))
            refused = [r for r in results if not r.ok]
            if refused:
                raise InvariantViolation(f"ledger refused {refused[0].code} for {decision}")
        self.db.checkouts[decision.checkout.id] = decision.checkout
        for refund in decision.refunds:
            if refund.asset == "PI" and refund.payer is not None:
                message = Message(OUTBOX_A2U, str(refund.transfer_id), refund.amount_units,
                                  refund.payer)  # fmt: skip
                self.enqueue(message)

    def enqueue(self, message: Message) -> None:
        """Queue a side effect in the outbox, once per (kind, key)."""
        self.db.outbox.setdefault((message.kind, message.key), message)

    def _accepted_effects(self, db: Db, _rails: Rails) -> CheckResult:
        """Every accepted client request's effect exists."""
        wanted = {"create": None, "dispute": None, "handover": CheckoutStatus.RELEASED,
                  "decide_release": CheckoutStatus.RELEASED, "refund": CheckoutStatus.REFUNDED,
                  "decide_refund": CheckoutStatus.REFUNDED}  # fmt: skip
        off = [
            f"{kind} {subject}"
            for kind, subject in self.accepted
            if not (
                _in_effect(db, kind, subject)
                if kind in _EFFECTS
                else subject in db.checkouts
                and (wanted[kind] is None or db.checkouts[subject].status is wanted[kind])
            )
        ]
        if off:
            return failed("accepted_effects", some(off))
        return held("accepted_effects", f"{len(self.accepted)} accepted requests in effect")


def _due(co: Checkout, now_us: int) -> bool:
    """Whether the beat expires (open, past its time) or releases (paid, past its release)."""
    if co.status is CheckoutStatus.OPEN:
        return now_us >= co.expires_at_us
    return co.status is CheckoutStatus.PAID and now_us >= (co.release_at_us or now_us + 1)


_CLIENTS: dict[str, Callable[[Simulation], None]] = {
    "convert": pioneer.client_convert,
    "withdraw": pioneer.client_withdraw,
    "lock": pioneer.client_lock,
    "unlock": pioneer.client_unlock,
    "propose": governance.client_propose,
    "sign": governance.client_sign,
    "execute": governance.client_execute,
}
_EFFECTS: dict[str, Callable[[Db, str], bool]] = {
    "convert": lambda db, ref: ref in db.conversions,
    "withdraw": lambda db, key: key in db.responses and db.responses[key] in db.withdrawals,
    "lock": lambda db, ref: ref in db.positions,
    "unlock": lambda db, ref: db.positions[ref].status in (LockStatus.UNLOCKED,
                                                           LockStatus.MATURED),
    "propose": lambda db, key: db.responses.get(key) in db.proposals,
    "sign": lambda db, key: key in db.responses,
    "execute": lambda db, key: db.responses.get(key) in db.executed,
}  # fmt: skip
"""What an accepted request of each new kind left in effect, by its subject."""


def _in_effect(db: Db, kind: str, subject: str) -> bool:
    return _EFFECTS[kind](db, subject)


def replay_command(seed: int, steps: int, bugs: Bugs) -> str:
    """The one line that replays this history."""
    flags = "".join(f" --bug {f.name}" for f in fields(Bugs) if getattr(bugs, f.name))
    return f"msc-sim --seed {seed} --steps {steps}{flags}"


def simulate(seed: int, steps: int, bugs: Bugs | None = None) -> Outcome:
    """One seed's history, recovered and checked."""
    return Simulation(seed, steps, bugs).run()
