"""The outbox's parked messages: listed for a person, sent round again all or none."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from settlement.cli import app
from settlement.outbox import (
    Dispatcher,
    NotParked,
    OutboxMessage,
    RetryPolicy,
    enqueue,
    parked,
    requeue,
)

pytestmark = pytest.mark.integration
runner = CliRunner()


class Flaky:
    """A handler that fails until it is mended, and counts what it sent."""

    def __init__(self) -> None:
        self.mended = False
        self.sent: list[str] = []

    def __call__(self, conn: Connection, message: OutboxMessage) -> None:
        if not self.mended:
            raise ConnectionError("payout bank unreachable")
        self.sent.append(message.key)


def status_of(engine: Engine, message_id: int) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, attempts FROM outbox WHERE id = :id"), {"id": message_id}
        ).one()
    return row[0], row[1]


def id_of(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        found: int = conn.execute(
            text("SELECT id FROM outbox WHERE key = :key"), {"key": key}
        ).scalar_one()
    return found


def test_a_parked_message_is_listed_requeued_and_then_sent_once(module_engine: Engine) -> None:
    handler = Flaky()
    dispatcher = Dispatcher(
        module_engine, {"test.payout": handler}, RetryPolicy(attempts_max=2, backoff_base_s=0)
    )
    with module_engine.begin() as conn:
        enqueue(conn, "test.payout", "payout-1", {"amount": 100})
        enqueue(conn, "test.unknown", "orphan-1", {})
    dispatcher.dispatch_due()
    payout, orphan = id_of(module_engine, "payout-1"), id_of(module_engine, "orphan-1")
    assert status_of(module_engine, payout) == ("parked", 2)
    assert status_of(module_engine, orphan) == ("parked", 1)
    with module_engine.connect() as conn:
        listed = {m.key: m for m in parked(conn)}
    assert set(listed) == {"payout-1", "orphan-1"}
    assert "payout bank unreachable" in (listed["payout-1"].last_error or "")
    assert "no handler" in (listed["orphan-1"].last_error or "")

    handler.mended = True
    with module_engine.begin() as conn:
        assert requeue(conn, [payout, payout], by="officer-a") == [payout]
    assert status_of(module_engine, payout) == ("pending", 0)
    dispatcher.dispatch_due()
    assert status_of(module_engine, payout) == ("done", 1)
    assert handler.sent == ["payout-1"]
    assert status_of(module_engine, orphan) == ("parked", 1)


def test_requeue_is_all_or_none(module_engine: Engine) -> None:
    with module_engine.begin() as conn:
        enqueue(conn, "test.unknown", "orphan-2", {})
        enqueue(conn, "test.unknown", "waiting-2", {})
    orphan, waiting = id_of(module_engine, "orphan-2"), id_of(module_engine, "waiting-2")
    with module_engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'parked' WHERE id = :id"), {"id": orphan})
    with pytest.raises(NotParked) as refused, module_engine.begin() as conn:
        requeue(conn, [orphan, waiting, 10**9], by="officer-a")
    assert refused.value.ids == [waiting, 10**9]
    assert status_of(module_engine, orphan)[0] == "parked"


def test_the_cli_lists_and_requeues_and_refuses_what_is_not_parked(
    module_engine: Engine,
) -> None:
    with module_engine.begin() as conn:
        enqueue(conn, "test.unknown", "orphan-3", {"n": 3})
        conn.execute(text("UPDATE outbox SET status = 'parked' WHERE key = 'orphan-3'"))
    orphan = id_of(module_engine, "orphan-3")
    env = {"MSC_DATABASE_URL": module_engine.url.render_as_string(hide_password=False)}

    listed = runner.invoke(app, ["outbox", "parked", "--output", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert orphan in [message["id"] for message in json.loads(listed.stdout)]

    refused = runner.invoke(app, ["outbox", "requeue", str(orphan), "999999", "--by", "x"], env=env)
    assert refused.exit_code == 1
    assert "not parked: 999999" in refused.output
    assert status_of(module_engine, orphan)[0] == "parked"

    done = runner.invoke(
        app, ["outbox", "requeue", str(orphan), "--by", "officer-b", "-o", "json"], env=env
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"requeued": [orphan], "by": "officer-b"}
    assert status_of(module_engine, orphan)[0] == "pending"
