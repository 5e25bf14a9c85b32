"""anchors.json without a chain: entries must name this month, its digest and its previous
digest; the anchor period encoding; --rpc with nothing to check is a failure, not a pass.
These bundles are checked with --trust-bundle-officers: the trust root is not what they test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import bundle as b
from settlement.audit.cli import main
from tests.unit.audit import builder

PERIOD = "2025-02"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    builder.build(tmp_path / PERIOD, PERIOD, builder.keys(2), threshold=2)
    return tmp_path / PERIOD


def entry(bundle: Path) -> dict[str, object]:
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]
    return b.EvmAnchor(
        31337, "0x" + "ab" * 20, b.anchor_period(PERIOD), digest, "00" * 32, "0x" + "cd" * 32, 7
    ).as_json()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["verify", "--trust-bundle-officers", *argv])
    return code, capsys.readouterr().out


def test_a_matching_entry_is_listed_without_rpc(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / b.ANCHORS).write_text(json.dumps([entry(bundle)]))
    code, out = run(capsys, str(bundle))
    assert code == 0, out
    assert "anchors: 1 listed; anchor verification skipped (no --rpc given)" in out


@pytest.mark.parametrize(
    "change",
    [
        {"digest": "11" * 32},
        {"prev_digest": "22" * 32},
        {"period": 202501},
        {"kind": "stellar"},
        {"tx_hash": "0x1234"},
        {"contract": "not an address"},
        {"block_number": 0},
        {"chain_id": True},
        {"extra": 1},
    ],
)
def test_an_entry_that_does_not_match_is_named(
    bundle: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object]
) -> None:
    (bundle / b.ANCHORS).write_text(json.dumps([entry(bundle) | change]))
    code, out = run(capsys, str(bundle))
    assert code == 1
    assert out.startswith("FAIL anchors:"), out


def test_rpc_with_no_anchor_to_check_fails(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = ["--chain-id", "31337", "--contract", "0x" + "ab" * 20, "--publisher", "0x" + "12" * 20]
    code, out = run(capsys, str(bundle), "--rpc", "http://127.0.0.1:9", *pins)
    assert code == 1
    assert out.startswith("FAIL anchors: --rpc given but anchors.json lists no EVM anchor"), out


@given(st.integers(1, 9998), st.integers(1, 12), st.integers(1, 9998), st.integers(1, 12))
def test_anchor_periods_increase_with_months(y1: int, m1: int, y2: int, m2: int) -> None:
    first, second = f"{y1:04d}-{m1:02d}", f"{y2:04d}-{m2:02d}"
    assert (b.anchor_period(first) < b.anchor_period(second)) == (first < second)
    assert b.anchor_period(first) % 100 == m1


STELLAR_SOURCE = "G" + "A" * 55


def stellar_entry(bundle: Path) -> dict[str, object]:
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]
    return b.StellarAnchor(
        "Pi Testnet", STELLAR_SOURCE, b.anchor_period(PERIOD), digest, "cd" * 32, 7
    ).as_json()


def test_a_stellar_entry_is_listed_beside_an_evm_one(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / b.ANCHORS).write_text(json.dumps([entry(bundle), stellar_entry(bundle)]))
    pins = ["--stellar-passphrase", "Pi Testnet", "--stellar-source", STELLAR_SOURCE]
    code, out = run(capsys, str(bundle), *pins)
    assert code == 0, out
    assert "anchors: 1 listed; anchor verification skipped (no --rpc given)" in out
    assert "stellar_anchors: 1 listed; verification skipped (no --horizon given)" in out
    assert "source account " + STELLAR_SOURCE + " (pinned by --stellar-source)" in out


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"digest": "11" * 32}, "anchors"),
        ({"period": 202501}, "anchors"),
        ({"tx_hash": "0x" + "cd" * 32}, "anchors"),
        ({"tx_hash": "CD" * 32}, "anchors"),
        ({"ledger": 0}, "anchors"),
        ({"ledger": True}, "anchors"),
        ({"source_account": "0x" + "12" * 20}, "anchors"),
        ({"network_passphrase": ""}, "anchors"),
        ({"prev_digest": "00" * 32}, "anchors"),
        ({"kind": "bitcoin"}, "anchors"),
        ({"network_passphrase": "Pi Network"}, "anchor_network"),
        ({"source_account": "G" + "B" * 55}, "anchor_source"),
    ],
)
def test_a_stellar_entry_that_does_not_match_is_named(
    bundle: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], check: str
) -> None:
    (bundle / b.ANCHORS).write_text(json.dumps([stellar_entry(bundle) | change]))
    pins = ["--stellar-passphrase", "Pi Testnet", "--stellar-source", STELLAR_SOURCE]
    code, out = run(capsys, str(bundle), *pins)
    assert code == 1
    assert out.startswith(f"FAIL {check}:"), out


@pytest.mark.parametrize(
    "flags",
    [
        ["--horizon", "http://127.0.0.1:9"],
        ["--stellar-passphrase", "Pi Testnet"],
        ["--stellar-source", "not-an-account"],
    ],
)
def test_horizon_needs_both_stellar_pins(
    bundle: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    code, _ = run(capsys, str(bundle), *flags)
    assert code == 2


def test_horizon_with_no_stellar_anchor_fails(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = ["--stellar-passphrase", "Pi Testnet", "--stellar-source", STELLAR_SOURCE]
    code, out = run(capsys, str(bundle), "--horizon", "http://127.0.0.1:9", *pins)
    assert code == 1
    assert out.startswith("FAIL anchors: --horizon given but anchors.json lists no Stellar"), out
