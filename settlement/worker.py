"""The production worker: Celery over Redis runs the outbox dispatcher, the periodic jobs, the
payout cut-off and the month close, on beat's schedule (settlement/beat.py).

Every task is idempotent by construction: the dispatcher claims each due message with
``FOR UPDATE SKIP LOCKED`` and marks it in the same transaction, and every periodic job is a
bounded, replayable sweep. So tasks are acknowledged late (after they ran): a worker lost mid-task
means the task runs again, never that it is lost. Beat only says "look now"; the database says what
is due.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from escrow.errors import LedgerConflict
from escrow.periods import period, period_of
from settlement.audit.store import closed_transfer_count
from settlement.beat import (
    DISPATCH_TASK,
    MONTH_CLOSE_TASK,
    PAYOUT_CUT_TASK,
    PERIODIC_TASK,
    TIMEZONE,
    beat_schedule,
)
from settlement.bootstrap import Container, build_container
from settlement.config import ConfigurationError, Settings
from settlement.db import require_migrated
from settlement.governance import treasury
from settlement.governance.errors import GovernanceRefused
from settlement.payouts import service as payouts
from settlement.payouts.errors import PayoutRefused
from settlement.schedule import run_periodic
from settlement.unit_of_work import UnitOfWork, run

QUEUE_DEFAULT = "msc"
BEAT_ACTOR = "beat"
"""Who the scheduled payout cut and month close are recorded as done by."""

messages_per_task_max = 200
"""Outbox messages one dispatch task runs; the next beat picks up the rest."""
task_soft_time_limit_s = 240
"""A task still running after this gets ``SoftTimeLimitExceeded`` raised in it (it rolls back)."""
task_time_limit_s = 300
"""A task still running after this is killed (and, acked late, redelivered)."""
RETRYABLE = (OperationalError, LedgerConflict, RedisConnectionError)
"""Failures that pass (the database or broker restarting, a writer racing): retried with
backoff. Anything else fails the task, is logged, and waits for the next beat."""
retries_max = 5
retry_backoff_max_s = 300
TASK_POLICY: dict[str, Any] = {
    "shared": False,  # this app's tasks only: another app in the process (a test) has its own
    "autoretry_for": RETRYABLE,
    "retry_backoff": True,
    "retry_backoff_max": retry_backoff_max_s,
    "retry_jitter": True,
    "max_retries": retries_max,
    "soft_time_limit": task_soft_time_limit_s,
    "time_limit": task_time_limit_s,
}


def make_celery(
    redis_url: str,
    container: Callable[[], Container],
    queue: str = QUEUE_DEFAULT,
    settings: Settings | None = None,
) -> Celery:
    """A Celery app on ``redis_url`` whose tasks run against ``container()`` (built lazily)."""
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(f"the broker must be Redis, got {redis_url.partition(':')[0]!r}")
    app = Celery("msc", broker=redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_soft_time_limit=task_soft_time_limit_s,
        task_time_limit=task_time_limit_s,
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone=TIMEZONE,
        beat_schedule=beat_schedule(settings or Settings()),
    )

    @app.task(name=DISPATCH_TASK, **TASK_POLICY)  # type: ignore[untyped-decorator]  # celery is untyped
    def dispatch() -> int:
        """Run due outbox messages (at most ``messages_per_task_max``)."""
        return container().dispatcher.dispatch_due(messages_per_task_max)

    @app.task(name=PERIODIC_TASK, **TASK_POLICY)  # type: ignore[untyped-decorator]  # celery is untyped
    def periodic() -> dict[str, str]:
        """Run every periodic job once."""
        return run_periodic(container())

    @app.task(name=PAYOUT_CUT_TASK, **TASK_POLICY)  # type: ignore[untyped-decorator]  # celery is untyped
    def payout_cut() -> str:
        """Cut today's payout batch (a refusal such as nothing due is the answer, not a failure)."""
        return cut_payouts(container())

    @app.task(name=MONTH_CLOSE_TASK, **TASK_POLICY)  # type: ignore[untyped-decorator]  # celery is untyped
    def month_close() -> str:
        """Close the month that ended before this one (WIB)."""
        return close_last_month(container())

    return app


def cut_payouts(container: Container) -> str:
    """The scheduled ``msc payout cut``: today's batch, or why there is none."""
    policy = payouts.policy(container.settings)
    try:
        result = run(
            container.engine,
            container.clock,
            lambda uow: payouts.cut(uow, None, policy, BEAT_ACTOR, container.pi),
        )
    except PayoutRefused as refused:
        return f"refused: {refused.code}"
    return "no batch" if result.batch is None else f"batch {result.batch.id}"


def close_last_month(container: Container) -> str:
    """The scheduled month close: it proposes ``period.close`` of the month before the current
    one (WIB) for the officers to sign and execute (decision 0030: one officer, or a timer,
    never closes a month alone). It expires with the current month, so a rerun records the same
    proposal once; a month already closed is left alone."""
    current = period(period_of(container.clock.now_us()))
    name = period_of(current.starts_at_us - 1)
    expires_at_us = current.ends_at_us

    def propose(uow: UnitOfWork) -> str:
        if closed_transfer_count(uow.conn, name) is not None:
            return f"{name} is closed"
        proposal = treasury.propose(
            uow, container.settings.deployment_id, "period.close", {"period": name}, expires_at_us
        )
        return f"proposed closing {name}: {proposal.id()}"

    try:
        return run(container.engine, container.clock, propose)
    except GovernanceRefused as refused:
        return f"refused: {refused.code}"


def worker_container(settings: Settings) -> Container:
    """The container of a Celery worker process: it needs a configured, migrated database.

    The API process owns migrations and the embedded database; a separate worker process
    attaching to either would race it, so the worker refuses to run without MSC_DATABASE_URL.
    """
    if settings.database_url is None:
        raise ConfigurationError("the Celery worker needs MSC_DATABASE_URL (no embedded database)")
    container = build_container(settings, settings.database_url)
    require_migrated(container.engine)
    return container


class LazyContainer:
    """The worker process's container, built at its first task (after the fork, not before)."""

    def __init__(self, build: Callable[[], Container]) -> None:
        self._build = build
        self._container: Container | None = None

    def __call__(self) -> Container:
        """The container, built once."""
        if self._container is None:
            self._container = self._build()
        return self._container
