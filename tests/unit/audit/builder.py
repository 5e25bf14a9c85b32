"""Bundles built from synthetic leaves (no database), for verifier tests and fuzzing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from settlement.audit import bundle as b
from settlement.audit import governance_log
from settlement.audit.bundle import BalanceLeaf, TransferLeaf
from settlement.audit.export import write_bundle
from settlement.audit.signing import Officers, rotation_entry, sign_bundle, sign_rotation
from settlement.audit.verify import effects

KINDS = {
    "treasury:bank:IDR": "asset",
    "merchant:aa11:IDR": "liability",
    "merchant:bb22:IDR": "liability",
    "treasury:pi_custody": "asset",
    "pioneer:cc33:PI": "liability",
}


def keys(count: int, seed: int = 7) -> list[SigningKey]:
    """Deterministic officer keys."""
    return [SigningKey(bytes([seed + i]) * 32) for i in range(count)]


def officers(signing_keys: list[SigningKey], threshold: int) -> Officers:
    """The officers of these keys."""
    return Officers(
        threshold,
        tuple((f"officer-{i}", bytes(k.verify_key).hex()) for i, k in enumerate(signing_keys)),
    )


def month_transfers(period: str, scale: int = 1) -> list[TransferLeaf]:
    """A month of transfers of every type, over IDR and PI accounts."""
    start, _ = b.period_range_us(period)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{period}/{i}")) for i in range(6)]

    def leaf(
        i: int, kind: str, debit: str, credit: str, amount: int, **more: object
    ) -> TransferLeaf:
        fields: dict[str, object] = {"pending_id": None, "released": 0} | more
        return TransferLeaf(
            ids[i],
            start + 1000 * (i + 1),
            kind,
            debit,
            credit,
            amount * scale,
            "PI" if credit.endswith("PI") else "IDR",
            "test.move",
            **fields,  # type: ignore[arg-type]
        )

    return [
        leaf(0, "posted", "treasury:bank:IDR", "merchant:aa11:IDR", 1000),
        leaf(1, "pending", "treasury:bank:IDR", "merchant:bb22:IDR", 500),
        leaf(
            2,
            "post_pending",
            "treasury:bank:IDR",
            "merchant:bb22:IDR",
            300,
            pending_id=ids[1],
            released=500 * scale,
        ),
        leaf(3, "pending", "treasury:bank:IDR", "merchant:aa11:IDR", 200),
        leaf(
            4,
            "void_pending",
            "treasury:bank:IDR",
            "merchant:aa11:IDR",
            200,
            pending_id=ids[3],
            released=200 * scale,
        ),
        leaf(5, "posted", "treasury:pi_custody", "pioneer:cc33:PI", 12345),
    ]


def balances_after(prior: list[BalanceLeaf], transfers: list[TransferLeaf]) -> list[BalanceLeaf]:
    """The balances the ledger would show after applying the transfers to ``prior``."""
    table = {leaf.account: leaf.totals() for leaf in prior}
    assets = {leaf.account: leaf.asset for leaf in prior}
    for t in transfers:
        for account in (t.debit, t.credit):
            table.setdefault(account, dict.fromkeys(b.TOTALS, 0))
            assets[account] = t.asset
        for account, total, change in effects(t):
            table[account][total] += change
    return [
        BalanceLeaf(account, assets[account], KINDS[account], **table[account])
        for account in sorted(table)
    ]


def build(
    directory: Path,
    period: str,
    signing_keys: list[SigningKey],
    threshold: int,
    prior: list[BalanceLeaf] | None = None,
    previous: tuple[str, str] | None = None,
    scale: int = 1,
    governance: Sequence[Mapping[str, Any]] = (),
    seq_before: int | None = None,
) -> list[BalanceLeaf]:
    """Write and sign a bundle for ``period``; its balances (to chain the next month).
    ``seq_before``: the previous month's governance ``seq_after``."""
    directory.mkdir(parents=True, exist_ok=True)
    transfers = month_transfers(period, scale)
    balances = balances_after(prior or [], transfers)
    write_bundle(
        directory,
        period,
        transfers,
        balances,
        officers(signing_keys, threshold),
        "test",
        previous,
        governance,
        governance_log.seq_after(governance, seq_before),
    )
    for key in signing_keys[:threshold]:
        sign_bundle(directory, key)
    return balances


def link(bundle: Path) -> tuple[str, str]:
    """The (period, digest) a next month's manifest names for ``bundle``."""
    manifest = json.loads((bundle / b.MANIFEST).read_text())
    return manifest["period"], b.digest(manifest).hex()


def rotation(
    period: str, old: list[SigningKey], old_threshold: int, new: Officers, signers: int
) -> dict[str, Any]:
    """An ``officers.rotate`` entry from ``old`` to ``new``, signed by the first ``signers``."""
    entry = rotation_entry(period, officers(old, old_threshold), new)
    for key in old[:signers]:
        entry = sign_rotation(entry, key)
    return entry


def officers_file(path: Path, signing_keys: list[SigningKey], threshold: int) -> Path:
    """An officers file (the service's shape) for ``--officers``."""
    path.write_text(json.dumps(officers(signing_keys, threshold).as_json()))
    return path
