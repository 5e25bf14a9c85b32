"""CLI: ``msc worker`` and ``msc beat``, the production worker processes (Celery over Redis)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from settlement.config import ConfigurationError, Settings
from settlement.logging import configure_logging

if TYPE_CHECKING:
    from celery import Celery

broker_probe_timeout_s = 3.0


def celery_app(settings: Settings) -> Celery:
    """The Celery app on ``MSC_REDIS_URL`` (refused at once when Redis does not answer)."""
    from settlement.worker import LazyContainer, make_celery, worker_container

    if not settings.redis_url:
        raise ConfigurationError("the Celery worker and beat need MSC_REDIS_URL")
    _require_broker(settings.redis_url)
    return make_celery(settings.redis_url, LazyContainer(lambda: worker_container(settings)))


def _require_broker(url: str) -> None:
    """Fail at once (redis ConnectionError) when Redis does not answer, rather than let Celery
    retry the broker in silence."""
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=broker_probe_timeout_s, socket_timeout=broker_probe_timeout_s
    )
    try:
        client.ping()
    finally:
        client.close()


def worker(
    concurrency: int = typer.Option(2, min=1, max=64, help="Worker processes."),
) -> None:
    """Run the Celery worker: outbox dispatch and the periodic jobs (MSC_REDIS_URL broker)."""
    settings = Settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    argv = ["worker", f"--loglevel={settings.log_level}", f"--concurrency={concurrency}"]
    celery_app(settings).worker_main(argv)


def beat() -> None:
    """Run Celery beat on the schedule of settlement/beat.py (outbox, periodic jobs, payout
    cut-off, month close)."""
    settings = Settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    schedule = settings.data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    argv = ["beat", f"--loglevel={settings.log_level}", f"--schedule={schedule}"]
    celery_app(settings).start(argv)
