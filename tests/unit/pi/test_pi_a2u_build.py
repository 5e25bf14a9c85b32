"""The A2U envelope is built and signed offline, and verifies as the payment it claims to be."""

from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair, TextMemo, TransactionEnvelope

from chain.pi.a2u import a2u_validity_s, build_a2u
from chain.pi.horizon import HorizonTx
from chain.pi.sandbox.records import operation_records, transaction_record
from chain.pi.verify import ExpectedPayment, verify_payment

APP = Keypair.from_raw_ed25519_seed(bytes(range(1, 33)))
USER = Keypair.from_raw_ed25519_seed(bytes(range(3, 35)))
NET = "Pi Testnet"


def build(amount_units: int = 10_000_000, sequence: int = 41, now: int = 1_700_000_000) -> object:
    return build_a2u(
        signer=APP,
        account_sequence=sequence,
        destination=USER.public_key,
        amount_units=amount_units,
        payment_id="Xy3LmN8qRt5VwZ1aB4cD7eF0gH2j",
        base_fee_stroops=100_000,
        network_passphrase=NET,
        now_unix=now,
    )


def test_envelope_shape() -> None:
    signed = build_a2u(
        signer=APP,
        account_sequence=41,
        destination=USER.public_key,
        amount_units=10_000_000,
        payment_id="Xy3LmN8qRt5VwZ1aB4cD7eF0gH2j",
        base_fee_stroops=100_000,
        network_passphrase=NET,
        now_unix=1_700_000_000,
    )
    env = TransactionEnvelope.from_xdr(signed.envelope_xdr, NET)
    tx = env.transaction
    assert env.hash_hex() == signed.tx_hash
    assert tx.sequence == 42 == signed.sequence
    assert tx.fee == 100_000
    assert isinstance(tx.memo, TextMemo)
    assert tx.memo.memo_text == b"Xy3LmN8qRt5VwZ1aB4cD7eF0gH2j"
    assert tx.preconditions is not None
    assert tx.preconditions.time_bounds is not None
    assert tx.preconditions.time_bounds.max_time == 1_700_000_000 + a2u_validity_s
    APP.verify(env.hash(), env.signatures[0].signature)


def test_build_is_deterministic() -> None:
    assert build() == build()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=10**15), st.integers(min_value=0, max_value=2**40))
def test_built_envelope_verifies_as_the_payment(amount_units: int, sequence: int) -> None:
    signed = build_a2u(
        signer=APP,
        account_sequence=sequence,
        destination=USER.public_key,
        amount_units=amount_units,
        payment_id="Xy3LmN8qRt5VwZ1aB4cD7eF0gH2j",
        base_fee_stroops=100_000,
        network_passphrase=NET,
        now_unix=1_700_000_000,
    )
    env = TransactionEnvelope.from_xdr(signed.envelope_xdr, NET)
    tx = HorizonTx(
        transaction_record(
            env, base_url="h", successful=True, ledger=1, closed_at_unix=1, fee_charged=100_000
        ),
        tuple(operation_records(env, successful=True, ledger=1, closed_at_unix=1)),
    )
    verified = verify_payment(
        tx,
        ExpectedPayment(
            txid=signed.tx_hash,
            payment_id="Xy3LmN8qRt5VwZ1aB4cD7eF0gH2j",
            from_address=APP.public_key,
            to_address=USER.public_key,
            amount_units=amount_units,
            network_passphrase=NET,
        ),
    )
    assert verified.amount_units == amount_units
