"""`msc qris decode|encode`: JSON out, exit 1 for an invalid payload, 2 for bad usage."""

import json
from pathlib import Path

from typer.testing import CliRunner

from chain.qris.payload import decode
from settlement.cli.qris import app

VECTORS = json.loads((Path(__file__).parents[2] / "fixtures/qris/vectors.json").read_text())
GOPAY = VECTORS["vectors"][0]["payload"]
runner = CliRunner()


def test_decode_prints_json() -> None:
    result = runner.invoke(app, ["decode", GOPAY, "--output", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["nmid"] == "ID1019000002328"


def test_decode_invalid_names_tag_and_position() -> None:
    result = runner.invoke(app, ["decode", GOPAY[:-1] + "0"])
    assert result.exit_code == 1
    assert "tag 63" in result.stderr
    assert f"position {len(GOPAY) - 4}" in result.stderr


def test_decode_without_payload_is_usage() -> None:
    assert runner.invoke(app, ["decode"]).exit_code == 2


def test_encode_from_static() -> None:
    result = runner.invoke(
        app, ["encode", "--static", GOPAY, "--amount", "15000.50", "--bill", "CHK-9"]
    )
    assert result.exit_code == 0
    dynamic = decode(result.stdout.strip())
    assert dynamic.amount == "15000.50"
    assert dynamic.additional is not None
    assert dynamic.additional.bill_number == "CHK-9"


def test_encode_bad_amount_is_usage_and_bad_static_is_refused() -> None:
    bad_amount = ["encode", "--static", GOPAY, "--amount", "1.001"]
    assert runner.invoke(app, bad_amount).exit_code == 2
    assert runner.invoke(app, ["encode", "--static", "x", "--amount", "1"]).exit_code == 1
