"""The SKCC dashboard asks only for what ``/metrics`` exposes (issue 16): every metric a panel's
query names is a family the real app's scrape declares, each volume panel shows one asset (one
unit per axis), and the panels are titled in Bahasa Indonesia."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/grafana/dashboards/msc-settlement.json"
METRIC_NAME = re.compile(r"\b(?:msc|process|python)_[a-z0-9_]+")
ENGLISH_WORDS = {"per second", "posted", "latency", "pending", "messages", "coverage", "ratio"}
"""Words of the dashboard's former English titles: none may come back."""
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def exposed(database_url: str, tmp_path: Path) -> set[str]:
    """Every sample name the real app's scrape declares (families with no sample yet included)."""
    container = build_container(Settings(data_dir=tmp_path), database_url)
    try:
        with inprocess_client(create_app(container), "http://service.test") as client:
            client.get("/healthz")
            body = client.get("/metrics").text
    finally:
        container.engine.dispose()
    names: set[str] = set()
    for family in text_string_to_metric_families(body):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return found


def test_every_panel_query_names_an_exposed_metric(database_url: str, tmp_path: Path) -> None:
    names = exposed(database_url, tmp_path)
    for panel in panels():
        for target in panel["targets"]:
            used = set(METRIC_NAME.findall(target["expr"]))
            assert used, f"{panel['title']}: the query names no metric"
            assert used <= names, f"{panel['title']}: {used - names} not exposed"


def test_each_volume_panel_shows_one_asset_and_titles_are_in_bahasa() -> None:
    wanted = {"Pembayaran per rel per jam", "Indeks Utilitas Pi Lokal per kelurahan"}
    titles = {panel["title"] for panel in panels()}
    assert wanted <= titles
    for panel in panels():
        assert not any(word in panel["title"].lower() for word in ENGLISH_WORDS), panel["title"]
        volumes = {
            name
            for target in panel["targets"]
            for name in METRIC_NAME.findall(target["expr"])
            if name.startswith("msc_volume_")
        }
        assert len(volumes) <= 1, f"{panel['title']} mixes units: {volumes}"
