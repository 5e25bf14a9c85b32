"""The anchor envelope: one no-op operation, memo hash = the digest, signed, time-bounded; the
sandbox applies it without moving value and Horizon shows the memo as base64."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import BumpSequence, HashMemo, Keypair, TransactionEnvelope

from chain.pi.errors import PiInputError
from chain.pi.sandbox.chain import SandboxChain
from chain.stellar.anchor import AnchorEnvelope, anchor_validity_s, build_anchor
from escrow.clock import FixedClock

NETWORK = "Pi Testnet"
NOW_S = 1_750_000_000


def anchor(signer: Keypair, sequence: int, digest: bytes, fee: int) -> AnchorEnvelope:
    return build_anchor(
        signer=signer,
        account_sequence=sequence,
        digest=digest,
        base_fee_stroops=fee,
        network_passphrase=NETWORK,
        now_unix=NOW_S,
    )


@settings(max_examples=25)
@given(st.binary(min_size=32, max_size=32), st.integers(1, 2**40))
def test_the_envelope_carries_the_digest_and_nothing_else(digest: bytes, sequence: int) -> None:
    signer = Keypair.from_raw_ed25519_seed(bytes(32))
    signed = anchor(signer, sequence, digest, 100)
    envelope = TransactionEnvelope.from_xdr(signed.envelope_xdr, NETWORK)
    tx = envelope.transaction
    assert envelope.hash_hex() == signed.tx_hash
    assert isinstance(tx.memo, HashMemo)
    assert tx.memo.memo_hash == digest
    [op] = tx.operations
    assert isinstance(op, BumpSequence)
    assert op.bump_to == 0
    assert (tx.sequence, signed.sequence) == (sequence + 1, sequence + 1)
    assert tx.preconditions is not None
    assert tx.preconditions.time_bounds is not None
    assert tx.preconditions.time_bounds.max_time == NOW_S + anchor_validity_s
    assert TransactionEnvelope.from_xdr(signed.envelope_xdr, "Other").hash_hex() != signed.tx_hash


@pytest.mark.parametrize("digest", [b"", bytes(31), bytes(33)])
def test_only_a_32_byte_digest_is_anchored(digest: bytes) -> None:
    with pytest.raises(PiInputError):
        anchor(Keypair.random(), 1, digest, 100)


def test_a_public_key_alone_cannot_sign() -> None:
    with pytest.raises(PiInputError):
        anchor(Keypair.from_public_key(Keypair.random().public_key), 1, bytes(32), 100)


def test_the_sandbox_applies_it_as_a_no_op_and_shows_the_memo_hash() -> None:
    chain = SandboxChain(NETWORK, "http://sandbox", FixedClock(NOW_S * 10**6))
    signer = Keypair.random()
    chain.fund(signer.public_key, 10**7)
    before = chain.accounts[signer.public_key].sequence
    signed = anchor(signer, before, b"\x07" * 32, 100_000)
    outcome = chain.submit(signed.envelope_xdr)
    assert outcome.status == 200, outcome.body
    assert outcome.body["memo_type"] == "hash"
    assert outcome.body["memo"] == base64.b64encode(b"\x07" * 32).decode()
    row = chain.accounts[signer.public_key]
    assert (row.sequence, row.balance_units) == (before + 1, 10**7 - 100_000)
    [op] = chain.transactions[signed.tx_hash].operations
    assert op["type"] == "bump_sequence"
    assert chain.submit(signed.envelope_xdr).body == outcome.body, "resubmitting returns it"
    assert len(chain.transactions) == 1


@pytest.mark.parametrize("xdr", ["", "AAAA", "not base64", "AAAAAgAAAAA="])
def test_a_malformed_envelope_is_a_400_not_a_crash(xdr: str) -> None:
    chain = SandboxChain(NETWORK, "http://sandbox", FixedClock(NOW_S * 10**6))
    outcome = chain.submit(xdr)
    assert outcome.status == 400
    assert outcome.body["type"] == "https://stellar.org/horizon-errors/transaction_malformed"
