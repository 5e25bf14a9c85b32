"""The auditor's check of a Stellar-family anchor on Horizon (``msc-audit verify --horizon``).

Imported only when ``--horizon`` is given, so the rest of the verifier needs no stellar-sdk. The
transaction envelope Horizon returns is decoded and hashed here under the pinned network
passphrase: a transaction id binds its network, its source account and its memo, so Horizon's
own summary fields are cross-checked, never taken on their word.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from settlement.audit.bundle import BundleError, StellarAnchor
from settlement.audit.verify import StellarPins

horizon_timeout_s = 20.0
horizon_reply_bytes_max = 1 << 20


def check_stellar_anchor(
    horizon: str, anchor: StellarAnchor, number: int, pins: StellarPins
) -> str:
    """Read anchor ``number`` back from ``horizon``: the server follows the pinned network, the
    named transaction succeeded in the named ledger, is from the pinned source account, signed
    by it, and its memo hash is the month's digest. A line saying what held; BundleError
    otherwise."""
    try:
        from stellar_sdk import HashMemo, Keypair, TransactionEnvelope
        from stellar_sdk.exceptions import BadSignatureError, SdkError
    except ImportError:
        raise BundleError("anchors", "--horizon needs stellar-sdk (pip install stellar-sdk)") from (
            None
        )
    where = f"anchor {number}"
    base = horizon.rstrip("/")
    network = _get(f"{base}/", where).get("network_passphrase")
    if network != pins.network_passphrase:
        raise BundleError(
            "anchor_network", f"{where}: {horizon} follows {network!r}, not the pinned network"
        )
    record = _get(f"{base}/transactions/{anchor.tx_hash}", where)
    if record.get("successful") is not True:
        raise BundleError("anchor_tx", f"{where}: transaction {anchor.tx_hash} did not succeed")
    if record.get("ledger") != anchor.ledger:
        raise BundleError("anchor_tx", f"{where}: not in ledger {anchor.ledger}")
    try:
        envelope = TransactionEnvelope.from_xdr(
            str(record.get("envelope_xdr", "")), pins.network_passphrase
        )
    except (SdkError, ValueError, TypeError, EOFError):  # a truncated XDR ends in EOFError
        raise BundleError("anchor_tx", f"{where}: Horizon's envelope does not decode") from None
    if envelope.hash_hex() != anchor.tx_hash:
        raise BundleError(
            "anchor_tx", f"{where}: the envelope does not hash to {anchor.tx_hash} on this network"
        )
    tx = envelope.transaction
    source = tx.source.account_id
    if source != pins.source_account or record.get("source_account") != source:
        raise BundleError("anchor_source", f"{where}: sent by {source}, not the pinned account")
    try:
        Keypair.from_public_key(source).verify(envelope.hash(), envelope.signatures[0].signature)
    except (BadSignatureError, IndexError):
        raise BundleError("anchor_tx", f"{where}: not signed by {source}") from None
    memo = tx.memo
    if not isinstance(memo, HashMemo) or memo.memo_hash.hex() != anchor.digest:
        raise BundleError("anchor_memo", f"{where}: the memo hash is not the month's digest")
    shown = record.get("memo")
    if record.get("memo_type") != "hash" or shown != base64.b64encode(memo.memo_hash).decode():
        raise BundleError("anchor_memo", f"{where}: Horizon shows another memo than the envelope")
    return (
        f"stellar_anchor: {anchor.period} anchored on {pins.network_passphrase!r} in ledger"
        f" {anchor.ledger}, tx {anchor.tx_hash}, memo hash = digest, sent by {source}"
    )


def _get(url: str, where: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=horizon_timeout_s) as reply:  # noqa: S310
            body = reply.read(horizon_reply_bytes_max + 1)
    except urllib.error.HTTPError as failure:
        raise BundleError("anchor_horizon", f"{where}: {url} answered {failure.code}") from None
    except OSError as failure:
        raise BundleError("anchor_horizon", f"{where}: cannot reach {url}: {failure}") from None
    if len(body) > horizon_reply_bytes_max:
        raise BundleError("anchor_horizon", f"{where}: {url} answered too much")
    try:
        value = json.loads(body)
    except ValueError:
        raise BundleError("anchor_horizon", f"{where}: {url} did not answer JSON") from None
    if not isinstance(value, dict):
        raise BundleError("anchor_horizon", f"{where}: {url} did not answer an object")
    return value
