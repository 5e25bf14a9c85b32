"""`msc audit rotate` and `msc audit sign-rotation`: the officers in force hand over to a new set
with an entry the verifier accepts once their threshold has signed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from settlement.audit.bundle import BundleError
from settlement.audit.signing import load_officers, read_governance
from settlement.audit.verify import read_rotation, rotated
from settlement.cli import app

runner = CliRunner()


def officers_file(tmp_path: Path, name: str, keys: list[str], threshold: int) -> Path:
    publics = []
    for key in keys:
        made = runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / key)])
        assert made.exit_code == 0, made.output
        publics.append({"name": key, "public_key": made.stdout.strip()})
    path = tmp_path / name
    path.write_text(json.dumps({"threshold": threshold, "officers": publics}))
    return path


def test_the_officers_in_force_sign_a_rotation_the_verifier_applies(tmp_path: Path) -> None:
    old = officers_file(tmp_path, "old.json", ["sri", "budi"], threshold=2)
    new = officers_file(tmp_path, "new.json", ["tin", "eko", "ani"], threshold=2)
    entry = tmp_path / "rotation.jsonl"
    made = runner.invoke(
        app, ["audit", "rotate", "2026-12", "--replaces", str(old), "--to", str(new),
              "--out", str(entry)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    in_force = load_officers(old).officer_set()

    def verified() -> object:
        [line] = read_governance(entry)
        return rotated(in_force, [read_rotation(line, 1)], "2026-12")

    assert runner.invoke(app, ["audit", "sign-rotation", str(entry), "--key",
                               str(tmp_path / "sri")]).exit_code == 0  # fmt: skip
    again = runner.invoke(app, ["audit", "sign-rotation", str(entry), "--key",
                                str(tmp_path / "sri"), "--output", "json"])  # fmt: skip
    assert json.loads(again.stdout)["added"] is False
    stranger = runner.invoke(app, ["audit", "sign-rotation", str(entry), "--key",
                                   str(tmp_path / "tin")])  # fmt: skip
    assert stranger.exit_code == 0  # a new officer's signature does not count
    with pytest.raises(BundleError, match="1 valid signatures of the officers in force, 2 needed"):
        verified()
    assert runner.invoke(app, ["audit", "sign-rotation", str(entry), "--key",
                               str(tmp_path / "budi")]).exit_code == 0  # fmt: skip
    assert verified() == load_officers(new).officer_set()


def test_a_rotation_file_is_never_overwritten(tmp_path: Path) -> None:
    old = officers_file(tmp_path, "old.json", ["sri"], threshold=1)
    entry = tmp_path / "rotation.jsonl"
    entry.write_text("kept\n")
    refused = runner.invoke(
        app, ["audit", "rotate", "2026-12", "--replaces", str(old), "--to", str(old),
              "--out", str(entry)],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert entry.read_text() == "kept\n"
