"""Every code a Pi refusal can carry has an HTTP status: an unmapped code would answer 500.

Refusals pass chain error codes through (`PiRefusal(exc.code, ...)`), so the codes are collected
from the source: each error class's `code`, each `code="..."` argument and each `_fail("...")`
of chain/pi, and each `PiRefusal("...")` of settlement/pi (refusal codes are `pi_*`; ledger
transfer codes such as `pi.received` are not refusals).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from chain.pi import errors
from settlement.pi.errors import PiRefusal
from settlement.refusals import REFUSALS, http_status

ROOT = Path(__file__).resolve().parents[3]


def _literal_codes(folder: Path) -> set[str]:
    codes: set[str] = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = [*node.args[:1]] if name in ("_fail", "PiRefusal") else []
            args += [kw.value for kw in node.keywords if kw.arg == "code"]
            codes.update(
                str(arg.value)
                for arg in args
                if isinstance(arg, ast.Constant) and str(arg.value).startswith("pi_")
            )
    return codes


def _class_codes() -> set[str]:
    return {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.PiError)
    }


def test_every_refusal_code_has_a_status() -> None:
    codes = (
        _class_codes()
        | _literal_codes(ROOT / "chain" / "pi")
        | _literal_codes(ROOT / "settlement" / "pi")
    )
    assert "pi_tx_malformed" in codes  # the scan sees verify's codes
    assert "pi_expectation_mismatch" in codes  # and the settlement layer's
    assert sorted(codes - REFUSALS.keys()) == []
    assert all(
        400 <= REFUSALS[code].status < 600 and REFUSALS[code].status != 500 for code in codes
    )


def test_an_unmapped_code_is_a_programmer_error() -> None:
    assert http_status(PiRefusal("pi_no_such_code", "x")) == 500
