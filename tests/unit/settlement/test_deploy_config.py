"""docker-compose.yml and deploy/ stay consistent with the code: they parse, every MSC_* variable
is a Settings field, every command is an ``msc`` command, Prometheus scrapes the API's /metrics
(tests/integration/test_dashboard.py checks the dashboard's queries against a real scrape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from settlement.cli import app as msc_app
from settlement.config import Settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


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
