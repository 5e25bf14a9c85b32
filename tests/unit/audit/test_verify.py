"""The verifier on bundles built without a database: all checks pass, each tamper is named."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from settlement.audit import bundle as b
from settlement.audit.cli import main
from settlement.audit.export import write_bundle
from settlement.audit.signing import SigningError, sign_bundle
from tests.unit.audit import builder

PERIOD = "2025-01"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    builder.build(tmp_path / PERIOD, PERIOD, builder.keys(3), threshold=2)
    return tmp_path / PERIOD


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def rewrite_line(path: Path, number: int, change: dict[str, object]) -> None:
    lines = path.read_bytes().splitlines()
    value = json.loads(lines[number]) | change
    lines[number] = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_a_sound_bundle_verifies(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "verify", str(bundle), "--trust-bundle-officers")
    assert code == 0, out
    assert "ok signatures: 2 of 3 officers" in out
    assert "ok opening_balances: first month" in out
    assert "ok trust_root: UNPINNED" in out
    assert "anchors: 0 listed; anchor verification skipped" in out


@pytest.mark.parametrize(
    ("file", "line", "change", "check"),
    [
        (b.TRANSFERS, 0, {"amount": 1001}, "transfer_root"),
        (b.TRANSFERS, 5, {"credit": "pioneer:dd44:PI"}, "transfer_root"),
        (b.BALANCES, 1, {"credits_posted": 1}, "balance_root"),
    ],
)
def test_a_tampered_leaf_names_its_tree(
    bundle: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    line: int,
    change: dict[str, object],
    check: str,
) -> None:
    rewrite_line(bundle / file, line, change)
    code, out = run(capsys, "verify", str(bundle))
    assert code == 1
    assert out.startswith(f"FAIL {check}:")


def test_an_account_holding_two_assets_fails_double_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = builder.keys(1)
    transfers = builder.month_transfers(PERIOD)
    transfers[5] = dataclasses.replace(transfers[5], credit="merchant:aa11:IDR")
    write_bundle(
        tmp_path,
        PERIOD,
        transfers,
        builder.balances_after([], transfers),
        builder.officers(keys, 1),
        "test",
        None,
    )
    sign_bundle(tmp_path, keys[0])
    code, out = run(capsys, "verify", str(tmp_path))
    assert (code, out.split(":")[0]) == (1, "FAIL double_entry")


def test_a_changed_manifest_no_longer_matches_the_signed_digest(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = json.loads((bundle / b.MANIFEST).read_text())
    manifest["software"]["version"] = "forged"
    (bundle / b.MANIFEST).write_text(json.dumps(manifest))
    code, out = run(capsys, "verify", str(bundle))
    assert (code, out.split(":")[0]) == (1, "FAIL digest")


def test_signatures_must_be_valid_distinct_and_enough(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((bundle / b.SIGNATURES).read_text())
    first = document["signatures"][0]
    document["signatures"] = [first, dict(first)]
    (bundle / b.SIGNATURES).write_text(json.dumps(document))
    code, out = run(capsys, "verify", str(bundle))
    assert (code, out.strip()) == (1, "FAIL signatures: 1 valid officer signatures, 2 needed")
    forged = first | {
        "signature": ("00" if first["signature"][:2] != "00" else "11") + first["signature"][2:]
    }
    document["signatures"] = [forged, document["signatures"][1]]
    (bundle / b.SIGNATURES).write_text(json.dumps(document))
    code, out = run(capsys, "verify", str(bundle))
    assert (code, out.strip()) == (1, "FAIL signatures: signature 1 does not verify")


def test_only_officers_sign_and_signing_twice_adds_nothing(bundle: Path) -> None:
    stranger = builder.keys(1, seed=99)[0]
    with pytest.raises(SigningError):
        sign_bundle(bundle, stranger)
    assert not sign_bundle(bundle, builder.keys(3)[0])
    assert sign_bundle(bundle, builder.keys(3)[2])


def test_continuity_with_the_previous_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = builder.keys(2)
    first = tmp_path / "2025-01"
    balances = builder.build(first, "2025-01", keys, threshold=2)
    manifest = json.loads((first / b.MANIFEST).read_text())
    link = ("2025-01", b.digest(manifest).hex())
    second = tmp_path / "2025-02"
    builder.build(second, "2025-02", keys, 2, prior=balances, previous=link, scale=2)
    code, out = run(capsys, "verify", str(second), "--previous", str(first))
    assert code == 0, out
    assert "ok continuity: balances follow from 2025-01" in out

    broken = tmp_path / "broken"
    builder.build(broken, "2025-02", keys, 2, prior=None, previous=link, scale=2)
    code, out = run(capsys, "verify", str(broken), "--previous", str(first))
    assert (code, out.split(":")[0]) == (1, "FAIL balance_continuity")
    code, out = run(capsys, "verify", str(second), "--previous", str(second))
    assert (code, out.split(":")[0]) == (1, "FAIL previous_link")


def test_prove_prints_and_checks_one_receipt(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "prove", str(bundle), "--leaf", "2")
    assert code == 0, out
    proof = json.loads(out[: out.rindex("}") + 1])
    assert (proof["leaf_index"], proof["tree_size"]) == (2, 6)
    assert len(proof["path"]) == 3
    code, out = run(capsys, "prove", str(bundle), "--balance", "0")
    assert code == 0, out
    assert run(capsys, "prove", str(bundle), "--leaf", "6")[0] == 1
    rewrite_line(bundle / b.TRANSFERS, 2, {"amount": 301})
    assert run(capsys, "prove", str(bundle), "--leaf", "2")[0] == 1


@pytest.mark.parametrize(
    "argv",
    [[], ["verify"], ["frobnicate", "x"], ["prove", "DIR"], ["verify", "/nonexistent/bundle"]],
)
def test_bad_usage_exits_2(
    argv: list[str], bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(bundle) if a == "DIR" else a for a in argv]
    assert main(args) == 2
    capsys.readouterr()


def test_a_missing_file_is_a_named_failure(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / b.ANCHORS).unlink()
    code, out = run(capsys, "verify", str(bundle), "--trust-bundle-officers")
    assert (code, out.split(":")[0]) == (1, "FAIL anchors")
    shutil.rmtree(bundle)
