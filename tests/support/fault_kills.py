"""Killing a process of the real stack at seeded moments, and starting it again each time.

A ``Killer`` walks a list of moments; each moment blocks until it is time (a seeded pause, an
event the stream sets, an outside effect just carried out), then the process gets SIGKILL and
is started again. The stream does not pause for the kills: requests and side effects in flight
meet them.

A ``Tripwire`` is the sharpest moment: an ASGI wrapper around an outside service (the Pi
sandbox) that, once the first request it is armed for has been carried out, holds its answer
back until the killer has killed the caller. The effect happened; the service never heard.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

moment_timeout_s = 40.0
hold_max_s = 30.0
"""The longest a tripwire holds an answer back (the killer may be restarting the service)."""
poll_s = 0.01


class Restartable(Protocol):
    """A process the killer may SIGKILL and start again."""

    def kill(self) -> None: ...

    def start(self) -> None: ...


class Moment(Protocol):
    """When the next kill comes; told once it has."""

    def wait(self, rng: random.Random) -> None:
        """Block until it is time (raise ``TimeoutError`` if that never comes)."""

    def killed(self) -> None:
        """The process is dead."""


@dataclass(frozen=True)
class After:
    """A seeded pause of ``low_s`` to ``high_s`` seconds (from the previous restart)."""

    low_s: float
    high_s: float

    def wait(self, rng: random.Random) -> None:
        time.sleep(rng.uniform(self.low_s, self.high_s))

    def killed(self) -> None:
        return None


@dataclass(frozen=True)
class Once:
    """When ``event`` is set (the stream reached a step), then a seeded pause."""

    event: threading.Event
    low_s: float
    high_s: float

    def wait(self, rng: random.Random) -> None:
        if not self.event.wait(moment_timeout_s):
            raise TimeoutError("the stream never reached the step the kill waits for")
        time.sleep(rng.uniform(self.low_s, self.high_s))

    def killed(self) -> None:
        return None


@dataclass
class Tripwire:
    """Trips on the first request to ``method`` and a path ending in ``path`` after which
    ``tripped_by()`` holds; that request's answer is held until this moment's kill. ``held``:
    it was still held at the kill, so the process that asked was dead before the answer went
    out (killed by this moment, or by an earlier one while the answer was held). A test sets
    ``path`` and ``tripped_by`` before its stream."""

    method: str
    path: str
    tripped_by: Callable[[], bool] = lambda: False
    tripped: threading.Event = field(default_factory=threading.Event)
    dead: threading.Event = field(default_factory=threading.Event)
    holding: bool = False
    held: bool = False

    def wait(self, rng: random.Random) -> None:
        if not self.tripped.wait(moment_timeout_s):
            raise TimeoutError(f"the tripwire on {self.method} {self.path} never tripped")

    def killed(self) -> None:
        self.held = self.holding
        self.dead.set()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with this tripwire across it."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            watched = (
                scope["type"] == "http"
                and scope["method"] == self.method
                and str(scope["path"]).endswith(self.path)
                and not self.tripped.is_set()
            )
            if not watched:
                await app(scope, receive, send)
                return
            answer: list[Message] = []

            async def keep(message: Message) -> None:
                answer.append(message)

            await app(scope, receive, keep)
            if not self.tripped.is_set() and self.tripped_by():
                self.holding = True
                self.tripped.set()
                deadline = time.monotonic() + hold_max_s
                while not self.dead.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(poll_s)
                self.holding = False
            for message in answer:
                await send(message)

        return guarded


class Killer(threading.Thread):
    """Kills ``target`` at each of ``moments`` (seeded by ``seed``), starting it again after
    each; ``failure`` is what stopped it early, for the test to report."""

    def __init__(self, target: Restartable, seed: int, moments: Sequence[Moment]) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.rng = random.Random(seed)
        self.moments = tuple(moments)
        self.kills = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for moment in self.moments:
                moment.wait(self.rng)
                self.target.kill()
                moment.killed()
                self.kills += 1
                self.target.start()
        except BaseException as failure:  # reported by the test
            self.failure = failure
