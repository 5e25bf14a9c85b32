"""Celery beat's schedule as data: every entry, when it runs and what it does (decision 0034).

``make_celery`` turns ``entries(settings)`` into ``beat_schedule``; the README's operator page
lists the same entries. Beat only says "look now": every task is a bounded, idempotent sweep of
what the database says is due, so a beat that fires twice, late, or after a restart changes
nothing but timing. Times of day are WIB (the app's timezone is Asia/Jakarta).
"""

from __future__ import annotations

from dataclasses import dataclass

from celery.schedules import crontab

from escrow.calendar import WIB
from settlement.config import Settings
from settlement.schedule import periodic_interval_s

DISPATCH_TASK = "outbox.dispatch"
PERIODIC_TASK = "periodic.run"
PAYOUT_CUT_TASK = "payout.cut"
MONTH_CLOSE_TASK = "period.close"
TIMEZONE = WIB.key
"""Celery's timezone: crontab entries are read in WIB."""
dispatch_interval_s = 2.0
month_close_at_wib = "01:00"
"""The month that ended is closed this long after midnight WIB on the 1st (late arrivals of the
month's last minutes are in by then; the alert MscMonthNotClosed fires from the 3rd)."""


@dataclass(frozen=True, slots=True)
class BeatEntry:
    """One entry: a task every ``every_s`` seconds, or daily at ``at_wib`` (on ``day_of_month``
    only, when set)."""

    name: str
    task: str
    does: str
    every_s: float | None = None
    at_wib: str | None = None
    day_of_month: int | None = None

    def schedule(self) -> float | crontab:
        """The Celery schedule of this entry."""
        if self.every_s is not None:
            return self.every_s
        if self.at_wib is None:
            raise ValueError(f"beat entry {self.name} has neither every_s nor at_wib")
        hour, minute = self.at_wib.split(":")
        day = "*" if self.day_of_month is None else str(self.day_of_month)
        return crontab(minute=int(minute), hour=int(hour), day_of_month=day)


def entries(settings: Settings) -> tuple[BeatEntry, ...]:
    """The whole schedule (the payout cut-off comes from ``MSC_PAYOUT_CUTOFF_WIB``)."""
    return (
        BeatEntry(
            "outbox-dispatch",
            DISPATCH_TASK,
            "Run due outbox messages: Pi, QRIS and EVM side effects and audit anchoring, each"
            " retried with backoff until done or parked (anchoring retries live here).",
            every_s=dispatch_interval_s,
        ),
        BeatEntry(
            "periodic-run",
            PERIODIC_TASK,
            "Void pending transfers past their timeout, refresh the rate panel, recover Pi"
            " payments, watch the Pi wallet, credit EVM deposits, expire and release checkouts,"
            " store the reserve coverage, keep the worker heartbeat and counters.",
            every_s=periodic_interval_s,
        ),
        BeatEntry(
            "payout-cutoff",
            PAYOUT_CUT_TASK,
            "Cut the day's payout batch once its cut-off passed (nothing due is not an error).",
            at_wib=_minute_after(settings.payout_cutoff_wib),
        ),
        BeatEntry(
            "month-close",
            MONTH_CLOSE_TASK,
            "Close the month that ended (idempotent; `msc period close` does the same by hand).",
            at_wib=month_close_at_wib,
            day_of_month=1,
        ),
    )


def _minute_after(at_wib: str) -> str:
    """One minute past ``HH:MM`` (the cut refuses to run before its cut-off, inclusive)."""
    hour, minute = (int(part) for part in at_wib.split(":"))
    total = (hour * 60 + minute + 1) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def beat_schedule(settings: Settings) -> dict[str, dict[str, object]]:
    """Celery's ``beat_schedule`` of ``entries``."""
    return {entry.name: {"task": entry.task, "schedule": entry.schedule()} for entry in
            entries(settings)}  # fmt: skip
