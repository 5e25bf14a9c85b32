"""The dashboard's Local Pi Utility Index: it parses, names the payment metrics the service
exports, weighs them as the pilot says, and computes 0.6 x count/max + 0.4 x value/max."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from settlement.metrics import LEGS_PAID, LEGS_PAID_IDR, leg_payment_metrics
from tests.support.shared_fixtures import shared_fixture

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy/grafana/dashboards/msc-settlement.json"
LPUI_TITLE = "Indeks Utilitas Pi Lokal per kelurahan"
COUNT = f"sum by (kelurahan) ({LEGS_PAID}_total)"
VALUE = f"sum by (kelurahan) ({LEGS_PAID_IDR}_total)"


def lpui_panel() -> dict[str, Any]:
    dashboard = json.loads(DASHBOARD.read_text())
    (panel,) = [p for p in dashboard["panels"] if p["title"] == LPUI_TITLE]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    return panel


def weights(expr: str) -> tuple[Fraction, Fraction]:
    """The two weights of ``w1 * (COUNT / scalar(max(COUNT))) + w2 * (VALUE / ...)``."""
    normalised = r"\({0} / scalar\(max\({0}\)\)\)"
    count, value = normalised.format(re.escape(COUNT)), normalised.format(re.escape(VALUE))
    pattern = rf"([0-9.]+) \* {count} \+ ([0-9.]+) \* {value}"
    found = re.fullmatch(pattern, expr)
    assert found, expr
    return Fraction(found.group(1)), Fraction(found.group(2))


def test_the_panel_normalises_the_exported_count_and_value_per_kelurahan() -> None:
    (target,) = lpui_panel()["targets"]
    exported = {
        sample.name
        for family in leg_payment_metrics({("Kelurahan A", "QRIS"): (1, 750_000)})
        for sample in family.samples
    }
    named = set(re.findall(r"\bmsc_[a-z_]+", target["expr"]))
    assert named == {f"{LEGS_PAID}_total", f"{LEGS_PAID_IDR}_total"} <= exported
    assert weights(target["expr"]) == (Fraction("0.6"), Fraction("0.4"))
    assert target["legendFormat"] == "{{kelurahan}}"


def test_the_weights_are_the_pilots() -> None:
    pilot = shared_fixture("pilot.json")["lpui_weights"]
    (target,) = lpui_panel()["targets"]
    assert weights(target["expr"]) == (
        Fraction(str(pilot["normalised_tx_count"])),
        Fraction(str(pilot["normalised_tx_value"])),
    )
    assert "pilot.json" in lpui_panel()["description"]


def test_the_weights_pattern_refuses_another_formula() -> None:
    with pytest.raises(AssertionError):
        weights(f"0.6 * {COUNT} + 0.4 * {VALUE}")
