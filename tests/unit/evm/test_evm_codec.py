"""Offline pieces: signing fixes the hash before sending, ledger refs, deposit log decoding,
MSC amount parsing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import given
from hypothesis import strategies as st

from chain.evm.abi import TOKEN, encode_call
from chain.evm.fees import Fees
from chain.evm.signing import load_account, sign
from chain.evm.types import LogEntry, TxRequest
from settlement.evm.amounts import parse_msc
from settlement.evm.deposits import DEPOSIT_TOPIC, decode_deposit
from settlement.evm.token import ledger_ref32

ACCOUNT: LocalAccount = Account.create()
FEES = Fees(max_fee_per_gas_wei=2 * 10**9, max_priority_fee_per_gas_wei=10**9)


@given(nonce=st.integers(0, 2**32), amount=st.integers(1, 2**63 - 1))
def test_signed_hash_is_the_hash_of_the_raw_bytes(nonce: int, amount: int) -> None:
    data = encode_call(TOKEN, "mint", [ACCOUNT.address, amount, b"\x01" * 32])
    signed = sign(ACCOUNT, 31337, nonce, TxRequest(ACCOUNT.address, data, 200_000), FEES)
    again = sign(ACCOUNT, 31337, nonce, TxRequest(ACCOUNT.address, data, 200_000), FEES)
    assert signed == again
    assert Account.recover_transaction(signed.raw) == ACCOUNT.address
    assert signed.nonce == nonce


def test_key_comes_from_exactly_one_source(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(ACCOUNT.key.hex() + "\n")
    assert load_account(None, key_file).address == ACCOUNT.address
    with pytest.raises(ValueError, match="no EVM private key"):
        load_account(None, None)
    with pytest.raises(ValueError, match="not both"):
        load_account(ACCOUNT.key.hex(), key_file)


@given(st.uuids())
def test_ledger_ref_keeps_the_transfer_id(transfer_id: uuid.UUID) -> None:
    ref = ledger_ref32(transfer_id)
    assert len(ref) == 32
    assert uuid.UUID(bytes=ref[16:]) == transfer_id


@given(amount=st.integers(1, 2**256 - 1), ref=st.binary(min_size=32, max_size=32))
def test_deposit_log_round_trip(amount: int, ref: bytes) -> None:
    sender = bytes(12) + bytes.fromhex(ACCOUNT.address[2:])
    entry = LogEntry("0x" + "11" * 20, (DEPOSIT_TOPIC, sender, ref), amount.to_bytes(32, "big"),
                     7, "0xab", 3)  # fmt: skip
    event = decode_deposit(entry)
    assert (event.from_address, event.amount, event.ledger_ref) == (ACCOUNT.address, amount, ref)


def test_other_logs_are_not_deposits() -> None:
    entry = LogEntry("0x" + "11" * 20, (b"\x00" * 32,), b"", 1, "0xab", 0)
    with pytest.raises(ValueError, match="not a Deposit"):
        decode_deposit(entry)


@given(sen=st.integers(0, 10**15))
def test_msc_amount_parses_exactly(sen: int) -> None:
    assert parse_msc(f"{sen // 100}.{sen % 100:02d}") == sen


@pytest.mark.parametrize("bad", ["1.001", "-1", "abc", "NaN", "Infinity"])
def test_bad_msc_amounts_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"amount|decimals"):
        parse_msc(bad)
