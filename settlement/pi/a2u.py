"""A2U (app-to-user) payouts: refunds, unlock principal, merchant Pi settlement.

A payout is a small state machine, one step per database transaction, each step's network effect
made safe to repeat:

    requested --create Pi payment--> created --build+sign, store envelope--> signed
    signed --submit (same envelope again on 5xx/timeout)--> confirmed (ledger posted)
    confirmed --Pi complete--> completed

The payment id is stored before anything else happens to it; the signed envelope and its hash are
stored before the first submission, so a crash anywhere resubmits the same transaction instead of
building a second one. A transaction is judged unable to land only after its time bound and the
expiry margin passed, on a last look-up by hash. A payout reserves its amount with a pending
ledger transfer when requested, posts it when the transaction is confirmed, and voids it if the
payout fails; a transaction on chain, successful or failed, books the fee it was charged.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from chain.pi import errors as chain_errors
from chain.pi.a2u import build_a2u
from chain.pi.dto import PiPayment
from chain.pi.ids import check_uid
from chain.redaction import redact_urls
from escrow.calendar import US_PER_S
from escrow.model import TransferFlags, TransferRequest, transfer_id
from settlement.chart import TransferCode
from settlement.pi.accounts import CUSTODY, NETWORK_FEES, PI, ensure_custody
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal
from settlement.pi.flags import flag
from settlement.suspense import Unbooked, book_to_suspense
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
OUTBOX_A2U = "pi.a2u"
PAYOUT_KEY = "msc_payout"
memo_chars_max = 256


class PayoutBusy(Exception):
    """Another A2U of the same wallet is in flight; try this step again later."""


@dataclass(frozen=True)
class Payout:
    """One payout row."""

    id: uuid.UUID
    key: str
    uid: str
    amount_units: int
    memo: str
    debit_account: str
    wallet_address: str
    status: str
    payment_id: str | None
    to_address: str | None
    envelope_xdr: str | None
    txid: str | None
    """The signed transaction's hash (column ``tx_hash``)."""


_COLUMNS = (
    "id, key, uid, amount_units, memo, debit_account, wallet_address, status, payment_id,"
    " to_address, envelope_xdr, tx_hash AS txid"
)


def load(uow: UnitOfWork, payout_id: uuid.UUID, *, lock: bool = True) -> Payout:
    """The payout, locked for this transaction unless asked otherwise."""
    suffix = " FOR UPDATE" if lock else ""
    row = uow.conn.execute(
        text(f"SELECT {_COLUMNS} FROM pi_payouts WHERE id = :id{suffix}"),  # noqa: S608 - constant columns
        {"id": payout_id},
    ).one()
    return Payout(**row._mapping)


def reservation_id(payout_id: uuid.UUID) -> uuid.UUID:
    """The pending ledger transfer that reserves the payout's amount."""
    return transfer_id("pi.payout", str(payout_id))


def request_payout(
    uow: UnitOfWork,
    deps: PiDeps,
    *,
    key: str,
    uid: str,
    amount_units: int,
    memo: str,
    debit_account: str,
) -> uuid.UUID:
    """Record a payout (idempotent by `key`), reserve its amount, and queue its first step."""
    check_uid(uid)
    if amount_units <= 0 or len(memo) > memo_chars_max or not key:
        raise PiRefusal("pi_bad_input", "payout needs a key, a positive amount and a short memo")
    payout_id = uuid.uuid5(uuid.NAMESPACE_URL, f"msc:pi-payout:{key}")
    inserted = uow.conn.execute(
        text(
            "INSERT INTO pi_payouts (id, key, uid, amount_units, memo, debit_account,"
            " wallet_address) VALUES (:id, :key, :uid, :amount, :memo, :debit, :wallet)"
            " ON CONFLICT (key) DO NOTHING RETURNING id"
        ),
        {
            "id": payout_id,
            "key": key,
            "uid": uid,
            "amount": amount_units,
            "memo": memo,
            "debit": debit_account,
            "wallet": deps.app_address,
        },
    ).first()
    existing = load(uow, payout_id, lock=False)
    if (existing.uid, existing.amount_units, existing.debit_account) != (
        uid,
        amount_units,
        debit_account,
    ):
        raise PiRefusal("pi_bad_input", f"payout key {key} already names another payout")
    if inserted is None:
        return payout_id
    ensure_custody(uow.ledger)
    result = uow.ledger.post(
        TransferRequest(
            id=reservation_id(payout_id),
            debit=debit_account,
            credit=CUSTODY,
            amount=amount_units,
            asset=PI,
            code=TransferCode.PI_PAYOUT,
            flags=TransferFlags.PENDING,
            user_data={"payout_id": str(payout_id), "key": key},
        )
    )
    if not result.ok:
        raise PiRefusal("pi_bad_input", f"ledger refused the payout reservation: {result.code}")
    uow.outbox.enqueue(OUTBOX_A2U, f"{payout_id}:requested", {"payout_id": str(payout_id)})
    return payout_id


def advance(uow: UnitOfWork, deps: PiDeps, payout_id: uuid.UUID) -> str:
    """Run the payout's next step in the caller's unit of work; return the new status."""
    payout = load(uow, payout_id)
    step = _STEPS.get(payout.status)
    if step is None:
        return payout.status
    status = step(uow, deps, payout)
    if status != payout.status:
        uow.conn.execute(
            text("UPDATE pi_payouts SET status = :s, updated_at = now() WHERE id = :id"),
            {"s": status, "id": payout_id},
        )
        if status not in ("completed", "failed"):
            uow.outbox.enqueue(OUTBOX_A2U, f"{payout_id}:{status}", {"payout_id": str(payout_id)})
    log.info("pi_a2u_step", payout_id=str(payout_id), status=status)
    return status


def _create(uow: UnitOfWork, deps: PiDeps, payout: Payout) -> str:
    metadata = {PAYOUT_KEY: str(payout.id)}
    try:
        payment = deps.platform.create_payment(
            amount_units=payout.amount_units, memo=payout.memo, metadata=metadata, uid=payout.uid
        )
    except chain_errors.OngoingPaymentFoundError as exc:
        payment = _adopt(payout, exc.payment)
    _check_created(deps, payout, payment)
    uow.conn.execute(
        text("UPDATE pi_payouts SET payment_id = :payment_id, to_address = :to WHERE id = :id"),
        {"payment_id": payment.payment_id, "to": payment.to_address, "id": payout.id},
    )
    return "created"


def _adopt(payout: Payout, payment: PiPayment | None) -> PiPayment:
    """After a crash, Pi still holds the payment we created: take it back if it is ours."""
    if payment is not None and payment.metadata.get(PAYOUT_KEY) == str(payout.id):
        return payment
    raise chain_errors.PiError("another A2U payment is open for this Pioneer; retry later")


def _check_created(deps: PiDeps, payout: Payout, payment: PiPayment) -> None:
    if (
        payment.amount_units != payout.amount_units
        or payment.direction != "app_to_user"
        or payment.network != deps.network
        or payment.from_address != deps.app_address
    ):
        raise chain_errors.PiError(f"Pi created a payment that differs: {payment.payment_id}")


def _sign(uow: UnitOfWork, deps: PiDeps, payout: Payout) -> str:
    if deps.signer is None:
        raise chain_errors.PiError("no app wallet secret configured (MSC_PI_WALLET_SECRET)")
    if payout.payment_id is None or payout.to_address is None:
        raise chain_errors.PiError("payout has no payment")
    account = deps.chain.account(deps.app_address)
    signed = build_a2u(
        signer=deps.signer,
        account_sequence=account.sequence,
        destination=payout.to_address,
        amount_units=payout.amount_units,
        payment_id=payout.payment_id,
        base_fee_stroops=deps.chain.base_fee(),
        network_passphrase=deps.network,
        now_unix=deps.clock.now_us() // US_PER_S,
    )
    try:
        with uow.conn.begin_nested():
            uow.conn.execute(
                text(
                    "UPDATE pi_payouts SET status = 'signed', envelope_xdr = :xdr, tx_hash = :h,"
                    " sequence = :seq, valid_until = :until, fee_units = :fee WHERE id = :id"
                ),
                {
                    "xdr": signed.envelope_xdr,
                    "h": signed.tx_hash,
                    "seq": signed.sequence,
                    "until": signed.valid_until_unix,
                    "fee": signed.fee_stroops,
                    "id": payout.id,
                },
            )
    except IntegrityError as exc:
        raise PayoutBusy("another A2U of this wallet is in flight") from exc
    return "signed"


def _submit(uow: UnitOfWork, deps: PiDeps, payout: Payout) -> str:
    if payout.envelope_xdr is None or payout.txid is None:
        raise chain_errors.PiError("signed payout without an envelope")
    try:
        deps.chain.submit(payout.envelope_xdr)
    except chain_errors.TxSubmitRejectedError as exc:
        return _after_rejection(uow, deps, payout, exc)
    return _settle(uow, deps, payout, deps.chain.transaction(payout.txid).record)


def _after_rejection(
    uow: UnitOfWork, deps: PiDeps, payout: Payout, exc: chain_errors.TxSubmitRejectedError
) -> str:
    """A rejection may mean our earlier submission already landed; only the chain can say.

    A transaction Horizon does not show is given up only once its time bound plus the expiry
    margin (clock skew, Horizon's ingestion lag) has passed on our clock, and only on a look-up
    by hash made after that moment; until then the step is retried with the same envelope.
    """
    margin_passed = (
        deps.clock.now_us() // US_PER_S > _valid_until(uow, payout.id) + deps.a2u_expiry_margin_s
    )
    try:
        on_chain = deps.chain.transaction(str(payout.txid))
    except chain_errors.HorizonNotFoundError:
        on_chain = None
    if on_chain is not None:
        return _settle(uow, deps, payout, on_chain.record)
    if not margin_passed:
        raise exc
    return _fail(uow, deps, payout, f"transaction rejected, not on chain: {exc.tx_code or exc}")


def _valid_until(uow: UnitOfWork, payout_id: uuid.UUID) -> int:
    value = uow.conn.execute(
        text("SELECT valid_until FROM pi_payouts WHERE id = :id"), {"id": payout_id}
    ).scalar_one()
    return int(value or 0)


def _settle(uow: UnitOfWork, deps: PiDeps, payout: Payout, record: Mapping[str, object]) -> str:
    """The transaction is on chain, so its fee was charged whether it succeeded or not: post the
    reservation and the fee, or void the reservation and post the fee."""
    fee = int(str(record.get("fee_charged", "0")))
    if record.get("successful") is not True:
        return _fail(uow, deps, payout, "transaction failed on chain", fee_units=fee)
    post = TransferRequest(
        id=transfer_id("pi.payout.post", str(payout.id)),
        debit="",
        credit="",
        amount=payout.amount_units,
        asset=PI,
        code=TransferCode.PI_PAYOUT,
        flags=TransferFlags.POST_PENDING,
        pending_id=reservation_id(payout.id),
        external_ref=payout.txid,
    )
    _post_settled(uow, payout, [post, *_fee(payout, fee)])
    uow.conn.execute(
        text("UPDATE pi_payouts SET fee_units = :fee WHERE id = :id"), {"fee": fee, "id": payout.id}
    )
    return "confirmed"


def _fee(payout: Payout, fee_units: int) -> list[TransferRequest]:
    """The network fee the chain charged for the payout's transaction (none when zero)."""
    if fee_units <= 0:
        return []
    return [
        TransferRequest(
            id=transfer_id("pi.payout.fee", str(payout.id)),
            debit=NETWORK_FEES,
            credit=CUSTODY,
            amount=fee_units,
            asset=PI,
            code=TransferCode.PI_NETWORK_FEE,
            external_ref=payout.txid,
        )
    ]


def _post_settled(uow: UnitOfWork, payout: Payout, requests: list[TransferRequest]) -> None:
    """The Pi has left custody on chain: a posting the ledger refuses goes to suspense (never a
    retry, which could not change the ledger's answer; decision 0011)."""
    for request, result in zip(requests, uow.ledger.post_batch(requests), strict=True):
        if not result.ok:
            debit = request.debit or payout.debit_account
            left = Unbooked("pi", request.id, PI, request.amount, debit, CUSTODY,
                            payout.txid, leaving=True)  # fmt: skip
            book_to_suspense(uow.conn, uow.ledger, left, result.code)


def _fail(uow: UnitOfWork, deps: PiDeps, payout: Payout, reason: str, *, fee_units: int = 0) -> str:
    """The payout will not happen: release the reservation, book the fee a transaction that
    failed on chain was still charged, flag the payout for a person. Nothing here raises on a
    ledger refusal: a payout left ``signed`` would block every later payout of the wallet."""
    void = TransferRequest(
        id=transfer_id("pi.payout.void", str(payout.id)),
        debit="",
        credit="",
        amount=0,
        asset=PI,
        code=TransferCode.PI_PAYOUT,
        flags=TransferFlags.VOID_PENDING,
        pending_id=reservation_id(payout.id),
    )
    voided = uow.ledger.post(void)
    if not voided.ok:  # the payout is over whatever the ledger says; a person reconciles it
        flag(uow.conn, payout.payment_id or str(payout.id), payout.txid, "a2u_void_refused",
             {"code": voided.code})  # fmt: skip
    _post_settled(uow, payout, _fee(payout, fee_units))  # the chain charged it: never refused
    uow.conn.execute(
        text("UPDATE pi_payouts SET last_error = :e, fee_units = :fee WHERE id = :id"),
        {"e": redact_urls(reason), "fee": fee_units, "id": payout.id},
    )
    if payout.payment_id is not None:
        with contextlib.suppress(chain_errors.PiError):
            deps.platform.cancel(payout.payment_id)
    flag(uow.conn, payout.payment_id or str(payout.id), payout.txid, "a2u_failed", {"why": reason})
    log.warning("pi_a2u_failed", payout_id=str(payout.id), reason=reason, fee_units=fee_units)
    return "failed"


def _complete(uow: UnitOfWork, deps: PiDeps, payout: Payout) -> str:
    with contextlib.suppress(chain_errors.AlreadyCompletedError):
        deps.platform.complete(str(payout.payment_id), str(payout.txid))
    return "completed"


_STEPS = {
    "requested": _create,
    "created": _sign,
    "signed": _submit,
    "confirmed": _complete,
}
