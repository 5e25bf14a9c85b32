"""Log lines are JSON on the chosen standard stream, whichever object that stream is now."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from settlement.logging import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    configure_logging()


def test_a_one_shot_command_logs_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(to="stderr")
    structlog.get_logger("test").info("ours", n=1)
    logging.getLogger("library").warning("theirs")
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [json.loads(line) for line in captured.err.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("ours", "info"),
        ("theirs", "warning"),
    ]
    assert lines[0]["n"] == 1


def test_lines_follow_the_stream_swapped_in_after_configuring(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test runner swaps sys.stdout after logging was configured, then closes its own."""
    configure_logging(to="stdout")
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stdout", swapped)
    structlog.get_logger("test").info("while_swapped")
    monkeypatch.undo()
    assert json.loads(swapped.getvalue())["event"] == "while_swapped"
    swapped.close()
    structlog.get_logger("test").info("after_swap")
    assert json.loads(capsys.readouterr().out)["event"] == "after_swap"


def test_no_line_shows_a_known_secret_or_a_urls_secret_parts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9 item 9: the RPC URL, which carries the provider's key, was logged at start."""
    secret = "operator-token-0123456789abcdef"
    configure_logging(to="stdout", secrets=[secret, "short"])
    log = structlog.get_logger("test")
    log.info("ours", token=secret, nested={"list": [f"Bearer {secret}"]}, url="https://h/v3/KEY1")
    try:
        raise RuntimeError(f"failed with {secret} at https://u:PW@h:1/?apikey=KEY2")
    except RuntimeError:
        log.exception("ours_crashed")
        logging.getLogger("library").exception("theirs_crashed at http://h/KEY3")
    logging.getLogger("library").warning("short words stay")
    output = capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["event"] for line in lines] == [
        "ours",
        "ours_crashed",
        "theirs_crashed at http://h/[redacted]",
        "short words stay",
    ]
    for leaked in (secret, "KEY1", "KEY2", "KEY3", "PW"):
        assert leaked not in output
    assert lines[0]["nested"] == {"list": ["Bearer [redacted]"]}
    assert "RuntimeError: failed with [redacted] at https://h:1/[redacted]" in lines[1]["exception"]
    assert "RuntimeError: failed with [redacted]" in lines[2]["exception"]
