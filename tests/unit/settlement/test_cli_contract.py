"""One option style for every ``msc`` command (decision 0016): ``--output json|text`` on every
command that prints a result, a required ``--by`` on every command that moves money, and
``--version``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from settlement.cli import app
from settlement.cli.output import (
    MONEY_MOVING_COMMANDS,
    SERVICE_COMMANDS,
    Output,
    emit,
    package_version,
    render_text,
)

runner = CliRunner()


def commands() -> dict[str, Any]:
    """Every leaf command of ``msc`` by its path, e.g. ``"pi expect"`` (typer's click objects,
    read by duck typing: typer vendors its own click)."""
    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            assert command is not None
            path = f"{prefix} {name}".strip()
            if hasattr(command, "list_commands"):
                walk(command, path)
            else:
                found[path] = command

    root = get_command(app)
    assert hasattr(root, "list_commands")
    walk(root, "")
    return found


COMMANDS = commands()


def option(command: Any, flag: str) -> Any:
    return next(
        (p for p in command.params if p.param_type_name == "option" and flag in p.opts), None
    )


def test_the_lists_name_real_commands() -> None:
    assert len(COMMANDS) > 20
    assert set(MONEY_MOVING_COMMANDS) <= set(COMMANDS)
    assert set(SERVICE_COMMANDS) <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - SERVICE_COMMANDS))
def test_every_command_has_output_json_or_text(path: str) -> None:
    found = option(COMMANDS[path], "--output")
    assert found is not None, f"msc {path} has no --output"
    assert found.type_descriptor.annotation is Output
    assert found.default == Output.TEXT


def test_output_takes_json_or_text_only() -> None:
    assert [member.value for member in Output] == ["json", "text"]
    wrong = runner.invoke(app, ["qris", "decode", "000201", "--output", "yaml"])
    assert wrong.exit_code == 2
    assert "json" in wrong.output
    assert "text" in wrong.output


@pytest.mark.parametrize("path", sorted(SERVICE_COMMANDS))
def test_services_print_no_result_and_take_no_output(path: str) -> None:
    assert option(COMMANDS[path], "--output") is None


@pytest.mark.parametrize("path", sorted(MONEY_MOVING_COMMANDS))
def test_every_money_moving_command_requires_by(path: str) -> None:
    found = option(COMMANDS[path], "--by")
    assert found is not None, f"msc {path} moves money without --by"
    assert found.required


@pytest.mark.parametrize("path", sorted(MONEY_MOVING_COMMANDS))
def test_every_money_moving_command_documents_by(path: str) -> None:
    shown = runner.invoke(app, [*path.split(), "--help"])
    assert shown.exit_code == 0
    assert "--by" in shown.output


def test_a_blank_by_is_a_usage_error() -> None:
    blank = runner.invoke(app, ["outbox", "requeue", "1", "--by", " "])
    assert blank.exit_code == 2
    assert "say who runs the command" in blank.output


def test_no_amount_is_positional() -> None:
    for path, command in COMMANDS.items():
        arguments = [p.name for p in command.params if p.param_type_name == "argument"]
        assert "amount" not in arguments, f"msc {path} takes its amount positionally"


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"msc {package_version()}"
    assert package_version() != "unknown"


def test_emit_renders_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"b": 1, "a": [1, 2]}, Output.JSON)
    assert json.loads(capsys.readouterr().out) == {"a": [1, 2], "b": 1}
    emit({"account": "x", "posted": 5, "none": None}, Output.TEXT)
    assert capsys.readouterr().out == "account  x\nposted   5\nnone     -\n"
    emit({"payload": "000201"}, Output.TEXT, text=lambda r: r["payload"])
    assert capsys.readouterr().out == "000201\n"


def test_text_renders_lists_as_blocks() -> None:
    assert render_text([{"id": 1}, {"id": 2}]) == "id  1\n\nid  2"
    assert render_text([]) == "(none)"
    assert render_text({}) == "(nothing)"
