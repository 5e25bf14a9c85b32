"""The chart of accounts: accounts come into being only through it, and transfer codes too."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest

from escrow.chart import AccountPattern, AccountUndeclared, TransferCodeUndeclared
from escrow.memory import MemoryLedger
from escrow.model import AccountFlags, AccountKind, TransferRequest
from escrow.rules import PENDING_EXPIRED_CODE
from settlement import chart
from settlement.chart import CHART, TransferCode, markdown_table, open_account
from settlement.pi.accounts import credit_spec
from settlement.pi.errors import PiRefusal
from settlement.refusals import http_status

ROOT = Path(__file__).resolve().parents[3]
_TRANSFER_CODE = re.compile(r"[a-z]+(\.[a-z_]+)+")


def test_a_pattern_matches_its_accounts_only() -> None:
    pattern = AccountPattern("pioneer:{uid}:PI", "PI", AccountKind.LIABILITY, "x", owner="{uid}")
    assert pattern.match("pioneer:abc-1:PI") == {"uid": "abc-1"}
    assert pattern.match("pioneer:a:b:PI") is None
    assert pattern.match("pioneer::PI") is None
    assert pattern.spec(uid="P1").owner == "P1"
    with pytest.raises(AccountUndeclared):
        pattern.spec(uid="has:colon")


def test_call_sites_build_accounts_from_the_chart() -> None:
    assert chart.pioneer_pi("U1").code == "pioneer:U1:PI"
    assert chart.merchant_idr("ID10").code == "merchant:ID10:IDR"
    assert chart.pi_custody().flags is AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    assert chart.suspense("PI").code == "suspense:PI"
    assert CHART.spec_of("treasury:pi_suspense").kind is AccountKind.LIABILITY
    with pytest.raises(AccountUndeclared):
        chart.suspense("MSCP")


def test_a_ledger_with_the_chart_refuses_an_undeclared_account_and_opens_nothing() -> None:
    ledger = MemoryLedger(policy=CHART)
    with pytest.raises(AccountUndeclared) as refused:
        ledger.ensure_account("nope:nope", "PI", AccountKind.LIABILITY)
    assert refused.value.code == "account_undeclared"
    with pytest.raises(AccountUndeclared):  # declared code, other kind
        ledger.ensure_account("pioneer:U1:PI", "PI", AccountKind.ASSET)
    assert ledger.accounts() == []
    assert open_account(ledger, chart.pioneer_pi("U1")).code == "pioneer:U1:PI"


def test_a_ledger_with_the_chart_refuses_an_undeclared_transfer_code_and_posts_nothing() -> None:
    ledger = MemoryLedger(policy=CHART)
    open_account(ledger, chart.pi_custody())
    open_account(ledger, chart.pioneer_pi("U1"))
    request = TransferRequest(uuid.uuid4(), "treasury:pi_custody", "pioneer:U1:PI", 5, "PI", "x.y")
    with pytest.raises(TransferCodeUndeclared):
        ledger.post(request)
    assert ledger.transfers() == []
    declared = TransferRequest(
        uuid.uuid4(), "treasury:pi_custody", "pioneer:U1:PI", 5, "PI", TransferCode.PI_RECEIVED
    )
    assert ledger.post(declared).ok


def test_a_pi_expectation_credits_only_a_declared_pi_liability() -> None:
    assert credit_spec("pioneer:U1:PI").asset == "PI"
    for code in ("nope:nope", "merchant:ID10:IDR", "treasury:pi_custody"):
        with pytest.raises(PiRefusal) as refused:
            credit_spec(code)
        assert refused.value.code == "account_undeclared"
        assert http_status(refused.value) == 422


def _literal_transfer_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "settlement").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "TransferRequest":
                args = [*node.args[5:6], *(kw.value for kw in node.keywords if kw.arg == "code")]
                codes |= {
                    str(a.value)
                    for a in args
                    if isinstance(a, ast.Constant) and _TRANSFER_CODE.fullmatch(str(a.value))
                }
    return codes


def test_settlement_posts_no_literal_transfer_code() -> None:
    """Transfer codes come from ``TransferCode``; a literal one would dodge the chart."""
    assert _literal_transfer_codes() == set()


def test_every_transfer_code_has_a_meaning() -> None:
    assert {d.code for d in CHART.transfer_codes} == {str(c) for c in TransferCode}
    assert all(d.meaning for d in CHART.transfer_codes)


def test_the_readme_chart_is_current() -> None:
    """Regenerate with ``python -m settlement.chart`` between the README's chart markers."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- chart:begin -->\n", 1)[1].split("<!-- chart:end -->", 1)[0]
    assert section == markdown_table()


def test_settlement_opens_accounts_only_through_the_chart() -> None:
    """``ensure_account`` is called in settlement only by ``chart.open_account``."""
    callers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "settlement").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "ensure_account"
    )
    assert callers == ["settlement/chart.py"]


def test_the_ledgers_own_expiry_void_is_a_declared_code() -> None:
    """``void_expired`` on a unit of work's ledger (``policy=CHART``) posts this code."""
    CHART.check_transfer_code(PENDING_EXPIRED_CODE)
