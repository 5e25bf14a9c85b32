"""Every refusal code raised anywhere is in the registry, with a status and both messages.

The codes are collected from the source of chain/, settlement/, escrow/ and api/: each class's
``code = "..."``, each ``code="..."`` argument, the first argument of the refusal constructors
that take the code first, and the code argument of ``Problem(status, code, ...)``. Transfer
codes (``pi.received``) contain dots and are not refusals.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from escrow.calendar import format_wib
from escrow.model import ResultCode
from escrow.money import IDR, AmountRefused, Money, format_idr_display
from escrow.refusals import Refusal
from settlement.audit.anchor import AnchorRefused
from settlement.evm.bridge import WithdrawalRefusedError
from settlement.pi.errors import PiRefusal
from settlement.qris.expectations import ExpectationRefused
from settlement.qris.notifications import NotificationDeferred, NotificationRefused
from settlement.refusals import (
    REFUSALS,
    Language,
    http_status,
    markdown_table,
    message,
)

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = ("chain", "settlement", "escrow", "api")
CODE_FIRST = frozenset(
    {
        "_fail",
        "PiRefusal",
        "WithdrawalRefusedError",
        "AmountRefused",
        "NotificationRefused",
        "NotificationDeferred",
        "TxVerificationError",
    }
)
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _constants(nodes: list[ast.expr]) -> set[str]:
    return {
        str(node.value)
        for node in nodes
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _CODE.fullmatch(node.value)
    }


def _codes_in(tree: ast.AST) -> set[str]:
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets
                ):
                    codes |= _constants([stmt.value])
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        args: list[ast.expr] = [kw.value for kw in node.keywords if kw.arg == "code"]
        if name in CODE_FIRST:
            args += node.args[:1]
        if name == "Problem":
            args += node.args[1:2]
        codes |= _constants(args)
    return codes


def raised_codes() -> set[str]:
    """Every refusal code the source can raise."""
    codes: set[str] = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if "sandbox" in path.parts:
                continue  # the Pi sandbox imitates Pi's own error codes, it does not refuse
            codes |= _codes_in(ast.parse(path.read_text()))
    return codes


def test_every_raised_code_is_registered() -> None:
    codes = raised_codes()
    # the scan sees each kind of source
    assert {"pi_tx_malformed", "qris_notification_malformed", "amount_invalid"} <= codes
    assert {"invalid_address", "qris_provider_unknown", "operator_unauthenticated"} <= codes
    assert sorted(codes - REFUSALS.keys()) == []


def test_the_scan_would_catch_an_unregistered_code() -> None:
    tree = ast.parse('raise PiRefusal("pi_nobody_registered_this", "x")')
    assert sorted(_codes_in(tree) - REFUSALS.keys()) == ["pi_nobody_registered_this"]


def test_every_ledger_result_code_is_registered() -> None:
    refusing = {str(code) for code in ResultCode} - {"ok", "exists"}
    assert sorted(refusing - REFUSALS.keys()) == []


def test_every_entry_has_a_status_and_both_messages() -> None:
    for code, entry in REFUSALS.items():
        assert entry.code == code
        assert 400 <= entry.status < 600, code
        assert entry.id, code
        assert entry.en, code
        assert entry.id != entry.en, code


def test_the_documentation_is_current() -> None:
    """Regenerate with ``python -m settlement.refusals > docs/refusals.md``."""
    assert (ROOT / "docs" / "refusals.md").read_text() == markdown_table()


@pytest.mark.parametrize(
    "refusal",
    [
        PiRefusal("pi_expectation_expired", "x"),
        AmountRefused("amount_invalid", "x"),
        NotificationDeferred("qris_gateway_unavailable", "x"),
        NotificationRefused("qris_notification_unauthenticated", "x", authenticated=False),
        WithdrawalRefusedError("exceeds_credits", "x"),
        ExpectationRefused("x"),
        AnchorRefused("x"),
    ],
    ids=lambda r: type(r).__name__,
)
def test_every_refusal_class_shares_the_base_and_keeps_its_code(refusal: Refusal) -> None:
    assert isinstance(refusal, Refusal)
    assert refusal.code in REFUSALS
    assert http_status(refusal) == REFUSALS[refusal.code].status


def test_old_base_classes_and_statuses_stay() -> None:
    assert issubclass(AmountRefused, ValueError)
    assert issubclass(ExpectationRefused, ValueError)
    assert issubclass(WithdrawalRefusedError, ValueError)
    assert str(PiRefusal("pi_bad_input", "why")) == "pi_bad_input: why"
    assert str(WithdrawalRefusedError("invalid_amount", "why")) == "invalid_amount: why"
    # an unreadable notification is a 400 as a whole, even when its amount's code is a 422
    assert http_status(NotificationRefused("amount_invalid", "x", authenticated=True)) == 400
    assert http_status(AmountRefused("amount_invalid", "x")) == 422
    assert http_status(PiRefusal("pi_no_such_code", "x")) == 500


def test_messages_by_language() -> None:
    assert message("pi_expectation_expired", Language.ID) == "Waktu pembayaran sudah habis."
    assert message("pi_expectation_expired", Language.EN) == "The expectation has expired."
    assert message("pi_no_such_code", Language.ID) == "pi_no_such_code"


def test_rupiah_and_wib_as_indonesians_read_them() -> None:
    assert format_idr_display(Money(IDR, 1_500_000)) == "Rp 15.000"
    assert format_idr_display(Money(IDR, 1_500_050)) == "Rp 15.000,50"
    assert format_idr_display(Money(IDR, 123_456_789_00)) == "Rp 123.456.789"
    assert format_idr_display(Money(IDR, 5)) == "Rp 0,05"
    assert format_wib(1_764_580_920_000_000) == "01-12-2025 16:22 WIB"
