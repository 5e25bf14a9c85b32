"""The Celery app the e2e test runs as real ``celery worker`` and ``celery beat`` processes: the
production ``make_celery`` and schedule, on the test's database and Redis, with one extra outbox
kind whose handler is a slow side effect.

The handler first records an attempt on a connection of its own (committed at once, so a test
sees the side effect in flight), waits ``E2E_EFFECT_S``, then records the effect in the claim's
transaction: the effect exists iff the message was marked done.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
from sqlalchemy import Connection, text

from settlement.backup import libpq_url
from settlement.bootstrap import Container, assemble_container
from settlement.config import Settings
from settlement.db import make_engine
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.worker import LazyContainer, make_celery

KIND = "test.e2e.effect"
DATABASE_URL = os.environ.get("E2E_DATABASE_URL", "postgresql://postgres@127.0.0.1/none")


def effect(conn: Connection, message: OutboxMessage) -> None:
    """A side effect that takes a while (``E2E_EFFECT_S``)."""
    with psycopg.connect(libpq_url(DATABASE_URL), autocommit=True) as own:
        own.execute(
            "INSERT INTO e2e_attempts (key, pid) VALUES (%s, %s)", (message.key, os.getpid())
        )
    time.sleep(float(os.environ.get("E2E_EFFECT_S", "1")))
    conn.execute(text("INSERT INTO e2e_effects (key) VALUES (:k)"), {"k": message.key})


def build() -> Container:
    settings = Settings(data_dir=Path(os.environ.get("E2E_DATA_DIR", "/tmp")),
                        evm_rpc_url="http://127.0.0.1:9")  # fmt: skip
    engine = make_engine(DATABASE_URL)
    return assemble_container(settings, DATABASE_URL, engine, Dispatcher(engine, {KIND: effect}))


app = make_celery(
    os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/0"),
    LazyContainer(build),
    queue=os.environ.get("E2E_QUEUE", "msc-e2e"),
    settings=Settings(),
)
