"""Shared fixtures: a migrated PostgreSQL database per xdist worker, a rolled-back connection per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Connection, Engine

from settlement.db import make_engine
from tests.database import fresh_database, server_url, worker_database_name

pytest_plugins = ["tests.evm_fixtures"]

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def database_url(worker_id: str) -> str:
    """The URL of this worker's freshly migrated database."""
    return fresh_database(server_url(), worker_database_name(worker_id))


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on this worker's database; tests that commit must use unique account codes."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_conn(db_engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with db_engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                transaction.rollback()
