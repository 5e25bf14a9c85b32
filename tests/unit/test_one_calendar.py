"""Only ``escrow.calendar`` names the business time zone (and the verifier, kept apart)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("escrow", "chain", "settlement", "api")
ZONE_HOMES = {"escrow/calendar.py", "settlement/audit/bundle.py"}
"""The verifier keeps a fixed UTC+7, tested equal to the calendar (tests/unit/escrow)."""
ZONE = re.compile(r"Asia/Jakarta\"|'Asia/Jakarta'|timedelta\(hours=7\)|timezone\(timedelta")


def zone_definitions(text: str) -> list[str]:
    """Lines of ``text`` that define a WIB zone of their own."""
    return [line.strip() for line in text.splitlines() if ZONE.search(line)]


def test_no_module_but_the_calendar_defines_wib() -> None:
    found = {
        str(module.relative_to(ROOT)): zone_definitions(module.read_text())
        for package in PACKAGES
        for module in sorted((ROOT / package).rglob("*.py"))
        if str(module.relative_to(ROOT)) not in ZONE_HOMES
    }
    assert {module: lines for module, lines in found.items() if lines} == {}


def test_the_scan_sees_a_zone_of_its_own() -> None:
    assert zone_definitions('WIB = timezone(timedelta(hours=7), "WIB")\nx = 1\n') == [
        'WIB = timezone(timedelta(hours=7), "WIB")'
    ]
    assert zone_definitions('JAKARTA = ZoneInfo("Asia/Jakarta")') == [
        'JAKARTA = ZoneInfo("Asia/Jakarta")'
    ]
