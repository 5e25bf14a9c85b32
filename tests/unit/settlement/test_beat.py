"""Beat's schedule is data (settlement/beat.py): every entry names a task the Celery app has,
runs on a schedule Celery understands, and is listed on the README's operator page; tasks carry
time limits and retry only the failures named retryable."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab

from settlement.beat import MONTH_CLOSE_TASK, PAYOUT_CUT_TASK, TIMEZONE, entries
from settlement.config import Settings
from settlement.worker import RETRYABLE, LazyContainer, make_celery, task_time_limit_s

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_entry_is_a_registered_task_on_a_valid_schedule() -> None:
    settings = Settings(payout_cutoff_wib="14:00")
    app = make_celery("redis://127.0.0.1:9/0", LazyContainer(lambda: None), settings=settings)  # type: ignore[arg-type, return-value]
    schedule = app.conf.beat_schedule
    assert app.conf.timezone == TIMEZONE
    for entry in entries(settings):
        assert entry.task in app.tasks, entry.name
        assert schedule[entry.name]["task"] == entry.task
        task = app.tasks[entry.task]
        assert task.time_limit == task_time_limit_s
        assert tuple(task.autoretry_for) == RETRYABLE
    cut = schedule["payout-cutoff"]["schedule"]
    assert isinstance(cut, crontab)
    assert (cut.hour, cut.minute) == ({14}, {1})
    close = schedule["month-close"]["schedule"]
    assert isinstance(close, crontab)
    assert close.day_of_month == {1}
    assert {PAYOUT_CUT_TASK, MONTH_CLOSE_TASK} <= set(app.tasks)


def test_the_operator_page_lists_every_entry() -> None:
    readme = README.read_text()
    for entry in entries(Settings()):
        assert f"`{entry.name}`" in readme, entry.name
