"""The Pioneer's own money in the simulator: Pi to MSC conversions, MSC withdrawals minted on the
EVM node, and locks of Pi that earn MSC Points.

Each request is a client job with an Idempotency-Key; its Pi arrives as a Pi payment (purpose
``convert`` or ``lock``) through the same delivery and booking as a checkout's leg, then the
glue decides as the use cases do (``conversions/receipt.py``, ``locks/opening.py``,
``locks/closing.py``, ``evm/bridge.py``), posting the transfers their own builders make.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from escrow.calendar import US_PER_S, from_us, to_us
from escrow.errors import InvariantViolation
from escrow.model import Result, ResultCode
from settlement import chart, parameters
from settlement.checkout.rules import linked
from settlement.conversions import conversion as conversions
from settlement.conversions import receipt
from settlement.conversions.conversion import Conversion, ConversionStatus
from settlement.evm import bridge
from settlement.locks import closing, opening
from settlement.locks import positions as locks
from settlement.locks.positions import LockRefused, LockStatus, Position
from settlement.locks.reward import US_PER_DAY, accrued_units, days_elapsed, rate_per_unit
from settlement.simulation.world import CONVERT, LOCK, PIONEER, Message, Payment, Withdrawal
from settlement.tenders import Tender

if TYPE_CHECKING:
    from settlement.simulation.engine import Simulation

CHAIN_ID = 31337
WALLET = "0x" + "ab" * 20
OUTBOX_A2U = "pi.a2u"
"""The A2U payout a refund or a returned principal owes (as the checkout's refunds)."""
quote_ttl_s = (30, 120, 600)
"""How long a firm quote holds: some conversions are paid after theirs expired."""
sen_per_pi_min, sen_per_pi_max = 100, 10**6
conversion_fee_bp = 50
LOCK_RATES = {30: Decimal("0.01"), 60: Decimal("0.02"), 90: Decimal("0.03")}
"""MSC Points per Pi per day, as the treasury's ``lock_rate_{n}d`` parameters."""
lock_principal_units_max = 600 * 10**7
"""Up to 600 Pi: 1,620 points at the 90-day rate, so the budget covers a few locks at once."""
withdraw_over_share = 0.2
"""Withdrawals asking for more MSC than the Pioneer holds (refused, nothing booked)."""


# -- conversions ---------------------------------------------------------------------------------
def client_convert(sim: Simulation) -> None:
    """A Pioneer converts at a firm quote; once answered, pays its Pi."""
    key = sim.next_id("key-")
    conversion_id = uuid.UUID(int=sim.rng.getrandbits(128))
    reference = conversions.REFERENCE_PREFIX + conversion_id.hex
    sell = sim.rng.randint(1, 10**9)
    buy = max(sell * sim.rng.randint(sen_per_pi_min, sen_per_pi_max) // 10**7, 1)
    fee = sell * conversion_fee_bp // 10_000
    ttl_s = sim.rng.choice(quote_ttl_s)

    def body() -> None:
        if key in sim.db.responses:
            return
        now = sim.clock.now_us()
        sim.db.conversions[reference] = Conversion(
            conversion_id, PIONEER, uuid.UUID(int=conversion_id.int ^ 1), reference, sell, buy, 0,
            ConversionStatus.QUOTED, from_us(now), from_us(now + ttl_s * US_PER_S), None, None,
            None, None, fee, None, None, None,
        )  # fmt: skip
        sim.db.responses[key] = reference

    sim.client("convert", key, reference, body, then=lambda: _pay(sim, CONVERT, reference, sell))


def _pay(sim: Simulation, purpose: str, reference: str, units: int) -> None:
    """The Pioneer pays the expected Pi from the Pi app: one payment, exactly the amount."""
    payment = Payment(sim.next_id("pay-"), Tender.PI, reference, reference, units, PIONEER,
                      purpose)  # fmt: skip
    sim.rails.payments[payment.id] = payment
    sim.deliver(payment)


def conversion_paid(sim: Simulation, payment: Payment) -> None:
    """Convert at the quote while it holds, else refund (``receipt.conversion_paid``; no rate
    panel here, so an expired quote is never quoted again)."""
    conv = sim.db.conversions[payment.leg_reference]
    if conv.status is not ConversionStatus.QUOTED:
        return
    if payment.amount_units != conv.sell_units:
        raise InvariantViolation(f"{conv.reference} paid {payment.amount_units}")
    now = sim.clock.now_us()
    fee = conv.fee_units or 0
    if from_us(now) <= conv.expires_at:
        chart.ensure_open(sim.db.ledger, chart.pioneer_balance(conv.uid, conversions.BUY_ASSET))
        terms = receipt.Terms(conv.buy_units, fee, None)
        batch = linked(receipt.exchange_batch(conv, payment.id, terms))
        _require_ok(sim.db.ledger.post_batch(batch), f"converting {conv.reference}")
        sim.db.conversions[conv.reference] = replace(
            conv, status=ConversionStatus.CONVERTED, paid_at=from_us(now), payment_id=payment.id,
            converted_at=from_us(now), converted_units=conv.buy_units,
        )  # fmt: skip
        return
    chart.ensure_open(sim.db.ledger, chart.pioneer_pi(conv.uid))
    refund = receipt.refund_request(conv, payment.id)
    _require_ok([sim.db.ledger.post(refund)], f"refunding {conv.reference}")
    sim.db.conversions[conv.reference] = replace(
        conv, status=ConversionStatus.REFUNDED, paid_at=from_us(now), payment_id=payment.id,
        refunded_at=from_us(now), refund_code=receipt.ConversionRefused.code,
    )  # fmt: skip
    sim.enqueue(Message(OUTBOX_A2U, str(refund.id), conv.sell_units, conv.uid))


# -- withdrawals and mints -----------------------------------------------------------------------
def client_withdraw(sim: Simulation) -> None:
    """The Pioneer withdraws MSC to their wallet (``bridge.withdraw``): booked to
    ``msc:onchain`` with the mint queued, or refused with nothing booked."""
    key = sim.next_id("wd-")
    holder = chart.pioneer_balance(PIONEER, conversions.BUY_ASSET).code
    held = sim.db.ledger.balance(holder).available
    over = sim.rng.random() < withdraw_over_share
    if held <= 0 and not over:
        return
    amount = held + sim.rng.randint(1, 100) if over else sim.rng.randint(1, held)

    def body() -> None:
        if key in sim.db.responses:
            return
        chart.ensure_open(sim.db.ledger, chart.pioneer_balance(PIONEER, conversions.BUY_ASSET))
        request = bridge.withdrawal_request(CHAIN_ID, holder, WALLET, amount, key)
        result = sim.db.ledger.post(request)
        if not result.ok:
            raise bridge.WithdrawalRefusedError(str(result.code), f"refused {request.id}")
        sim.db.withdrawals[str(request.id)] = Withdrawal(str(request.id), holder, amount)
        sim.enqueue(Message(bridge.MINT_KIND, str(request.id), amount, holder))
        sim.db.responses[key] = str(request.id)

    sim.client("withdraw", key, key, body)


def mint_minted(sim: Simulation, message: Message) -> None:
    """The mint's message done: the withdrawal is minted (``MintHandler``)."""
    found = sim.db.withdrawals[message.key]
    sim.db.withdrawals[message.key] = replace(found, minted=True)


# -- locks ---------------------------------------------------------------------------------------
def client_lock(sim: Simulation) -> None:
    """A Pioneer asks for a lock (``positions.create``); once answered, pays the principal."""
    key = sim.next_id("key-")
    position_id = uuid.UUID(int=sim.rng.getrandbits(128))
    reference = locks.REFERENCE_PREFIX + position_id.hex
    term = sim.rng.choice(parameters.LOCK_TERMS_DAYS)
    principal = sim.rng.randint(1, lock_principal_units_max)

    def body() -> None:
        if key in sim.db.responses:
            return
        per_unit = rate_per_unit(LOCK_RATES[term])
        reward_max = accrued_units(principal, per_unit, term)
        if reward_max > sim.db.ledger.balance(chart.mscp_budget().code).available:
            raise LockRefused(f"budget cannot cover {reward_max}", code="lock_budget_exhausted")
        now = sim.clock.now_us()
        sim.db.positions[reference] = Position(
            position_id, PIONEER, reference, term, principal, LOCK_RATES[term], per_unit,
            reward_max, "a2u", LockStatus.EXPECTED, from_us(now),
            from_us(now + locks.pay_within_s * US_PER_S), None, None, None, 0, 0, None, None,
            None, None,
        )  # fmt: skip
        sim.db.responses[key] = reference

    sim.client("lock", key, reference, body, then=lambda: _pay(sim, LOCK, reference, principal))


def lock_paid(sim: Simulation, payment: Payment) -> None:
    """Open the position with its maximum reward reserved, or refuse and refund it when the
    budget was spent since (``opening.lock_paid``)."""
    pos = sim.db.positions[payment.leg_reference]
    if pos.status is not LockStatus.EXPECTED:
        return
    if payment.amount_units != pos.principal_units:
        raise InvariantViolation(f"{pos.reference} paid {payment.amount_units}")
    ledger, now = sim.db.ledger, sim.clock.now_us()
    if pos.reward_max > 0:
        chart.ensure_open(ledger, chart.pioneer_balance(pos.uid, opening.MSCP))
        reserved = ledger.post(opening.reservation(pos, payment.id))
        if reserved.code is ResultCode.EXCEEDS_CREDITS:
            chart.ensure_open(ledger, chart.pioneer_pi(pos.uid))
            refund = opening.refund_request(pos, payment.id)
            _require_ok([ledger.post(refund)], f"refunding {pos.reference}")
            sim.db.positions[pos.reference] = replace(
                pos, status=LockStatus.REFUSED, payment_id=payment.id,
                refusal_code=opening.BUDGET_EXHAUSTED,
            )  # fmt: skip
            sim.enqueue(Message(OUTBOX_A2U, str(refund.id), pos.principal_units, pos.uid))
            return
        _require_ok([reserved], f"reserving {pos.reference}")
    sim.db.positions[pos.reference] = replace(
        pos, status=LockStatus.OPEN, payment_id=payment.id, started_at=from_us(now),
        matures_at=from_us(now + pos.term_days * US_PER_DAY),
    )  # fmt: skip


def _accrued(pos: Position, now_us: int) -> Position:
    """The position accrued up to now, from its start (``accrual``)."""
    if pos.started_at is None:
        raise InvariantViolation(f"open lock {pos.reference} has no start")
    days = days_elapsed(to_us(pos.started_at), now_us, pos.term_days)
    if days <= pos.accrued_days:
        return pos
    vested = accrued_units(pos.principal_units, pos.rate_per_unit, days)
    return replace(pos, accrued_days=days, vested_units=vested)


def accrue(sim: Simulation, reference: str) -> None:
    """The daily accrual of one open position (idempotent, from the start)."""
    pos = sim.db.positions[reference]
    if pos.status is LockStatus.OPEN:
        sim.db.positions[reference] = _accrued(pos, sim.clock.now_us())


def due(pos: Position, now_us: int) -> bool:
    """Whether the position is open past its maturity."""
    return (
        pos.status is LockStatus.OPEN
        and pos.matures_at is not None
        and from_us(now_us) >= pos.matures_at
    )


def close(sim: Simulation, reference: str) -> None:
    """Mature the position once it is due (``closing.mature_due``), else unlock it early with
    the vested reward and the treasury's penalty (``closing.unlock``); refused unless open."""
    pos = sim.db.positions[reference]
    if pos.status is not LockStatus.OPEN:
        raise LockRefused(f"lock {reference} is {pos.status}", code="lock_not_open")
    now = sim.clock.now_us()
    pos = _accrued(pos, now)
    matured = due(pos, now)
    reward = pos.reward_max if matured else pos.vested_units
    bp = sim.db.parameters.get(parameters.LOCK_PENALTY_BP, 0)
    penalty = 0 if matured or not isinstance(bp, int) else pos.principal_units * bp // closing.BP
    for spec in (chart.pioneer_pi(pos.uid), chart.pioneer_balance(pos.uid, opening.MSCP)):
        chart.ensure_open(sim.db.ledger, spec)
    transfers = closing.closing_transfers(pos, reward, penalty)
    _require_ok(sim.db.ledger.post_batch(linked(transfers)), f"closing {reference}")
    status = LockStatus.MATURED if matured else LockStatus.UNLOCKED
    sim.db.positions[reference] = replace(
        pos, status=status, reward_units=reward, penalty_units=penalty, closed_at=from_us(now)
    )
    if pos.principal_units - penalty > 0:
        key = str(closing.principal_transfer_id(pos.id))
        sim.enqueue(Message(OUTBOX_A2U, key, pos.principal_units - penalty, pos.uid))


def client_unlock(sim: Simulation) -> None:
    """The Pioneer unlocks a position early (or one that matured meanwhile)."""
    open_ = sorted(r for r, p in sim.db.positions.items() if p.status is LockStatus.OPEN)
    if not open_:
        return
    key, reference = sim.next_id("key-"), sim.rng.choice(open_)

    def body() -> None:
        if key in sim.db.responses:
            return
        close(sim, reference)
        sim.db.responses[key] = reference

    sim.client("unlock", key, reference, body)


def _require_ok(results: Sequence[Result], what: str) -> None:
    refused = [r for r in results if not r.ok]
    if refused:
        raise InvariantViolation(f"the ledger refused {what}: {refused[0].code}")
