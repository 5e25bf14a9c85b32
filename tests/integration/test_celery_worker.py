"""The production worker end to end: a real Redis broker, a real Celery worker (in-process
thread), the real outbox on PostgreSQL. A message enqueued and committed is dispatched by the
``outbox.dispatch`` task exactly once, and re-sending the task changes nothing."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from sqlalchemy import Connection, Engine, text

from settlement.bootstrap import Container, assemble_container
from settlement.config import Settings
from settlement.outbox import Dispatcher, OutboxMessage, enqueue
from settlement.worker import DISPATCH_TASK, PERIODIC_TASK, LazyContainer, make_celery

pytestmark = pytest.mark.integration

wait_s = 20.0


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get("MSC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis at {url} is not reachable (scripts/test starts it): {error}")
    return url


@pytest.fixture
def handled() -> list[str]:
    return []


@pytest.fixture
def kind() -> str:
    return f"test.celery.{uuid.uuid4().hex[:12]}"


@pytest.fixture
def celery_app(
    redis_url: str, db_engine: Engine, tmp_path: Path, kind: str, handled: list[str]
) -> Iterator[Celery]:
    def handler(conn: Connection, message: OutboxMessage) -> None:
        handled.append(message.key)

    def build() -> Container:
        settings = Settings(data_dir=tmp_path, evm_rpc_url="http://127.0.0.1:9")
        return assemble_container(
            settings, "unused", db_engine, Dispatcher(db_engine, {kind: handler})
        )

    app = make_celery(redis_url, LazyContainer(build), queue=f"msc-test-{uuid.uuid4().hex}")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10.0):
        yield app


def _status(engine: Engine, kind: str, key: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT status FROM outbox WHERE kind = :k AND key = :key"),
                {"k": kind, "key": key},
            ).scalar_one()
        )


def _wait_done(engine: Engine, kind: str, key: str) -> None:
    deadline = time.monotonic() + wait_s
    while _status(engine, kind, key) != "done":
        if time.monotonic() > deadline:
            pytest.fail(f"outbox message {kind}/{key} not dispatched within {wait_s} s")
        time.sleep(0.05)


def test_dispatch_task_runs_a_committed_outbox_message_once(
    celery_app: Celery, db_engine: Engine, kind: str, handled: list[str]
) -> None:
    key = uuid.uuid4().hex
    with db_engine.begin() as conn:
        assert enqueue(conn, kind, key, {"amount": 1500})

    celery_app.send_task(DISPATCH_TASK)
    _wait_done(db_engine, kind, key)
    celery_app.send_task(DISPATCH_TASK)
    celery_app.send_task(PERIODIC_TASK)
    later = uuid.uuid4().hex
    with db_engine.begin() as conn:
        assert enqueue(conn, kind, later, {"amount": 1})
    celery_app.send_task(DISPATCH_TASK)
    _wait_done(db_engine, kind, later)  # the solo worker ran the tasks above in order first

    assert handled == [key, later]
    assert _status(db_engine, kind, key) == "done"


def test_the_broker_must_be_redis() -> None:
    from settlement.config import ConfigurationError

    with pytest.raises(ConfigurationError):
        make_celery("amqp://guest@localhost//", LazyContainer(lambda: pytest.fail("built")))
