"""A party's receipts: its own transfers in a published month, each with its inclusion proof,
and its pseudonym, so that it can find its entries in the bundle (and check them) while nobody
else can link entries to it.

A party gets its own pseudonym only, never the pseudonym key (with the key anyone could
pseudonymise every merchant id and read the whole month by name).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from escrow.refusals import Refusal
from settlement.audit.canonical import pseudonym
from settlement.audit.published import InclusionProof, PublishedBundles, names_in


class ReceiptNotYours(Refusal):
    """The transfer asked for names none of the caller's accounts."""

    code = "audit_receipt_not_yours"


@dataclass(frozen=True, slots=True)
class Receipt:
    """A party's pseudonym and its transfers of one published month, with proofs."""

    period: str
    pseudonym: str
    digest: str
    transfer_root: str
    tree_size: int
    entries: list[InclusionProof]


def party_receipt(
    conn: Connection, bundles: PublishedBundles, key: bytes, party: str, name: str
) -> Receipt:
    """Every transfer of month ``name`` naming an account of ``party`` (a merchant id or a
    Pioneer's uid), with its inclusion proof."""
    own = pseudonym(key, party)
    published = bundles.period(conn, name)
    entries = bundles.party_proofs(conn, name, own)
    return Receipt(
        name, own, published.digest, published.transfer_root, published.transfer_count, entries
    )


def party_transfer(
    conn: Connection, bundles: PublishedBundles, key: bytes, party: str, name: str, transfer: str
) -> tuple[str, InclusionProof]:
    """The receipt of one transfer of ``party`` in month ``name``: its pseudonym and the proof;
    refused when the transfer names none of the party's accounts."""
    own = pseudonym(key, party)
    proof = bundles.inclusion(conn, name, transfer)
    if own not in names_in(proof.leaf):
        raise ReceiptNotYours(f"transfer {transfer} is not one of your transfers")
    return own, proof
