"""The Prometheus alert rules (issue 16): ``promtool check rules`` accepts them, their own
``promtool test rules`` unit tests pass, and every metric a rule names is one the real app's
scrape declares. promtool comes from Debian's ``prometheus`` package (./scripts/test installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.test_dashboard import exposed

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[2] / "deploy/prometheus/rules"
METRIC = re.compile(r"\bmsc_[a-z0-9_]+")
WANTED_ALERTS = {
    "MscLedgerUnbalanced", "MscCheckFailing", "MscOutboxLagging", "MscOutboxParked",
    "MscReconcileDifference", "MscReserveBelowFloor", "MscGuaranteeFundBelowThreshold",
    "MscMonthNotClosed", "MscAnchorNotConfirmed",
}  # fmt: skip
promtool_timeout_s = 60


def promtool(*args: str) -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: ./scripts/test installs Debian's prometheus package")
    done = subprocess.run(
        [found, *args], cwd=RULES, capture_output=True, text=True, timeout=promtool_timeout_s,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_checks_the_rules_and_their_unit_tests_pass() -> None:
    assert "SUCCESS" in promtool("check", "rules", "msc.rules.yml")
    assert "SUCCESS" in promtool("test", "rules", "msc.rules.test.yml")


def test_the_issue_alerts_exist_and_name_only_exposed_metrics(
    database_url: str, tmp_path: Path
) -> None:
    groups = yaml.safe_load((RULES / "msc.rules.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} >= WANTED_ALERTS
    names = exposed(database_url, tmp_path)
    for rule in rules:
        used = set(METRIC.findall(rule["expr"]))
        assert used <= names, f"{rule['alert']}: {used - names} not exposed"
        assert rule["annotations"]["runbook"].startswith("README#alert-")
