"""The production worker: Celery over Redis runs the outbox dispatcher and the periodic jobs.

Both tasks are idempotent by construction: the dispatcher claims each due message with
``FOR UPDATE SKIP LOCKED`` and marks it in the same transaction, and every periodic job is a
bounded, replayable sweep. So tasks are acknowledged late (after they ran): a worker lost mid-task
means the task runs again, never that it is lost. Beat only says "look now"; the database says what
is due.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery

from settlement.bootstrap import Container, build_container
from settlement.config import ConfigurationError, Settings
from settlement.db import require_migrated
from settlement.schedule import periodic_interval_s, run_periodic

DISPATCH_TASK = "outbox.dispatch"
PERIODIC_TASK = "periodic.run"
QUEUE_DEFAULT = "msc"

dispatch_interval_s = 2.0
messages_per_task_max = 200
"""Outbox messages one dispatch task runs; the next beat picks up the rest."""
task_time_limit_s = 300
"""A task still running after this is killed (and, acked late, redelivered)."""


def make_celery(
    redis_url: str, container: Callable[[], Container], queue: str = QUEUE_DEFAULT
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
        task_time_limit=task_time_limit_s,
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule={
            "outbox-dispatch": {"task": DISPATCH_TASK, "schedule": dispatch_interval_s},
            "periodic-run": {"task": PERIODIC_TASK, "schedule": periodic_interval_s},
        },
    )

    @app.task(name=DISPATCH_TASK)  # type: ignore[untyped-decorator]  # celery is untyped
    def dispatch() -> int:
        """Run due outbox messages (at most ``messages_per_task_max``)."""
        return container().dispatcher.dispatch_due(messages_per_task_max)

    @app.task(name=PERIODIC_TASK)  # type: ignore[untyped-decorator]  # celery is untyped
    def periodic() -> dict[str, str]:
        """Run every periodic job once."""
        return run_periodic(container())

    return app


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
