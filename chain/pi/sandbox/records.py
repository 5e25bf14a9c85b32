"""Horizon-shaped JSON for a transaction envelope (pure; used by the sandbox and by tests)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from stellar_sdk import BumpSequence, HashMemo, Payment, TextMemo, TransactionEnvelope

from chain.pi.amounts import to_str, to_units


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _memo_type(memo: object) -> str:
    """Horizon's ``memo_type`` of the memos the sandbox records (Horizon shows a hash memo as
    base64 in ``memo``)."""
    if isinstance(memo, TextMemo):
        return "text"
    return "hash" if isinstance(memo, HashMemo) else "none"


def transaction_record(
    envelope: TransactionEnvelope,
    *,
    base_url: str,
    successful: bool,
    ledger: int,
    closed_at_unix: int,
    fee_charged: int,
) -> dict[str, object]:
    """The `/transactions/{hash}` record Horizon would return for this envelope."""
    tx = envelope.transaction
    tx_hash = envelope.hash_hex()
    memo = tx.memo
    memo_text = memo.memo_text.decode("utf-8", "replace") if isinstance(memo, TextMemo) else ""
    bounds = tx.preconditions.time_bounds if tx.preconditions else None
    source = tx.source.account_id
    record: dict[str, object] = {
        "_links": {"self": {"href": f"{base_url}/transactions/{tx_hash}"}},
        "id": tx_hash,
        "paging_token": str(ledger << 32),
        "successful": successful,
        "hash": tx_hash,
        "ledger": ledger,
        "created_at": _iso(closed_at_unix),
        "source_account": source,
        "source_account_sequence": str(tx.sequence),
        "fee_account": source,
        "fee_charged": str(fee_charged),
        "max_fee": str(tx.fee),
        "operation_count": len(tx.operations),
        "envelope_xdr": envelope.to_xdr(),
        "memo_type": _memo_type(memo),
        "signatures": [base64.b64encode(s.signature).decode() for s in envelope.signatures],
    }
    if isinstance(memo, TextMemo):
        record["memo"] = memo_text
    if isinstance(memo, HashMemo):
        record["memo"] = base64.b64encode(memo.memo_hash).decode()
    if bounds is not None:
        record["valid_after"] = _iso(bounds.min_time)
        record["valid_before"] = _iso(bounds.max_time) if bounds.max_time else None
    return record


def operation_records(
    envelope: TransactionEnvelope, *, successful: bool, ledger: int, closed_at_unix: int
) -> list[dict[str, object]]:
    """The `_embedded.records` of `/transactions/{hash}/operations` for this envelope."""
    tx = envelope.transaction
    out: list[dict[str, object]] = []
    for index, op in enumerate(tx.operations, start=1):
        source = op.source.account_id if op.source else tx.source.account_id
        op_id = str((ledger << 32) + index)
        rec: dict[str, object] = {
            "id": op_id,
            "paging_token": op_id,
            "transaction_successful": successful,
            "source_account": source,
            "created_at": _iso(closed_at_unix),
            "transaction_hash": envelope.hash_hex(),
        }
        if isinstance(op, Payment):
            asset: dict[str, object] = (
                {"asset_type": "native"}
                if op.asset.is_native()
                else {
                    "asset_type": op.asset.type,
                    "asset_code": op.asset.code,
                    "asset_issuer": op.asset.issuer,
                }
            )
            rec.update(
                type="payment",
                type_i=1,
                **asset,
                to=op.destination.account_id,
                amount=to_str(to_units(op.amount)),
            )
            rec["from"] = source
        elif isinstance(op, BumpSequence):
            rec.update(type="bump_sequence", type_i=11, bump_to=str(op.bump_to))
        else:
            rec.update(type=type(op).__name__.lower(), type_i=-1)
        out.append(rec)
    return out
