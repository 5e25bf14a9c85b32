"""docker-compose.yml and deploy/ stay consistent with the code: they parse, every MSC_* variable
is a Settings field, every command is an ``msc`` command, Prometheus scrapes the API's /metrics,
and the dashboard asks only for metrics the service exports (or declared placeholders)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from escrow.model import TrialBalanceLine
from settlement.cli import app as msc_app
from settlement.config import Settings
from settlement.metrics import LedgerSnapshot, leg_payment_metrics, snapshot_metrics

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
PLACEHOLDER_METRICS = {"msc_reserve_coverage_ratio", "msc_guarantee_fund_ratio"}
HTTP_METRICS = {
    "msc_http_request_duration_seconds_bucket",
    "msc_http_request_duration_seconds_count",
}


def exported_metrics() -> set[str]:
    """Sample names the ledger and payment collectors yield (from their own code), plus the up
    gauges and HTTP."""
    snapshot = LedgerSnapshot([TrialBalanceLine("IDR", 5, 5, 0, 0)], {"c": 1}, 0, {}, 0)
    names = {sample.name for family in snapshot_metrics(snapshot) for sample in family.samples}
    payments = {("Kelurahan A", "PI"): (1, 750_000)}
    names |= {sample.name for family in leg_payment_metrics(payments) for sample in family.samples}
    return names | {"msc_ledger_up", "msc_payments_up"} | HTTP_METRICS


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")
    return data


def test_compose_has_the_production_services(compose: dict[str, Any]) -> None:
    wanted = {"postgres", "redis", "api", "worker", "beat", "anvil", "prometheus", "grafana"}
    assert wanted <= set(compose["services"])


def test_every_msc_variable_is_a_settings_field(compose: dict[str, Any]) -> None:
    fields = {f"MSC_{name.upper()}" for name in Settings.model_fields}
    used = {
        key
        for service in compose["services"].values()
        for key in (service.get("environment") or {})
        if key.startswith("MSC_")
    }
    assert used, "the msc services take their configuration from MSC_* variables"
    assert used <= fields, used - fields


def test_every_service_command_is_an_msc_command(compose: dict[str, Any]) -> None:
    group = get_command(msc_app)
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if not command or command[0] != "msc":
            continue
        node: Any = group
        for word in command[1:]:
            if word.startswith("-"):
                break
            node = node.get_command(None, word) if hasattr(node, "get_command") else None
            assert node is not None, f"{name}: msc {' '.join(command[1:])} is not a command"


def test_the_services_build_from_files_that_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        build = service.get("build")
        if build is not None:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_prometheus_scrapes_the_api_metrics(compose: dict[str, Any]) -> None:
    config = load_yaml(DEPLOY / "prometheus.yml")
    jobs = config["scrape_configs"]
    assert any(
        job["metrics_path"] == "/metrics" and "api:8000" in job["static_configs"][0]["targets"]
        for job in jobs
    )
    assert compose["services"]["api"]["environment"]["MSC_HTTP_PORT"] == "8000"


def test_grafana_provisioning_points_at_the_dashboard(compose: dict[str, Any]) -> None:
    datasource = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")
    provider = load_yaml(DEPLOY / "grafana/provisioning/dashboards/msc.yml")
    dashboard = json.loads((DEPLOY / "grafana/dashboards/msc-settlement.json").read_text())
    uid = datasource["datasources"][0]["uid"]
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts
    assert all(panel["datasource"]["uid"] == uid for panel in dashboard["panels"])


def test_dashboard_queries_only_exported_or_placeholder_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/msc-settlement.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    names = {name for expr in exprs for name in re.findall(r"\bmsc_[a-z_]+", expr)}
    exported = exported_metrics()
    assert names <= exported | PLACEHOLDER_METRICS, names - exported
    for wanted in ("msc_postings_total", "msc_volume_posted_total", "msc_outbox_lag_seconds"):
        assert wanted in names
