"""Shared fixtures: one migrated PostgreSQL database per xdist worker; rolled-back connections."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, settings
from sqlalchemy import Connection, Engine

from settlement.db import make_engine
from tests.database import drop_database, fresh_database, server_url, worker_database_name

pytest_plugins = ["tests.evm_fixtures"]

_configure_structlog = structlog.configure


def _configure_without_logger_cache(*args: Any, **kwargs: Any) -> None:
    """The service caches each logger on first use (fast in production); a command run in-process
    by one test would then freeze every module's logger, and a later test's ``capture_logs``
    would see nothing. Under pytest, loggers are never cached."""
    kwargs["cache_logger_on_first_use"] = False
    _configure_structlog(*args, **kwargs)


structlog.configure = _configure_without_logger_cache

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # Under CI the examples are the same every run, so a landing never hinges on luck; run the
    # suite locally (random examples, remembered failures) to search for new ones.
    derandomize=bool(os.environ.get("CI")),
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """pytest-xdist's worker name (``gw0``...), or ``master`` without workers: the same as
    xdist's own fixture, which is missing when xdist is not loaded (``-p no:xdist``, a pytest
    without it), so that a plain ``pytest PATH`` runs too."""
    workerinput = getattr(request.config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "master"


@pytest.fixture(scope="session")
def database_server_url() -> str:
    """The PostgreSQL server the tests run against (see tests.database.server_url)."""
    return server_url()


@pytest.fixture(scope="session")
def database_url(database_server_url: str, worker_id: str) -> Iterator[str]:
    """The URL of this worker's freshly migrated database, dropped at the end of the session."""
    name = worker_database_name(worker_id)
    yield fresh_database(database_server_url, name)
    drop_database(database_server_url, name)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on this worker's database; tests that commit must use unique account codes."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def module_engine(
    database_server_url: str, worker_id: str, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """A database of this module's own, for tests that move time or read global totals.

    The ledger's timestamp sequence is not rolled back with a test's transaction, so a test that
    moves time forward would leave later timestamps in the future for every other test; and a
    test that reads a shared account's total would see what other tests committed.
    """
    name = f"{worker_database_name(worker_id)}_{request.module.__name__.rsplit('.', 1)[-1]}"[:63]
    engine = make_engine(fresh_database(database_server_url, name))
    yield engine
    engine.dispose()
    drop_database(database_server_url, name)


@pytest.fixture(scope="module")
def module_database_url(module_engine: Engine) -> str:
    """The URL of the module's own database, for a service built on it (its commits, such as a
    Pi receipt into custody, stay out of the totals other modules read)."""
    return module_engine.url.render_as_string(hide_password=False)


@pytest.fixture
def module_conn(module_engine: Engine) -> Iterator[Connection]:
    """Like ``db_conn``, on the module's own database."""
    with rolled_back(module_engine) as conn:
        yield conn


@pytest.fixture
def db_conn(db_engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with rolled_back(db_engine) as conn:
        yield conn


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back at the end, whatever the test did."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                transaction.rollback()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--sim-seed N``: the fault simulator (tests/simulation) replays seed N only."""
    parser.addoption("--sim-seed", type=int, default=None, help="replay one simulator seed")
    parser.addoption("--sim-steps", type=int, default=None, help="steps of the replayed seed")
