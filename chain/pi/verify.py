"""Prove that a chain transaction is exactly the expected Pi payment, or a deposit into the app
wallet (pure, no I/O).

The envelope XDR is the authority: its hash under the configured network passphrase must equal
the txid (which proves the network), and its memo and single operation are checked. Horizon's JSON
fields are cross-checked against it so a disagreeing Horizon cannot pass either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stellar_sdk import CreateAccount, Payment, TextMemo, TransactionEnvelope
from stellar_sdk.exceptions import SdkError

from chain.pi.amounts import to_units
from chain.pi.errors import PiInputError, TxVerificationError
from chain.pi.horizon import HorizonTx


@dataclass(frozen=True)
class ExpectedPayment:
    """What the transaction must be."""

    txid: str
    payment_id: str
    from_address: str
    to_address: str
    amount_units: int
    network_passphrase: str


@dataclass(frozen=True)
class VerifiedPayment:
    """A transaction that passed every check."""

    txid: str
    from_address: str
    to_address: str
    amount_units: int
    ledger: int | None
    fee_charged_units: int


@dataclass(frozen=True)
class VerifiedDeposit:
    """Native Pi that a transaction moved into a wallet from another one."""

    txid: str
    from_address: str
    amount_units: int
    ledger: int | None


def _fail(code: str, message: str) -> TxVerificationError:
    return TxVerificationError(code, message)


def _envelope(record: Mapping[str, object], passphrase: str) -> TransactionEnvelope:
    xdr = record.get("envelope_xdr")
    if not isinstance(xdr, str):
        raise _fail("pi_tx_malformed", "transaction has no envelope_xdr")
    try:
        envelope = TransactionEnvelope.from_xdr(xdr, passphrase)
    except (SdkError, ValueError, TypeError) as exc:
        raise _fail("pi_tx_malformed", f"envelope does not parse: {exc}") from exc
    if not isinstance(envelope, TransactionEnvelope):
        raise _fail("pi_tx_malformed", "fee-bump envelopes are not accepted")
    return envelope


def _units(value: object, what: str) -> int:
    try:
        return to_units(str(value))
    except PiInputError as exc:
        raise _fail("pi_tx_malformed", f"{what} is not a valid amount") from exc


def _successful_envelope(tx: HorizonTx, txid: str, passphrase: str) -> TransactionEnvelope:
    """The envelope of this txid on this network, of a transaction that succeeded."""
    if tx.record.get("hash") != txid:
        raise _fail("pi_txid_mismatch", "Horizon returned a different transaction")
    envelope = _envelope(tx.record, passphrase)
    if envelope.hash_hex() != txid:
        raise _fail("pi_network_mismatch", "envelope does not hash to the txid on this network")
    if tx.record.get("successful") is not True:
        raise _fail("pi_tx_failed", "transaction was not successful")
    return envelope


def verify_payment(tx: HorizonTx, expected: ExpectedPayment) -> VerifiedPayment:
    """Return the verified payment or raise TxVerificationError naming the first failed check."""
    record = tx.record
    envelope = _successful_envelope(tx, expected.txid, expected.network_passphrase)
    memo = envelope.transaction.memo
    memo_ok = isinstance(memo, TextMemo) and memo.memo_text == expected.payment_id.encode()
    if not memo_ok or record.get("memo") != expected.payment_id:
        raise _fail("pi_memo_mismatch", "memo is not the payment identifier")
    ops = envelope.transaction.operations
    if len(ops) != 1 or len(tx.operations) != 1:
        raise _fail("pi_operation_mismatch", "transaction must hold exactly one operation")
    op, op_json = ops[0], tx.operations[0]
    if not isinstance(op, Payment) or op_json.get("type") != "payment":
        raise _fail("pi_operation_mismatch", "the operation is not a payment")
    if not op.asset.is_native() or op_json.get("asset_type") != "native":
        raise _fail("pi_asset_not_native", "the payment is not in native Pi")
    source = op.source.account_id if op.source else envelope.transaction.source.account_id
    if source != expected.from_address or op_json.get("from") != expected.from_address:
        raise _fail("pi_source_mismatch", "the payment does not come from the payer's wallet")
    if op.destination.account_id != expected.to_address or op_json.get("to") != expected.to_address:
        raise _fail("pi_destination_mismatch", "the payment does not go to the app wallet")
    amount = _units(op.amount, "operation amount")
    if amount != expected.amount_units or _units(op_json.get("amount"), "amount") != amount:
        raise _fail("pi_amount_mismatch", "the amount differs from the payment")
    ledger = record.get("ledger")
    fee = record.get("fee_charged", "0")
    return VerifiedPayment(
        txid=expected.txid,
        from_address=source,
        to_address=expected.to_address,
        amount_units=amount,
        ledger=ledger if isinstance(ledger, int) else None,
        fee_charged_units=int(str(fee)) if str(fee).isdigit() else 0,
    )


def verify_deposit(
    tx: HorizonTx, txid: str, to_address: str, network_passphrase: str
) -> VerifiedDeposit:
    """Return the deposit or raise TxVerificationError naming the first failed check.

    A deposit is a successful transaction whose single operation moves native Pi into
    ``to_address`` from another wallet: a payment, or the ``create_account`` that opened the
    wallet with its starting balance. Horizon's operation record must say the same.
    """
    envelope = _successful_envelope(tx, txid, network_passphrase)
    ops = envelope.transaction.operations
    if len(ops) != 1 or len(tx.operations) != 1:
        raise _fail("pi_operation_mismatch", "transaction must hold exactly one operation")
    op, op_json = ops[0], tx.operations[0]
    source = op.source.account_id if op.source else envelope.transaction.source.account_id
    if isinstance(op, Payment) and op_json.get("type") == "payment":
        if not op.asset.is_native() or op_json.get("asset_type") != "native":
            raise _fail("pi_asset_not_native", "the payment is not in native Pi")
        destination, amount = op.destination.account_id, op.amount
        stated = (op_json.get("from"), op_json.get("to"), op_json.get("amount"))
    elif isinstance(op, CreateAccount) and op_json.get("type") == "create_account":
        destination, amount = op.destination, op.starting_balance
        stated = (op_json.get("funder"), op_json.get("account"), op_json.get("starting_balance"))
    else:
        raise _fail("pi_operation_mismatch", "the operation is neither a payment nor an opening")
    if destination != to_address or stated[1] != to_address:
        raise _fail("pi_destination_mismatch", "the Pi does not go to the app wallet")
    if source == to_address or stated[0] != source:
        raise _fail("pi_source_mismatch", "the Pi must come from another wallet")
    units = _units(amount, "operation amount")
    if units <= 0 or _units(stated[2], "amount") != units:
        raise _fail("pi_amount_mismatch", "Horizon states another amount")
    ledger = tx.record.get("ledger")
    return VerifiedDeposit(txid, source, units, ledger if isinstance(ledger, int) else None)
