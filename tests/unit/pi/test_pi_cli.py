"""`msc pi` refuses malformed input before it starts anything (exit 2, usage error)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from settlement.cli import app

runner = CliRunner()


@pytest.mark.parametrize("txid", ["0000", "A" * 64, "g" * 64])
def test_a_deposit_needs_a_transaction_hash(txid: str) -> None:
    result = runner.invoke(app, ["pi", "deposit", "--tx", txid, "--by", "treasurer-a"])
    assert result.exit_code == 2
    assert "txid must be 64 lowercase hex digits" in result.output
