"""What one check found."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """``held``: the invariant holds; ``failed``: it does not; ``skipped``: not asked (a rail
    left out with ``--offline``, or a part of the service this deployment does not run)."""

    HELD = "held"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A check's name, its outcome and one line saying what it compared or what differs."""

    name: str
    outcome: Outcome
    detail: str

    @property
    def failed(self) -> bool:
        """Whether this check makes ``msc check`` exit non-zero."""
        return self.outcome is Outcome.FAILED

    def view(self) -> dict[str, str]:
        """JSON-ready fields."""
        return {"check": self.name, "outcome": str(self.outcome), "detail": self.detail}


def held(name: str, detail: str) -> CheckResult:
    """A check that holds."""
    return CheckResult(name, Outcome.HELD, detail)


def failed(name: str, detail: str) -> CheckResult:
    """A check that does not hold."""
    return CheckResult(name, Outcome.FAILED, detail)


def skipped(name: str, detail: str) -> CheckResult:
    """A check not run."""
    return CheckResult(name, Outcome.SKIPPED, detail)


examples_max = 3
"""How many differing ids a failed check names (the rest are counted)."""


def some(items: list[str]) -> str:
    """The first few of ``items`` and how many more, for a failed check's line."""
    shown = ", ".join(items[:examples_max])
    more = len(items) - examples_max
    return f"{shown} and {more} more" if more > 0 else shown
