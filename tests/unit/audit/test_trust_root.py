"""What the verifier trusts: the officers come from the previous month (changed only by a signed
officers.rotate entry) or a pinned file, never from the bundle alone; a first month's balances
start from zero; anchors are checked against pinned chain, contract and publisher."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.audit import bundle as b
from settlement.audit.bundle import BundleError
from settlement.audit.canonical import CanonicalError, canonical_bytes
from settlement.audit.cli import main
from settlement.audit.export import write_bundle
from settlement.audit.signing import sign_bundle
from settlement.audit.verify import read_rotation, rotated
from tests.fuzz.test_audit_verify_fuzz import json_values
from tests.unit.audit import builder

JANUARY, FEBRUARY = "2025-01", "2025-02"
ten_billion_rupiah_sen = 10 * 10**9 * 100


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["verify", *argv])
    return code, capsys.readouterr().out


def last(out: str) -> str:
    return out.strip().splitlines()[-1]


@pytest.fixture
def january(tmp_path: Path) -> tuple[Path, list[b.BalanceLeaf]]:
    balances = builder.build(tmp_path / JANUARY, JANUARY, builder.keys(3), threshold=2)
    return tmp_path / JANUARY, balances


def link_of(bundle: Path) -> tuple[str, str]:
    manifest = json.loads((bundle / b.MANIFEST).read_text())
    return manifest["period"], b.digest(manifest).hex()


def test_february_signed_by_a_stranger_linked_to_the_real_january_fails(
    january: tuple[Path, list[b.BalanceLeaf]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, balances = january
    forged = tmp_path / "forged"
    stranger = builder.keys(1, seed=99)
    builder.build(forged, FEBRUARY, stranger, 1, prior=balances, previous=link_of(first))
    code, out = run(capsys, str(forged), "--previous", str(first))
    assert code == 1, out
    assert last(out).startswith("FAIL officers: the manifest's officers are not the trust root's")


def test_inflated_first_month_balances_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = builder.keys(2)
    transfers = builder.month_transfers(JANUARY)
    balances = builder.balances_after([], transfers)
    inflated = ten_billion_rupiah_sen
    forged = [
        dataclasses.replace(leaf, debits_posted=leaf.debits_posted + inflated)
        if leaf.account == "treasury:bank:IDR"
        else dataclasses.replace(leaf, credits_posted=leaf.credits_posted + inflated)
        if leaf.account == "merchant:aa11:IDR"
        else leaf
        for leaf in balances
    ]
    write_bundle(tmp_path, JANUARY, transfers, forged, builder.officers(keys, 2), "test", None)
    for key in keys:
        sign_bundle(tmp_path, key)
    code, out = run(capsys, str(tmp_path), "--trust-bundle-officers")
    assert code == 1, out
    assert last(out).startswith("FAIL opening_balances: merchant:aa11:IDR (IDR) does not follow")


def test_a_first_month_built_from_zero_says_so(
    january: tuple[Path, list[b.BalanceLeaf]], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, str(january[0]), "--trust-bundle-officers")
    assert code == 0, out
    assert "ok opening_balances: first month, every balance is zero plus its transfers" in out
    assert "ok trust_root: UNPINNED, the bundle's own officers" in out


def test_without_a_trust_root_the_verifier_refuses(
    january: tuple[Path, list[b.BalanceLeaf]], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, str(january[0]))
    assert code == 1
    assert last(out).startswith("FAIL trust_root: no trust root for the officers")


def test_officers_pinned_by_file(
    january: tuple[Path, list[b.BalanceLeaf]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pinned = builder.officers_file(tmp_path / "officers.json", builder.keys(3), 2)
    code, out = run(capsys, str(january[0]), "--officers", str(pinned))
    assert code == 0, out
    assert f"ok trust_root: officers pinned by --officers {pinned}" in out
    assert "ok officers: the manifest's officers are the trust root's, unchanged" in out

    other = builder.officers_file(tmp_path / "other.json", builder.keys(3), 3)
    code, out = run(capsys, str(january[0]), "--officers", str(other))
    assert (code, last(out).split(":")[0]) == (1, "FAIL officers")


def test_with_previous_and_a_pin_the_previous_month_must_hold_the_pinned_set(
    january: tuple[Path, list[b.BalanceLeaf]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, balances = january
    second = tmp_path / FEBRUARY
    builder.build(second, FEBRUARY, builder.keys(3), 2, prior=balances, previous=link_of(first))
    code, out = run(capsys, str(second), "--previous", str(first))
    assert code == 0, out
    assert f"ok trust_root: the officers of {JANUARY} (--previous)" in out
    pinned = builder.officers_file(tmp_path / "o.json", builder.keys(3), 2)
    code, out = run(capsys, str(second), "--previous", str(first), "--officers", str(pinned))
    assert code == 0, out
    assert f"held by {JANUARY}" in out
    stranger = builder.officers_file(tmp_path / "s.json", builder.keys(1, seed=99), 1)
    code, out = run(capsys, str(second), "--previous", str(first), "--officers", str(stranger))
    assert (code, last(out)) == (
        1,
        f"FAIL officers: {JANUARY}'s officers are not the set pinned by --officers",
    )


def test_a_previous_month_with_bad_signatures_is_refused(
    january: tuple[Path, list[b.BalanceLeaf]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, balances = january
    second = tmp_path / FEBRUARY
    builder.build(second, FEBRUARY, builder.keys(3), 2, prior=balances, previous=link_of(first))
    document = json.loads((first / b.SIGNATURES).read_text())
    (first / b.SIGNATURES).write_text(json.dumps(document | {"signatures": []}))
    code, out = run(capsys, str(second), "--previous", str(first))
    assert (code, last(out).split(":")[0]) == (1, "FAIL previous")


def test_a_rotation_signed_by_the_previous_threshold_changes_the_officers(
    january: tuple[Path, list[b.BalanceLeaf]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, balances = january
    old, new = builder.keys(3), builder.keys(2, seed=50)
    entry = builder.rotation(FEBRUARY, old, 2, builder.officers(new, 2), signers=2)
    second = tmp_path / FEBRUARY
    builder.build(
        second, FEBRUARY, new, 2, prior=balances, previous=link_of(first), governance=[entry]
    )
    code, out = run(capsys, str(second), "--previous", str(first))
    assert code == 0, out
    assert "ok governance_root: 1 entries" in out
    assert "ok officers: the manifest's officers are the trust root's, changed by 1 signed" in out


@pytest.mark.parametrize(
    ("signers", "period", "seed", "failure"),
    [
        (1, FEBRUARY, 7, "FAIL officers: governance line 1: 1 valid signatures"),
        (2, "2025-03", 7, "FAIL officers: governance line 1 rotates the officers of 2025-03"),
        (2, FEBRUARY, 99, "FAIL officers: governance line 1 replaces another set"),
    ],
)
def test_a_rotation_without_the_previous_threshold_fails(
    january: tuple[Path, list[b.BalanceLeaf]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    signers: int,
    period: str,
    seed: int,
    failure: str,
) -> None:
    first, balances = january
    old, new = builder.keys(3, seed=seed), builder.keys(2, seed=50)
    entry = builder.rotation(period, old, 2, builder.officers(new, 2), signers=signers)
    second = tmp_path / FEBRUARY
    builder.build(
        second, FEBRUARY, new, 2, prior=balances, previous=link_of(first), governance=[entry]
    )
    code, out = run(capsys, str(second), "--previous", str(first))
    assert code == 1, out
    assert last(out).startswith(failure), out


def test_a_governance_entry_of_another_kind_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = builder.keys(2)
    builder.build(tmp_path, JANUARY, keys, 2, governance=[{"kind": "rate.override"}])
    code, out = run(capsys, str(tmp_path), "--trust-bundle-officers")
    assert code == 1
    assert last(out).startswith("FAIL governance: line 1: kind must be one of"), out


@pytest.mark.parametrize(
    ("edit", "pins", "failure"),
    [
        ({"contract": "0x" + "ef" * 20}, (31337, "0x" + "ab" * 20), "FAIL anchor_contract:"),
        ({"chain_id": 1}, (31337, "0x" + "AB" * 20), "FAIL anchor_chain:"),
    ],
)
def test_anchors_json_naming_another_contract_or_chain_than_pinned_fails(
    january: tuple[Path, list[b.BalanceLeaf]],
    capsys: pytest.CaptureFixture[str],
    edit: dict[str, object],
    pins: tuple[int, str],
    failure: str,
) -> None:
    bundle = january[0]
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]
    entry = b.EvmAnchor(
        31337, "0x" + "ab" * 20, b.anchor_period(JANUARY), digest, "00" * 32, "0x" + "cd" * 32, 7
    ).as_json()
    (bundle / b.ANCHORS).write_text(json.dumps([entry | edit]))
    flags = ["--chain-id", str(pins[0]), "--contract", pins[1], "--publisher", "0x" + "12" * 20]
    code, out = run(capsys, str(bundle), "--trust-bundle-officers", *flags)
    assert code == 1, out
    assert last(out).startswith(failure), out
    (bundle / b.ANCHORS).write_text(json.dumps([entry]))
    code, out = run(capsys, str(bundle), "--trust-bundle-officers", *flags)
    assert code == 0, out
    assert "ok anchor_pins: chain id 31337 (pinned by --chain-id)" in out


@pytest.mark.parametrize(
    "flags",
    [
        ["--rpc", "http://127.0.0.1:9"],
        ["--rpc", "http://127.0.0.1:9", "--chain-id", "1", "--contract", "0x" + "ab" * 20],
        ["--contract", "0x1234"],
        ["--chain-id", "0"],
        ["--officers", "/nonexistent/officers.json"],
        ["--trust-bundle-officers", "--officers", "OFFICERS"],
    ],
)
def test_unpinned_or_malformed_pins_are_bad_usage(
    january: tuple[Path, list[b.BalanceLeaf]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
) -> None:
    pinned = builder.officers_file(tmp_path / "officers.json", builder.keys(3), 2)
    argv = [str(pinned) if flag == "OFFICERS" else flag for flag in flags]
    assert main(["verify", str(january[0]), *argv]) == 2
    assert capsys.readouterr().out == ""


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.data())
def test_a_rotation_counts_iff_the_replaced_threshold_signed(
    size: int, data: st.DataObject
) -> None:
    threshold = data.draw(st.integers(1, size))
    signers = data.draw(st.integers(0, size))
    old, new = builder.keys(size), builder.officers(builder.keys(2, seed=50), 1)
    entry = builder.rotation(FEBRUARY, old, threshold, new, signers)
    line = canonical_bytes(entry)
    rotation = read_rotation(b.parse_line(line, "governance", 1), 1)
    start = builder.officers(old, threshold).officer_set()
    if signers >= threshold:
        assert rotated(start, [rotation], FEBRUARY) == new.officer_set()
    else:
        with pytest.raises(BundleError, match="valid signatures of the officers in force"):
            rotated(start, [rotation], FEBRUARY)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(b.ROTATION_FIELDS)), json_values)
def test_a_corrupted_rotation_entry_is_refused_by_name(field: str, value: object) -> None:
    old = builder.keys(3)
    entry = builder.rotation(FEBRUARY, old, 2, builder.officers(builder.keys(2, seed=50), 2), 2)
    start = builder.officers(old, 2).officer_set()
    outcome = "accepted"
    try:
        forged = canonical_bytes(entry | {field: value})
        rotated(start, [read_rotation(b.parse_line(forged, "governance", 1), 1)], FEBRUARY)
    except CanonicalError:
        outcome = "not JSON"
    except BundleError as refused:
        outcome = refused.check
    assert outcome in ("not JSON", "governance", "officers") or entry[field] == value
