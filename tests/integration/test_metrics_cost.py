"""A scrape of ``/metrics`` costs nothing that grows with the ledger (issue 16, decision 0034).

Every statement a scrape sends is counted, and none may name ``transfers``; the same scrape run
as a database role that may not read ``transfers`` at all still reports every collector up (so
no function, view or raw connection reads it behind the statements' backs). Counters come from
``metric_counts``, kept by triggers as postings and paid legs are committed, whoever commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from sqlalchemy import Engine, event, text

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from escrow.ledger import Ledger
from escrow.model import AccountKind, TransferRequest
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.telemetry import fold_counts
from tests.database import with_database

pytestmark = pytest.mark.integration

TRANSFERS = re.compile(r"\btransfers\b", re.IGNORECASE)
scrape_statements_max = 40
"""Statements one scrape may send (it sends about 20: a constant, not a function of volume)."""
GROWING = {
    "transfers", "checkout_legs", "checkouts", "outbox", "pending_transfers", "qris_exceptions",
    "pi_flags", "idempotency_keys", "rate_readings", "reserve_computations",
}  # fmt: skip
"""Tables that grow with the years: a scrape may read them only through an index."""
UP_GAUGES = ("msc_ledger_up", "msc_payments_up", "msc_reserve_up", "msc_guarantee_fund_up")


Statement = tuple[str, Any]


def _scrape(engine: Engine, url: str, tmp_path: Path) -> tuple[dict[str, float], list[Statement]]:
    """Scrape the app built on ``url``; the samples (name -> last value) and the statements."""
    container = build_container(Settings(data_dir=tmp_path), url)
    statements: list[Statement] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    try:
        with inprocess_client(create_app(container), "http://service.test") as client:
            client.get("/healthz")  # the app's first request wires nothing on the database
            event.listen(container.engine, "before_cursor_execute", record)
            response = client.get("/metrics")
            event.remove(container.engine, "before_cursor_execute", record)
    finally:
        container.engine.dispose()
    assert response.status_code == 200
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return samples, statements


def _post(
    engine: Engine, code: str, amounts: list[int], then: Callable[[], object] = lambda: None
) -> None:
    suffix = uuid.uuid4().hex[:12]
    with engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account(f"test:cost:{suffix}:a", "MSCP", AccountKind.ASSET)
        ledger.ensure_account(f"test:cost:{suffix}:b", "MSCP", AccountKind.LIABILITY)
        requests = [
            TransferRequest(uuid.uuid4(), f"test:cost:{suffix}:a", f"test:cost:{suffix}:b",
                            amount, "MSCP", code)
            for amount in amounts
        ]  # fmt: skip
        assert all(result.ok for result in ledger.post_batch(requests))
        then()


def test_a_scrape_sends_a_few_statements_and_none_touches_transfers(
    database_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    _post(db_engine, f"test.cost.{uuid.uuid4().hex[:12]}", [5, 6, 7])

    samples, statements = _scrape(db_engine, database_url, tmp_path)

    assert all(samples[name] == 1 for name in UP_GAUGES), samples
    assert 0 < len(statements) <= scrape_statements_max, statements
    touching = [s for s, _ in statements if TRANSFERS.search(s)]
    assert not touching, touching
    assert "process_cpu_seconds_total" in samples
    assert "python_gc_objects_collected_total" in samples


@pytest.fixture
def blind_role_url(database_server_url: str, database_url: str) -> Iterator[str]:
    """``database_url`` as a role that may read every table but ``transfers``."""
    role = f"msc_blind_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(role)))  # fmt: skip
        conn.execute(sql.SQL("REVOKE ALL ON transfers FROM {}").format(sql.Identifier(role)))
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    server = psycopg.conninfo.make_conninfo(**{**info, "user": role})
    try:
        yield with_database(server, str(info["dbname"]))
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(
                sql.Identifier(role)))  # fmt: skip
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_role_that_cannot_read_transfers_scrapes_every_figure(
    blind_role_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    samples, _ = _scrape(db_engine, blind_role_url, tmp_path)

    assert all(samples[name] == 1 for name in UP_GAUGES), samples


def _scanned(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield str(plan["Relation Name"])
    for child in plan.get("Plans", []):
        yield from _scanned(child)


def test_no_scrape_statement_scans_a_table_that_grows(
    database_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    _, statements = _scrape(db_engine, database_url, tmp_path)
    reads = [(s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert reads
    scanned: dict[str, set[str]] = {}
    with db_engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # a seq scan now means: no index path
        for statement, parameters in reads:
            (plan,) = conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, parameters or {}
            ).scalar_one()
            found = set(_scanned(plan["Plan"])) & GROWING
            if found:
                scanned[statement] = found
        conn.rollback()
    assert not scanned, scanned


def test_postings_are_counted_per_code_by_whoever_commits_and_survive_a_fold(
    database_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    code = f"test.cost.{uuid.uuid4().hex[:12]}"
    _post(db_engine, code, [3, 4])
    with db_engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # another session: its own counter row
    _post(db_engine, code, [10])
    with pytest.raises(ZeroDivisionError):
        _post(db_engine, code, [100], then=lambda: 1 // 0)  # rolled back: counts nothing

    container = build_container(Settings(data_dir=tmp_path), database_url)
    try:
        with inprocess_client(create_app(container), "http://service.test") as client:
            before = client.get("/metrics").text
            with db_engine.begin() as conn:
                fold_counts(conn)
            after = client.get("/metrics").text
    finally:
        container.engine.dispose()

    def postings(body: str) -> float:
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                if sample.name == "msc_postings_total" and sample.labels == {"code": code}:
                    return sample.value
        return 0.0

    assert postings(before) == 3
    assert postings(after) == 3
