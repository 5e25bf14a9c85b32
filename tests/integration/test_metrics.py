"""GET /metrics on the real app over PostgreSQL: postings per code, volume per asset, pending,
outbox state and lag move exactly with committed ledger and outbox changes; latency is observed
per route template."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from escrow.ledger import Ledger
from escrow.model import AccountKind, TransferFlags, TransferRequest
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.outbox import enqueue

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    container = build_container(Settings(data_dir=tmp_path), database_url)
    try:
        with inprocess_client(create_app(container), "http://service.test") as test_client:
            yield test_client
    finally:
        container.engine.dispose()


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _post(engine: Engine, code: str, amount: int, flags: TransferFlags) -> None:
    suffix = uuid.uuid4().hex[:12]
    with engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account(f"test:metrics:{suffix}:a", "MSCP", AccountKind.ASSET)
        ledger.ensure_account(f"test:metrics:{suffix}:b", "MSCP", AccountKind.LIABILITY)
        result = ledger.post(
            TransferRequest(
                id=uuid.uuid4(),
                debit=f"test:metrics:{suffix}:a",
                credit=f"test:metrics:{suffix}:b",
                amount=amount,
                asset="MSCP",
                code=code,
                flags=flags,
                timeout_s=3600 if flags & TransferFlags.PENDING else 0,
            )
        )
    assert result.ok


def test_ledger_metrics_follow_committed_postings(client: httpx.Client, db_engine: Engine) -> None:
    code = f"test.metrics.{uuid.uuid4().hex[:16]}"
    before = scrape(client)

    _post(db_engine, code, 700, TransferFlags.NONE)
    _post(db_engine, code, 45, TransferFlags.NONE)
    _post(db_engine, code, 9, TransferFlags.PENDING)
    with db_engine.begin() as conn:
        enqueue(conn, f"test.metrics.{uuid.uuid4().hex[:8]}", "k", {})
    after = scrape(client)

    assert value(after, "msc_ledger_up") == 1
    assert value(after, "msc_postings_total", code=code) == 3
    posted = "msc_volume_posted_mscp_points_total"
    assert value(after, posted) - value(before, posted) == 745
    pending = "msc_volume_pending_mscp_points"
    assert value(after, pending) - value(before, pending) == 9
    assert value(after, "msc_pending_transfers") - value(before, "msc_pending_transfers") == 1
    outbox = "msc_outbox_messages"
    assert value(after, outbox, status="pending") - value(before, outbox, status="pending") == 1
    assert value(after, "msc_outbox_lag_seconds") >= 0
    assert all(value(after, "msc_ledger_balanced", asset=a) == 1 for a in ("IDR", "MSC", "MSCP"))


def test_request_latency_is_observed_per_route_template(client: httpx.Client) -> None:
    client.get("/healthz")
    client.get("/healthz")
    client.get(f"/no-such-page/{uuid.uuid4().hex}")

    samples = scrape(client)

    count = "msc_http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/healthz", status="200") == 2
    assert value(samples, count, method="GET", route="unmatched", status="404") == 1
    assert not any("no-such-page" in str(labels) for _, labels in samples)


def test_a_database_that_cannot_be_read_reports_ledger_down(tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:9/none"
    container = build_container(Settings(data_dir=tmp_path), url)
    try:
        with inprocess_client(create_app(container), "http://service.test") as test_client:
            samples = scrape(test_client)
    finally:
        container.engine.dispose()
    assert value(samples, "msc_ledger_up") == 0
    assert value(samples, "msc_postings_total") == 0
