"""A story: ordered named steps, each printing one line, the first failure ending it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

World = TypeVar("World")


class StepFailed(Exception):
    """A step of the story did not do what it says; the story stops there."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Step(Generic[World]):
    """One thing that happens, by name; ``act`` returns the line that says what it did."""

    name: str
    act: Callable[[World], str]


class Story(Generic[World]):
    """Steps played in order on one world; each prints ``name: line``.

    A step that raises is printed as ``FAILED name: what`` and ends the story with
    ``StepFailed`` (the caller exits non-zero); the steps after it are not played.
    """

    def __init__(self, steps: Sequence[Step[World]]) -> None:
        names = [step.name for step in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names repeat: {names}")
        self.steps = tuple(steps)

    def play(self, world: World, echo: Callable[[str], None]) -> None:
        """Play every step on ``world``, printing a line for each."""
        width = max((len(step.name) for step in self.steps), default=0)
        for step in self.steps:
            try:
                line = step.act(world)
            except Exception as error:
                reason = str(error) or type(error).__name__
                echo(f"FAILED {step.name}: {reason}")
                raise StepFailed(step.name, reason) from error
            echo(f"{step.name:<{width}}  {line}")
