"""The transactional outbox: network side effects are written with the ledger change, sent later.

``enqueue`` runs inside the caller's transaction, so a side effect exists exactly when the change
that caused it committed. The ``Dispatcher`` claims one due message at a time with
``FOR UPDATE SKIP LOCKED`` (several dispatchers never take the same one), runs its handler, and
marks it done in the same transaction; a failure schedules a retry with capped exponential
backoff, and after ``attempts_max`` tries the message is parked for a person. Handlers must be
idempotent: a crash after the network call and before the commit runs the handler again.
An operator lists parked messages with ``parked`` and, once the cause is mended, sends them
round again with ``requeue`` (``msc outbox parked|requeue``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

import settlement.unit_of_work as units  # a module import: unit_of_work imports this module too
from escrow.sql import sql
from settlement.logging import Redactor

log = structlog.get_logger(__name__)
error_text_max = 2000
poll_interval_s = 1


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One side effect to perform: ``kind`` picks the handler, ``key`` makes it unique."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int


Handler = Callable[[Connection, OutboxMessage], None]
"""Performs a message's side effect; may write to the database on the given connection (same
transaction as marking it done). Raise to retry later, ``PermanentFailure`` to park at once."""


class PermanentFailure(Exception):
    """The side effect can never succeed; park the message for a person."""


def enqueue(conn: Connection, kind: str, key: str, payload: dict[str, Any]) -> bool:
    """Record a side effect in the caller's transaction; False when (kind, key) already was."""
    inserted = conn.execute(
        sql(
            "INSERT INTO outbox (kind, key, payload) VALUES (:kind, :key, CAST(:payload AS jsonb))"
            " ON CONFLICT (kind, key) DO NOTHING RETURNING id"
        ),
        {"kind": kind, "key": key, "payload": json.dumps(payload, sort_keys=True)},
    ).first()
    return inserted is not None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff and a limit on attempts."""

    attempts_max: int = 12
    backoff_base_s: int = 1
    backoff_cap_s: int = 600

    def delay_s(self, attempts: int) -> int:
        """Seconds to wait after the ``attempts``-th failure."""
        return int(min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(attempts, 30)))


class Dispatcher:
    """Runs due outbox messages through their handlers, one transaction per message."""

    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        policy: RetryPolicy | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self._policy = policy or RetryPolicy()
        self._redact = redact or Redactor()
        """Applied to each stored error (operators read them with ``msc outbox parked``)."""

    def register(self, kind: str, handler: Handler) -> None:
        """Add the handler of one kind of message."""
        self._handlers[kind] = handler

    def dispatch_once(self) -> bool:
        """Claim and run one due message; False when none is due."""
        with units.transaction(self._engine) as conn:
            row = conn.execute(
                sql(
                    "SELECT id, kind, key, payload, attempts FROM outbox"
                    " WHERE status = 'pending' AND next_attempt_at <= now()"
                    " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                )
            ).first()
            if row is None:
                return False
            message = OutboxMessage(row.id, row.kind, row.key, row.payload, row.attempts)
            self._run(conn, message)
            return True

    def dispatch_due(self, messages_max: int = 1000) -> int:
        """Run due messages until none is left or ``messages_max`` ran; how many ran."""
        count = 0
        while count < messages_max and self.dispatch_once():
            count += 1
        return count

    def _run(self, conn: Connection, message: OutboxMessage) -> None:
        bound = log.bind(outbox_id=message.id, kind=message.kind, key=message.key)
        handler = self._handlers.get(message.kind)
        try:
            if handler is None:
                raise PermanentFailure(f"no handler for outbox kind {message.kind!r}")
            with conn.begin_nested():
                handler(conn, message)
        except PermanentFailure as failure:
            bound.error("outbox_parked", error=str(failure))
            self._mark(conn, message, "parked", str(failure))
            return
        except Exception as failure:
            attempts = message.attempts + 1
            status = "parked" if attempts >= self._policy.attempts_max else "pending"
            bound.warning("outbox_retry", error=repr(failure), attempts=attempts, status=status)
            self._mark(conn, message, status, repr(failure))
            return
        conn.execute(
            sql(
                "UPDATE outbox SET status = 'done', done_at = now(), attempts = attempts + 1"
                " WHERE id = :id"
            ),
            {"id": message.id},
        )
        bound.info("outbox_done")

    def _mark(self, conn: Connection, message: OutboxMessage, status: str, error: str) -> None:
        delay = timedelta(seconds=self._policy.delay_s(message.attempts))
        conn.execute(
            sql(
                "UPDATE outbox SET status = :status, attempts = attempts + 1, last_error = :error,"
                " next_attempt_at = now() + :delay WHERE id = :id"
            ),
            {
                "status": status,
                "error": self._redact(error)[:error_text_max],
                "delay": delay,
                "id": message.id,
            },
        )


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """A message that gave up, with what it last failed on."""

    id: int
    kind: str
    key: str
    attempts: int
    last_error: str | None
    created_at: datetime


def parked(conn: Connection, limit: int = 100) -> list[ParkedMessage]:
    """The oldest parked messages first."""
    rows = conn.execute(
        sql(
            "SELECT id, kind, key, attempts, last_error, created_at FROM outbox"
            " WHERE status = 'parked' ORDER BY id LIMIT :limit"
        ),
        {"limit": limit},
    ).all()
    return [
        ParkedMessage(row.id, row.kind, row.key, row.attempts, row.last_error, row.created_at)
        for row in rows
    ]


class NotParked(Exception):
    """Some of the ids asked for do not name a parked message."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(f"not parked: {', '.join(map(str, ids))}")
        self.ids = ids


def requeue(conn: Connection, ids: list[int], by: str) -> list[int]:
    """Make these parked messages due now with a fresh count of attempts: all of them or none.

    Raises ``NotParked`` (and changes nothing) when an id is done, still pending or unknown.
    The last error stays on the message until the next attempt replaces it.
    """
    wanted = sorted(set(ids))
    found = {
        row.id
        for row in conn.execute(
            sql("SELECT id FROM outbox WHERE id = ANY(:ids) AND status = 'parked' FOR UPDATE"),
            {"ids": wanted},
        )
    }
    missing = [message_id for message_id in wanted if message_id not in found]
    if missing:
        raise NotParked(missing)
    conn.execute(
        sql(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = now()"
            " WHERE id = ANY(:ids)"
        ),
        {"ids": wanted},
    )
    log.info("outbox_requeued", ids=wanted, by=by)
    return wanted


def outbox_lag_s(conn: Connection) -> int:
    """Age in seconds of the oldest message still waiting (0 when none): the lag metric."""
    oldest: datetime | None = conn.execute(
        sql("SELECT min(created_at) FROM outbox WHERE status = 'pending'")
    ).scalar_one()
    if oldest is None:
        return 0
    now: datetime = conn.execute(sql("SELECT now()")).scalar_one()
    return max(0, int((now - oldest).total_seconds()))


class BackgroundDispatcher:
    """Runs a dispatcher in a thread: the in-process worker of the embedded default."""

    def __init__(self, dispatcher: Dispatcher, tick: Callable[[], None] | None = None) -> None:
        self._dispatcher = dispatcher
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for the message in hand to finish."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatcher.dispatch_due()
                if self._tick is not None:
                    self._tick()
            except Exception:
                log.exception("outbox_loop_error")
            self._stop.wait(poll_interval_s)
