"""Where the Pi rail hands a conversion's verified receipt: convert it, or refund it, once.

The U2A completion posts the Pi to ``conversions:PI`` (the expectation's credit account) and
calls ``conversion_paid`` in the same unit of work. The conversion converts at its quote while
the quote holds; after, at a fresh quote (made by ``requote`` before any lock is taken) only if
that buys no less than the quoted MSC less the treasury's tolerance. Converting posts one linked
batch keyed by the Pi payment id (decision 0027)::

    conversions:PI    -> exchange:PI               Pi sold less the fee   (conversion.exchange)
    conversions:PI    -> income:conversion_fee:PI  the quote's fee        (conversion.fee)
    exchange:MSC      -> pioneer:{uid}:MSC         the MSC bought         (conversion.exchange)

within the limits of the Pioneer's tier and while the reserve coverage meets the floor before
and after (``reserve.require_coverage``, its savepoint taking the batch back). Anything else
refunds: the Pi from ``conversions:PI`` to ``pioneer:{uid}:PI``, keyed by the conversion id, and
one A2U payout queued through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog

from escrow.calendar import from_us
from escrow.errors import InvariantViolation
from escrow.model import ResultCode, TransferRequest, transfer_id
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.checkout.rules import linked
from settlement.conversions.conversion import (
    BUY_ASSET,
    SELL_ASSET,
    Conversion,
    ConversionStatus,
    find_by_reference,
)
from settlement.conversions.limits import require_within
from settlement.rates.firm import FirmQuote, QuoteRefused, find_firm_quote, firm_quote
from settlement.rates.median import BP, RateRefused
from settlement.rates.panel import RatePanel
from settlement.reserves.reserve import require_coverage
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
OUTBOX_PI_REFUND = "conversion.pi_refund"
EXCHANGE_NAMESPACE = "conversion.exchange"
FEE_NAMESPACE = "conversion.fee"
MSC_NAMESPACE = "conversion.msc"
REFUND_NAMESPACE = "conversion.refund"
requote_ttl_s = 60
"""How long the fresh quote of a late receipt is held (it is used at once)."""
LIMITS_LOCK_SEED = 7305027


class ConversionRefused(Refusal, ValueError):
    """Why a paid conversion was refunded instead: ``conversion_quote_expired`` (no fresh quote
    could be made) or ``conversion_requote_worse`` (the fresh one is past the tolerance)."""

    code = "conversion_quote_expired"


@dataclass(frozen=True, slots=True)
class Terms:
    """What a receipt converts at: MSC bought, the fee in Pi, and the fresh quote if any."""

    buy_units: int
    fee_units: int
    requote_id: uuid.UUID | None


def requote(uow: UnitOfWork, panel: RatePanel | None, reference: str) -> FirmQuote | None:
    """A fresh quote for conversion ``reference`` if its quote has expired (call before any lock:
    the panel may ask its sources); None when the quote holds, or no fresh quote can be made."""
    found = find_by_reference(uow.conn, reference, lock=False)
    if found is None or found.status is not ConversionStatus.QUOTED or panel is None:
        return None
    quote = find_firm_quote(uow.conn, found.quote_id)
    if quote is None or quote.is_live(uow.clock.now_us()):
        return None
    try:
        return firm_quote(
            uow, panel, requested_by=f"pioneer:{found.uid}", sell_asset=SELL_ASSET,
            buy_asset=BUY_ASSET, sell_units=found.sell_units, ttl_s=requote_ttl_s,
        )  # fmt: skip
    except (RateRefused, QuoteRefused) as refused:
        log.info("conversion_requote_refused", reference=reference, code=refused.code)
        return None


def lock_conversion(uow: UnitOfWork, reference: str) -> None:
    """Take conversion ``reference``'s row before its receipt is posted."""
    find_by_reference(uow.conn, reference, lock=True)


def conversion_paid(
    uow: UnitOfWork,
    reference: str,
    amount_units: int,
    payment_id: str,
    fresh: FirmQuote | None,
) -> Conversion:
    """``amount_units`` Pi for conversion ``reference`` reached ``conversions:PI`` in Pi payment
    ``payment_id``; convert or refund it (a conversion already decided is left as it is)."""
    found = find_by_reference(uow.conn, reference, lock=True)
    if found is None:
        raise InvariantViolation(f"a conversion payment for {reference}, which is no conversion")
    if found.status is not ConversionStatus.QUOTED:
        return found
    if amount_units != found.sell_units:
        raise InvariantViolation(f"{reference} was paid {amount_units}, not {found.sell_units}")
    now_us = uow.clock.now_us()
    _lock_pioneer(uow, found.uid)
    uow.conn.execute(
        sql("UPDATE conversions SET paid_at = :at, payment_id = :p WHERE id = :id"),
        {"at": from_us(now_us), "p": payment_id, "id": found.id},
    )
    try:
        terms = _terms(uow, found, fresh, now_us)
        require_within(uow, found.uid, found.tier, terms.buy_units)
        require_coverage(uow)
        with uow.conn.begin_nested():  # a refusal after posting takes the posting back with it
            _post_exchange(uow, found, payment_id, terms)
            _mark_converted(uow, found, terms, now_us)
            require_coverage(uow)
    except Refusal as refused:
        _refund(uow, found, payment_id, refused.code, now_us)
    else:
        log.info("conversion_converted", conversion=str(found.id), msc_units=terms.buy_units)
    after = find_by_reference(uow.conn, reference, lock=False)
    if after is None:
        raise InvariantViolation(f"conversion {reference} vanished")
    return after


def _lock_pioneer(uow: UnitOfWork, uid: str) -> None:
    """Serialise one Pioneer's receipts: each limit check sees the conversions before it."""
    uow.conn.execute(
        sql("SELECT pg_advisory_xact_lock(hashtextextended(:uid, :seed))"),
        {"uid": uid, "seed": LIMITS_LOCK_SEED},
    )


def _terms(uow: UnitOfWork, conv: Conversion, fresh: FirmQuote | None, now_us: int) -> Terms:
    quote = find_firm_quote(uow.conn, conv.quote_id)
    if quote is None:
        raise InvariantViolation(f"conversion {conv.id} has no quote {conv.quote_id}")
    if quote.is_live(now_us):
        return Terms(quote.buy_units, quote.fee_units, None)
    if fresh is None or fresh.sell_units != conv.sell_units:
        raise ConversionRefused(f"quote {quote.id} expired and no fresh quote could be made")
    tolerance_bp = parameters.conversion_tolerance_bp(uow.conn)
    if fresh.buy_units * BP < conv.buy_units * (BP - tolerance_bp):
        raise ConversionRefused(
            f"the fresh quote buys {fresh.buy_units} sen, more than {tolerance_bp} bp under"
            f" the {conv.buy_units} quoted",
            code="conversion_requote_worse",
        )
    return Terms(fresh.buy_units, fresh.fee_units, fresh.id)


def exchange_batch(conv: Conversion, payment_id: str, terms: Terms) -> list[TransferRequest]:
    """The transfers that convert ``conv`` paid in ``payment_id`` at ``terms`` (to be linked):
    the Pi sold less the fee, the fee, the MSC bought, each keyed by the payment."""
    pioneer = chart.pioneer_balance(conv.uid, BUY_ASSET).code
    source = chart.conversions_pi().code
    batch = [
        TransferRequest(
            transfer_id(EXCHANGE_NAMESPACE, payment_id), source, chart.exchange(SELL_ASSET).code,
            conv.sell_units - terms.fee_units, SELL_ASSET, TransferCode.CONVERSION_EXCHANGE,
            external_ref=payment_id,
        ),
        TransferRequest(
            transfer_id(MSC_NAMESPACE, payment_id), chart.exchange(BUY_ASSET).code, pioneer,
            terms.buy_units, BUY_ASSET, TransferCode.CONVERSION_EXCHANGE, external_ref=payment_id,
        ),
    ]  # fmt: skip
    if terms.fee_units > 0:
        batch.insert(1, TransferRequest(
            transfer_id(FEE_NAMESPACE, payment_id), source, chart.conversion_fees().code,
            terms.fee_units, SELL_ASSET, TransferCode.CONVERSION_FEE, external_ref=payment_id,
        ))  # fmt: skip
    return batch


def _post_exchange(uow: UnitOfWork, conv: Conversion, payment_id: str, terms: Terms) -> None:
    for spec in (chart.exchange(SELL_ASSET), chart.exchange(BUY_ASSET), chart.conversion_fees(),
                 chart.pioneer_balance(conv.uid, BUY_ASSET)):  # fmt: skip
        chart.ensure_open(uow.ledger, spec)
    results = uow.ledger.post_batch(linked(exchange_batch(conv, payment_id, terms)))
    if not all(r.code is ResultCode.OK for r in results):
        codes = ", ".join(str(r.code) for r in results)
        raise InvariantViolation(f"the ledger refused converting {conv.id}: {codes}")


def _mark_converted(uow: UnitOfWork, conv: Conversion, terms: Terms, now_us: int) -> None:
    uow.conn.execute(
        sql(
            "UPDATE conversions SET status = 'converted', converted_at = :at,"
            " converted_units = :buy, fee_units = :fee, requote_id = :rq WHERE id = :id"
        ),
        {
            "at": from_us(now_us),
            "buy": terms.buy_units,
            "fee": terms.fee_units,
            "rq": terms.requote_id,
            "id": conv.id,
        },
    )


def refund_transfer_id(conversion_id: uuid.UUID) -> uuid.UUID:
    """The one transfer that returns a refused conversion's Pi to its Pioneer."""
    return transfer_id(REFUND_NAMESPACE, str(conversion_id))


def refund_request(conv: Conversion, payment_id: str) -> TransferRequest:
    """The transfer that returns refused conversion ``conv``'s Pi to its Pioneer's account."""
    return TransferRequest(
        refund_transfer_id(conv.id), chart.conversions_pi().code, chart.pioneer_pi(conv.uid).code,
        conv.sell_units, SELL_ASSET, TransferCode.CONVERSION_REFUND, external_ref=payment_id,
    )  # fmt: skip


def _refund(uow: UnitOfWork, conv: Conversion, payment_id: str, code: str, now_us: int) -> None:
    chart.ensure_open(uow.ledger, chart.pioneer_pi(conv.uid))
    refund_id = refund_transfer_id(conv.id)
    result = uow.ledger.post(refund_request(conv, payment_id))
    if not result.ok:
        raise InvariantViolation(f"the ledger refused refunding {conv.id}: {result.code}")
    uow.conn.execute(
        sql(
            "UPDATE conversions SET status = 'refunded', refunded_at = :at, refund_code = :code"
            " WHERE id = :id"
        ),
        {"at": from_us(now_us), "code": code, "id": conv.id},
    )
    uow.outbox.enqueue(
        OUTBOX_PI_REFUND,
        str(conv.id),
        {
            "conversion": str(conv.id),
            "transfer_id": str(refund_id),
            "uid": conv.uid,
            "amount_units": conv.sell_units,
        },
    )
    log.warning("conversion_refunded", conversion=str(conv.id), code=code)
