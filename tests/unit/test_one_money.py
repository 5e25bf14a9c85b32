"""Only ``escrow`` knows a scale or reads decimal text (issue 10: "no other module knows a scale").

Every rail, the CLI and the API take an asset from ``escrow.money`` and parse through
``parse_amount``; a module that defines its own scale constant or builds a ``Decimal`` from
anything but a literal is written a second time beside the one parser.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chain", "settlement", "api")
DECIMAL_ALLOWED = ("chain/pi/sandbox/",)
"""The Pi sandbox stands in for Pi's servers: it keeps Pi's own decimal text as Pi does."""


def second_money_rules(source: Path) -> list[str]:
    """Scale constants defined and ``Decimal(...)`` calls on non-literals in one module."""
    tree = ast.parse(source.read_text(), filename=str(source))
    found: list[str] = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and "scale" in target.id.lower():
                found.append(f"{target.lineno}: defines {target.id}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "Decimal"
            and not all(isinstance(arg, ast.Constant) for arg in node.args)
        ):
            found.append(f"{node.lineno}: Decimal(...) of a non-literal")
    return found


def test_no_module_outside_escrow_knows_a_scale_or_parses_decimals() -> None:
    modules = [m for package in PACKAGES for m in sorted((ROOT / package).rglob("*.py"))]
    assert modules
    found = {}
    for module in modules:
        name = str(module.relative_to(ROOT))
        lines = second_money_rules(module)
        if name.startswith(DECIMAL_ALLOWED):
            lines = [line for line in lines if "Decimal" not in line]
        found[name] = lines
    assert {module: lines for module, lines in found.items() if lines} == {}


def test_the_scan_sees_a_scale_and_a_decimal_parse(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import decimal\nIDR_SCALE = 2\n\n\ndef f(t: str) -> object:\n"
        "    pi_scale: int = 7\n    return decimal.Decimal(t), Decimal('1')\n"
    )
    assert second_money_rules(module) == [
        "2: defines IDR_SCALE",
        "6: defines pi_scale",
        "7: Decimal(...) of a non-literal",
    ]
