"""Custody deposits on chain: a recorded Pi Testnet payment, and one forged tx per failed check."""

from __future__ import annotations

from dataclasses import replace

import pytest
from stellar_sdk import Account as SdkAccount
from stellar_sdk import Asset, TransactionBuilder, TransactionEnvelope

from chain.pi.errors import TxVerificationError
from chain.pi.horizon import HorizonTx
from chain.pi.sandbox.records import transaction_record
from chain.pi.verify import verify_deposit
from tests.unit.pi.test_pi_verify import APP, OTHER, PAYER, RECORDED, TESTNET, forge, recorded


def test_a_recorded_testnet_payment_is_a_deposit_into_its_destination() -> None:
    deposit = verify_deposit(recorded(), RECORDED.txid, RECORDED.to_address, TESTNET)
    assert (deposit.from_address, deposit.amount_units) == (RECORDED.from_address, 10_000_000)
    with pytest.raises(TxVerificationError) as info:
        verify_deposit(recorded(), RECORDED.txid, RECORDED.to_address, "Pi Network")
    assert info.value.code == "pi_network_mismatch"


def opening(starting_balance: str = "20", stated: str | None = None) -> HorizonTx:
    """The create_account that opened the app wallet, as Horizon records it."""
    builder = TransactionBuilder(
        SdkAccount(PAYER.public_key, 100), network_passphrase=TESTNET, base_fee=100_000
    )
    builder.append_create_account_op(APP.public_key, starting_balance)
    tx = builder.add_time_bounds(0, 2_000_000_000).build()
    tx.sign(PAYER)
    env = TransactionEnvelope.from_xdr(tx.to_xdr(), TESTNET)
    record = transaction_record(
        env,
        base_url="http://h",
        successful=True,
        ledger=9,
        closed_at_unix=1_700_000_000,
        fee_charged=100_000,
    )
    operation = {
        "type": "create_account",
        "funder": PAYER.public_key,
        "account": APP.public_key,
        "starting_balance": stated or f"{starting_balance}.0000000",
    }
    return HorizonTx(record=record, operations=(operation,))


def test_the_wallets_opening_balance_is_a_deposit() -> None:
    tx = opening()
    deposit = verify_deposit(tx, str(tx.record["hash"]), APP.public_key, TESTNET)
    assert (deposit.from_address, deposit.amount_units, deposit.ledger) == (
        PAYER.public_key,
        200_000_000,
        9,
    )


def refusal(tx: HorizonTx, to_address: str = APP.public_key, txid: str | None = None) -> str:
    with pytest.raises(TxVerificationError) as info:
        verify_deposit(tx, txid or str(tx.record["hash"]), to_address, TESTNET)
    return info.value.code


def test_each_check_refuses_its_forgery() -> None:
    assert refusal(forge(), to_address=OTHER.public_key) == "pi_destination_mismatch"
    assert refusal(forge(signer=APP, destination=APP.public_key)) == "pi_source_mismatch"
    assert refusal(forge(asset=Asset("MSC", OTHER.public_key))) == "pi_asset_not_native"
    assert refusal(forge(extra_op=True)) == "pi_operation_mismatch"
    assert refusal(forge(successful=False)) == "pi_tx_failed"
    assert refusal(forge(network="Pi Network")) == "pi_network_mismatch"
    assert refusal(forge(), txid="0" * 64) == "pi_txid_mismatch"
    assert refusal(opening(stated="21.0000000")) == "pi_amount_mismatch"


def test_horizon_must_agree_with_the_envelope() -> None:
    tx = forge()
    lying = dict(tx.operations[0])
    lying["amount"] = "300.0000000"
    assert refusal(replace(tx, operations=(lying,))) == "pi_amount_mismatch"
    lying = dict(tx.operations[0])
    lying["from"] = OTHER.public_key
    assert refusal(replace(tx, operations=(lying,))) == "pi_source_mismatch"
    other_kind = dict(tx.operations[0])
    other_kind["type"] = "create_account"
    assert refusal(replace(tx, operations=(other_kind,))) == "pi_operation_mismatch"
