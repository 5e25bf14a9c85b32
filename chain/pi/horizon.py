"""Read and submit transactions on a Pi Horizon server (Stellar Horizon API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

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
