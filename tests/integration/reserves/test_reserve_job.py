"""The worker's periodic reserve computation: stored at the first tick, then once per interval
(a module database of its own: it commits)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from settlement.bootstrap import build_container
from settlement.config import Settings

pytestmark = pytest.mark.integration


def test_the_worker_stores_a_computation_at_start_and_not_again_within_the_interval(
    module_engine: Engine, module_database_url: str
) -> None:
    container = build_container(Settings(reserve_compute_interval_s=3600), module_database_url)
    try:
        reserve_job = container.jobs[-1]
        reserve_job()
        reserve_job()
    finally:
        container.engine.dispose()
    with module_engine.connect() as conn:
        rows = conn.execute(text("SELECT purpose, price_source FROM reserve_computations")).all()
    assert [tuple(r) for r in rows] == [("schedule", "sandbox")]
