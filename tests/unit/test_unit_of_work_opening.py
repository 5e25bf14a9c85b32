"""A transaction is opened, and a ledger built, in one place: ``settlement/unit_of_work.py``.

Use cases receive a ``UnitOfWork`` (decision 0010); a module that calls ``engine.begin()`` or
constructs ``Ledger(...)`` itself chooses its own transaction again. ``escrow`` (the ledger's
own package) and the tests are outside the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("settlement", "api")
OPENING_PLACE = "settlement/unit_of_work.py"


def openings(source: str) -> list[str]:
    """The ``engine.begin()`` calls and ``Ledger(...)`` constructions in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name == "Ledger":
            found.append(f"line {node.lineno}: Ledger(...)")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "begin"
            and _names_an_engine(func.value)
        ):
            found.append(f"line {node.lineno}: engine.begin()")
    return sorted(found, key=lambda where: int(where.split()[1].rstrip(":")))


def _names_an_engine(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return str(name).lstrip("_").endswith("engine")


def _modules() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for package in SCANNED
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def test_the_detector_finds_each_kind_of_opening() -> None:
    source = (
        "def f(engine, container, conn):\n"
        "    with engine.begin() as c: pass\n"
        "    with container.engine.begin() as c: pass\n"
        "    with self._engine.begin() as c: pass\n"
        "    ledger = Ledger(conn)\n"
        "    other = escrow.ledger.Ledger(conn)\n"
        "    with conn.begin_nested(): pass\n"
        "    with engine.connect() as c: pass\n"
    )
    assert openings(source) == [
        "line 2: engine.begin()",
        "line 3: engine.begin()",
        "line 4: engine.begin()",
        "line 5: Ledger(...)",
        "line 6: Ledger(...)",
    ]


def test_only_the_unit_of_work_opens_a_transaction_or_builds_a_ledger() -> None:
    offending = {
        module: found
        for module, source in _modules().items()
        if module != OPENING_PLACE and (found := openings(source))
    }
    assert offending == {}


def test_the_opening_place_is_where_the_scan_says() -> None:
    assert openings((ROOT / OPENING_PLACE).read_text(encoding="utf-8"))
