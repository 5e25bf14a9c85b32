"""Read and submit transactions on a Pi Horizon server (Stellar Horizon API)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from urllib.parse import urlencode

from chain.pi.amounts import to_units
from chain.pi.errors import (
    HorizonNotFoundError,
    PiInputError,
    PiResponseError,
    TxSubmitRejectedError,
)
from chain.pi.ids import check_address, check_txid
from chain.pi.transport import JsonReply, JsonTransport

# One transaction carries at most 100 operations; one page of 200 always holds them all.
operations_page_max = 200
# Guard against a Horizon (or a man in the middle) asking for an absurd fee: 1 Pi.
base_fee_stroops_max = 10_000_000
# Horizon serves at most 200 records per page of a collection.
payments_page_records_max = 200
# A Stellar text memo holds at most 28 bytes.
text_memo_bytes_max = 28
_PAGING_TOKEN = re.compile(r"[0-9]{1,20}")
# Where each kind of payment-like operation names its source, destination and amount; any other
# kind has none of them we know.
_PAYMENT_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "payment": ("from", "to", "amount"),
    "path_payment_strict_receive": ("from", "to", "amount"),
    "path_payment_strict_send": ("from", "to", "amount"),
    "create_account": ("funder", "account", "starting_balance"),
    "account_merge": ("account", "into", None),
}


@dataclass(frozen=True)
class HorizonTx:
    """A transaction record and its operation records, as Horizon returned them."""

    record: Mapping[str, object]
    operations: tuple[Mapping[str, object], ...]


@dataclass(frozen=True)
class AccountState:
    """What A2U needs from an account: its current sequence and native balance."""

    address: str
    sequence: int
    balance_units: int


@dataclass(frozen=True)
class SubmitResult:
    """Horizon's answer to an accepted submission."""

    tx_hash: str
    successful: bool
    ledger: int | None


@dataclass(frozen=True)
class AccountPayment:
    """One record of `/accounts/{id}/payments` (joined with its transaction, for the memo).

    ``to_address`` is None for an operation kind whose destination this client does not know;
    ``amount_units`` is None when Horizon states no amount (``account_merge``), and is in the
    7-decimal units of ``asset_type`` (native Pi or another asset).
    """

    paging_token: str
    kind: str
    txid: str
    successful: bool
    from_address: str
    to_address: str | None
    asset_type: str
    amount_units: int | None
    memo: str | None
    created_at: datetime


@dataclass(frozen=True)
class PaymentsPage:
    """One page of an account's payments, oldest first; ``records`` is empty at the end."""

    records: tuple[AccountPayment, ...]


class HorizonClient:
    """Typed access to the Horizon endpoints the Pi rail uses."""

    def __init__(self, transport: JsonTransport, base_url: str) -> None:
        self._http = transport
        self._base = base_url.rstrip("/")

    def transaction(self, txid: str) -> HorizonTx:
        """Fetch a transaction and its operations (404 raises HorizonNotFoundError)."""
        tx = check_txid(txid)
        record = self._get(f"/transactions/{tx}")
        page = self._get(f"/transactions/{tx}/operations?limit={operations_page_max}")
        embedded = page.get("_embedded")
        records = embedded.get("records") if isinstance(embedded, Mapping) else None
        if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
            raise PiResponseError("operations page has no _embedded.records list")
        return HorizonTx(record=record, operations=tuple(cast(list[Mapping[str, object]], records)))

    def payments_for_account(
        self, address: str, cursor: str, limit: int = payments_page_records_max
    ) -> PaymentsPage:
        """The account's payments after ``cursor`` (a paging token; "" from the first), oldest
        first, each joined with its transaction so its memo is known."""
        if cursor and not _PAGING_TOKEN.fullmatch(cursor):
            raise PiInputError("cursor must be a Horizon paging token", code="pi_bad_cursor")
        if not 0 < limit <= payments_page_records_max:
            raise PiInputError(f"limit must be 1..{payments_page_records_max}")
        query = {"order": "asc", "limit": str(limit), "join": "transactions"}
        if cursor:
            query["cursor"] = cursor
        body = self._get(f"/accounts/{check_address(address)}/payments?{urlencode(query)}")
        return parse_payments_page(body)

    def account(self, address: str) -> AccountState:
        """Fetch an account's sequence number and native balance."""
        body = self._get(f"/accounts/{check_address(address)}")
        try:
            sequence = int(str(body["sequence"]))
            balances = cast(list[Mapping[str, object]], body["balances"])
            native = next(b for b in balances if b.get("asset_type") == "native")
            balance = to_units(str(native["balance"]), allow_zero=True)
        except (KeyError, ValueError, TypeError, StopIteration, PiInputError) as exc:
            raise PiResponseError(f"account record unusable: {exc}") from exc
        return AccountState(address=address, sequence=sequence, balance_units=balance)

    def base_fee(self) -> int:
        """The last ledger's base fee in stroops, from /fee_stats, bounded."""
        body = self._get("/fee_stats")
        try:
            fee = int(str(body["last_ledger_base_fee"]))
        except (KeyError, ValueError) as exc:
            raise PiResponseError(f"fee_stats unusable: {exc}") from exc
        if not 0 < fee <= base_fee_stroops_max:
            raise PiResponseError(f"base fee {fee} outside (0, {base_fee_stroops_max}]")
        return fee

    def submit(self, envelope_xdr: str) -> SubmitResult:
        """Submit a signed envelope; resubmitting the same envelope is safe (same hash)."""
        reply = self._http.request(
            "POST", f"{self._base}/transactions", headers={}, form={"tx": envelope_xdr}
        )
        if reply.status == 200 and isinstance(reply.body, Mapping):
            body = cast(Mapping[str, object], reply.body)
            ledger = body.get("ledger")
            return SubmitResult(
                tx_hash=str(body.get("hash", "")),
                successful=body.get("successful", True) is True,
                ledger=ledger if isinstance(ledger, int) else None,
            )
        raise _submit_error(reply)

    def _get(self, path: str) -> Mapping[str, object]:
        reply = self._http.request("GET", f"{self._base}{path}", headers={})
        if reply.status == 404:
            raise HorizonNotFoundError(f"not found on Horizon: {path}")
        if reply.status != 200 or not isinstance(reply.body, Mapping):
            raise PiResponseError(f"Horizon {path}: HTTP {reply.status} {reply.snippet!r}")
        return cast(Mapping[str, object], reply.body)


def parse_payments_page(body: Mapping[str, object]) -> PaymentsPage:
    """Parse a payments collection strictly: a record we cannot read raises PiResponseError."""
    embedded = body.get("_embedded")
    records = embedded.get("records") if isinstance(embedded, Mapping) else None
    if not isinstance(records, list):
        raise PiResponseError("payments page has no _embedded.records list")
    return PaymentsPage(records=tuple(_account_payment(r) for r in cast(list[object], records)))


def _text(record: Mapping[str, object], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise PiResponseError(f"payment record field {key!r} missing or not a string")
    return value


def _account_payment(raw: object) -> AccountPayment:
    if not isinstance(raw, Mapping):
        raise PiResponseError("payment record is not an object")
    record = cast(Mapping[str, object], raw)
    token, kind = _text(record, "paging_token"), _text(record, "type")
    if not _PAGING_TOKEN.fullmatch(token):
        raise PiResponseError(f"paging_token {token[:40]!r} is not a paging token")
    try:
        txid = check_txid(_text(record, "transaction_hash"))
    except PiInputError as exc:
        raise PiResponseError("transaction_hash is not a transaction hash") from exc
    source_key, destination_key, amount_key = _PAYMENT_FIELDS.get(
        kind, ("source_account", "", None)
    )
    amount = None
    if amount_key is not None:
        try:
            amount = to_units(_text(record, amount_key))
        except PiInputError as exc:
            raise PiResponseError(f"payment record {amount_key!r} unusable: {exc}") from exc
    successful = record.get("transaction_successful", True)
    return AccountPayment(
        paging_token=token,
        kind=kind,
        txid=txid,
        successful=successful is True,
        from_address=_text(record, source_key),
        to_address=_text(record, destination_key) if destination_key else None,
        asset_type=str(record.get("asset_type", "native")),
        amount_units=amount,
        memo=_joined_memo(record.get("transaction"), txid),
        created_at=_closed_at(_text(record, "created_at")),
    )


def _closed_at(value: str) -> datetime:
    try:
        closed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PiResponseError(f"created_at {value[:40]!r} is not an ISO 8601 time") from exc
    if closed.tzinfo is None:
        raise PiResponseError("created_at has no time zone")
    return closed


def _joined_memo(transaction: object, txid: str) -> str | None:
    """The text memo of the joined transaction; None for no memo, another memo type, or a text
    memo that cannot be ours (not valid text of at most 28 bytes: anyone can send the wallet
    such a memo, and Horizon shows its bytes replaced). A payment without a usable memo is
    flagged for a person, never a reason to refuse the whole page."""
    if not isinstance(transaction, Mapping):
        raise PiResponseError("payment record has no joined transaction (join=transactions)")
    joined = cast(Mapping[str, object], transaction)
    if joined.get("hash") != txid:
        raise PiResponseError("joined transaction is not the payment's transaction")
    if joined.get("memo_type") != "text":
        return None
    memo = joined.get("memo")
    try:
        fits = isinstance(memo, str) and len(memo.encode()) <= text_memo_bytes_max
    except UnicodeEncodeError:
        fits = False
    return cast(str, memo) or None if fits else None


def _submit_error(reply: JsonReply) -> Exception:
    body = reply.body if isinstance(reply.body, Mapping) else {}
    extras = body.get("extras")
    codes = extras.get("result_codes") if isinstance(extras, Mapping) else None
    if reply.status == 400 and isinstance(codes, Mapping):
        return TxSubmitRejectedError(
            f"transaction rejected: {dict(codes)}",
            result_codes=dict(cast(Mapping[str, object], codes)),
        )
    return PiResponseError(f"submit: HTTP {reply.status} {reply.snippet!r}")
