"""The production worker path on the real stack: ``msc serve`` without its in-process worker
(``MSC_REDIS_URL`` set), ``msc worker`` and ``msc beat`` as processes of their own, over a
redis-server of the test's own (tests/support/fault_stack.py's ``PrivateRedis``)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.fault_production import Production
from tests.support.fault_stack import (
    PrivateRedis,
    Serve,
    Stack,
    serving_stack,
    stop,
    stop_timeout_s,
)


@dataclass
class Spawned:
    """Another ``msc`` command of the stack (``worker``, ``beat``): SIGKILL, start again."""

    serve: Serve
    argv: tuple[str, ...]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = self.serve.spawn(*self.argv)

    def kill(self) -> None:
        """SIGKILL to its process group: the worker and its pool's children."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(stop_timeout_s)


@dataclass(frozen=True)
class CeleryStack:
    """The stack, its Redis, and the worker and beat processes."""

    stack: Stack
    redis: PrivateRedis
    worker: Spawned
    beat: Spawned


@contextmanager
def celery_stack(
    server_url: str, name: str, log_dir: Path, production: Production | None = None
) -> Iterator[CeleryStack]:
    """``serving_stack`` (in ``production`` when given) on a Redis of its own, with
    ``msc worker`` and ``msc beat`` running."""
    redis = PrivateRedis()
    redis.start()
    try:
        env = {"MSC_REDIS_URL": redis.url}
        with serving_stack(server_url, name, log_dir, env, production) as stack:
            worker = Spawned(stack.serve, ("worker", "--concurrency", "1"))
            beat = Spawned(stack.serve, ("beat",))
            worker.start()
            beat.start()
            try:
                yield CeleryStack(stack, redis, worker, beat)
            finally:
                stop(*(p.process for p in (worker, beat) if p.process is not None))
    finally:
        redis.stop()
