"""On-chain verification: a recorded Pi Testnet transaction, and one forged tx per failed check."""

from collections.abc import Mapping
from dataclasses import replace
from typing import cast

import pytest
from stellar_sdk import Account as SdkAccount
from stellar_sdk import Asset, Keypair, TransactionBuilder, TransactionEnvelope

from chain.pi.errors import TxVerificationError
from chain.pi.horizon import HorizonTx
from chain.pi.sandbox.records import operation_records, transaction_record
from chain.pi.verify import ExpectedPayment, verify_payment
from tests.unit.pi.conftest import load

TESTNET = "Pi Testnet"
PAYER = Keypair.from_raw_ed25519_seed(bytes(range(32)))
APP = Keypair.from_raw_ed25519_seed(bytes(range(1, 33)))
OTHER = Keypair.from_raw_ed25519_seed(bytes(range(2, 34)))
PID = "pQ7sVn2LxR0aHcE9uT4yWb6kZm1d"


def recorded() -> HorizonTx:
    record = cast(Mapping[str, object], load("horizon/transaction_5408e032.json"))
    ops = cast(Mapping[str, object], load("horizon/transaction_5408e032_operations.json"))
    embedded = cast(Mapping[str, list[Mapping[str, object]]], ops["_embedded"])
    return HorizonTx(record=record, operations=tuple(embedded["records"]))


RECORDED = ExpectedPayment(
    txid="5408e032890445b0bcb96913e37f326dc2c5573ff7221d3402ed450b324a4a3c",
    payment_id=PID,
    from_address="GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIO",
    to_address="GCOR3TJAYA4JDV6GJSREO4TRDUW32IA7BQN3IMY553HQ26NL77W7TEAM",
    amount_units=10_000_000,
    network_passphrase=TESTNET,
)


def test_recorded_testnet_tx_is_on_pi_testnet_but_has_no_memo() -> None:
    with pytest.raises(TxVerificationError) as info:
        verify_payment(recorded(), RECORDED)
    assert info.value.code == "pi_memo_mismatch"


def test_recorded_tx_fails_network_check_under_mainnet_passphrase() -> None:
    with pytest.raises(TxVerificationError) as info:
        verify_payment(recorded(), replace(RECORDED, network_passphrase="Pi Network"))
    assert info.value.code == "pi_network_mismatch"


def forge(
    *,
    memo: str = PID,
    amount: str = "3.1415926",
    destination: str = APP.public_key,
    asset: Asset | None = None,
    extra_op: bool = False,
    signer: Keypair = PAYER,
    network: str = TESTNET,
    successful: bool = True,
) -> HorizonTx:
    builder = TransactionBuilder(
        SdkAccount(signer.public_key, 100), network_passphrase=network, base_fee=100_000
    )
    builder.append_payment_op(destination, asset or Asset.native(), amount)
    if extra_op:
        builder.append_payment_op(OTHER.public_key, Asset.native(), "0.0000001")
    tx = builder.add_text_memo(memo).add_time_bounds(0, 2_000_000_000).build()
    tx.sign(signer)
    env = TransactionEnvelope.from_xdr(tx.to_xdr(), network)
    rec = transaction_record(
        env,
        base_url="http://h",
        successful=successful,
        ledger=7,
        closed_at_unix=1_700_000_000,
        fee_charged=100_000,
    )
    ops = operation_records(env, successful=successful, ledger=7, closed_at_unix=1_700_000_000)
    return HorizonTx(record=rec, operations=tuple(ops))


def expected_for(tx: HorizonTx, **changes: object) -> ExpectedPayment:
    base = ExpectedPayment(
        txid=str(tx.record["hash"]),
        payment_id=PID,
        from_address=PAYER.public_key,
        to_address=APP.public_key,
        amount_units=31_415_926,
        network_passphrase=TESTNET,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_good_payment_verifies() -> None:
    tx = forge()
    verified = verify_payment(tx, expected_for(tx))
    assert verified.amount_units == 31_415_926
    assert verified.from_address == PAYER.public_key
    assert verified.fee_charged_units == 100_000


@pytest.mark.parametrize(
    ("tx_kwargs", "expect_kwargs", "code"),
    [
        ({"successful": False}, {}, "pi_tx_failed"),
        ({"memo": "someOtherPayment"}, {}, "pi_memo_mismatch"),
        ({"extra_op": True}, {}, "pi_operation_mismatch"),
        ({"asset": Asset("PI", OTHER.public_key)}, {}, "pi_asset_not_native"),
        ({"signer": OTHER}, {}, "pi_source_mismatch"),
        ({"destination": OTHER.public_key}, {}, "pi_destination_mismatch"),
        ({"amount": "3.1415925"}, {}, "pi_amount_mismatch"),
        ({"network": "Pi Network"}, {}, "pi_network_mismatch"),
        ({}, {"txid": "f" * 64}, "pi_txid_mismatch"),
    ],
)
def test_each_check_refuses_exactly_its_mismatch(
    tx_kwargs: dict[str, object], expect_kwargs: dict[str, object], code: str
) -> None:
    tx = forge(**tx_kwargs)  # type: ignore[arg-type]
    with pytest.raises(TxVerificationError) as info:
        verify_payment(tx, expected_for(tx, **expect_kwargs))
    assert info.value.code == code


def test_horizon_json_disagreeing_with_envelope_is_refused() -> None:
    tx = forge()
    lying_ops = ({**tx.operations[0], "amount": "9.0000000"},)
    with pytest.raises(TxVerificationError) as info:
        verify_payment(HorizonTx(tx.record, lying_ops), expected_for(tx))
    assert info.value.code == "pi_amount_mismatch"


def test_missing_envelope_is_malformed() -> None:
    tx = forge()
    record = {k: v for k, v in tx.record.items() if k != "envelope_xdr"}
    with pytest.raises(TxVerificationError) as info:
        verify_payment(HorizonTx(record, tx.operations), expected_for(tx))
    assert info.value.code == "pi_tx_malformed"
