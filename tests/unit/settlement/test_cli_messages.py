"""The one-line messages of the ``msc`` command line for errors a user can cause."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import DataError

from escrow.chart import AccountUndeclared
from settlement.cli.chain import lost_contracts_message
from settlement.cli.errors import EXIT_OPERATIONAL, EXIT_USAGE, user_error
from settlement.config import Settings
from settlement.evm.deployment import DeploymentLostError
from settlement.qris.mdr import MdrScheduleMissing

LOST = DeploymentLostError("MadiunStableCoin recorded at 0xabc but chain 1 has no code")


def test_lost_contracts_on_a_real_network_get_no_advice_to_redeploy() -> None:
    assert lost_contracts_message(LOST, 11155111, Path("/d")) == str(LOST)


def test_lost_contracts_on_the_local_anvil_say_what_to_do() -> None:
    message = lost_contracts_message(LOST, 31337, Path("/d"))
    assert message.startswith(str(LOST))
    assert "/d/anvil/state.json" in message


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSC_HTTP_PORT", "abc")
    with pytest.raises(ValidationError) as raised:
        Settings()
    line, code = user_error(raised.value) or ("", 0)
    assert (code, line.startswith("configuration: MSC_HTTP_PORT: ")) == (EXIT_USAGE, True)
    assert "\n" not in line


def test_database_data_errors_are_one_line() -> None:
    error = DataError("INSERT ...", {}, ValueError("integer out of range\nLINE 1: ..."))
    assert user_error(error) == (
        "the database refused the input: integer out of range",
        EXIT_OPERATIONAL,
    )


def test_programmer_errors_are_not_user_errors() -> None:
    assert user_error(KeyError("x")) is None
    assert user_error(ValueError("x")) is None


def test_any_refusal_a_command_does_not_answer_is_one_line_with_its_code() -> None:
    missing = MdrScheduleMissing("no MDR for UME 5000000 sen on 2024-12-02")
    assert user_error(missing) == (
        "no MDR for UME 5000000 sen on 2024-12-02 (qris_mdr_missing)",
        EXIT_OPERATIONAL,
    )
    assert user_error(AccountUndeclared("nope:nope")) == (
        f"{AccountUndeclared('nope:nope')} (account_undeclared)",
        EXIT_OPERATIONAL,
    )
