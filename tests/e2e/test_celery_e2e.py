"""Celery for real (issue 16): a ``celery worker`` (prefork) and ``celery beat`` as processes,
against Redis and PostgreSQL. The worker is killed (SIGKILL, the whole process group) while side
effects are in flight, then started again: every side effect completes exactly once, and at
least one was interrupted and redone (the kill landed mid-flight)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, text

from settlement.outbox import enqueue
from tests.support.celery_e2e import KIND

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
messages_n = 6
wait_s = 90.0
stop_timeout_s = 15.0


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("MSC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis at {url} is not reachable (scripts/test starts it): {error}")
    return url


@pytest.fixture
def env(
    module_database_url: str, module_engine: Engine, redis_url: str, tmp_path: Path
) -> dict[str, str]:
    with module_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS e2e_attempts (key text, pid int)"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS e2e_effects (key text)"))
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "E2E_DATABASE_URL": module_database_url,
        "E2E_REDIS_URL": redis_url,
        "E2E_QUEUE": f"msc-e2e-{uuid.uuid4().hex}",
        "E2E_DATA_DIR": str(tmp_path),
        "E2E_EFFECT_S": "1.5",
        "PYTHONPATH": str(ROOT),
    }


def celery(env: dict[str, str], *argv: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.support.celery_e2e:app", *argv],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=stop_timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop(process)


def count(engine: Engine, statement: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(statement)).scalar_one())


def wait_for(condition: object, what: str, logs: Path) -> None:
    deadline = time.monotonic() + wait_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {wait_s} s; logs:\n{logs.read_text()[-3000:]}")
        time.sleep(0.1)


def test_a_killed_worker_leaves_each_side_effect_done_exactly_once(
    env: dict[str, str], module_engine: Engine, processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:  # fmt: skip
    keys = [uuid.uuid4().hex for _ in range(messages_n)]
    with module_engine.begin() as conn:
        for key in keys:
            assert enqueue(conn, KIND, key, {})
    logs = tmp_path / "celery.log"
    worker_argv = ("worker", "--pool=prefork", "--concurrency=2", "-Q", env["E2E_QUEUE"],
                   "--loglevel=INFO", "-n", f"e2e-{uuid.uuid4().hex[:8]}@%h")  # fmt: skip
    beat_argv = ("beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}")
    processes.append(celery(env, *beat_argv, log=logs))
    worker = celery(env, *worker_argv, log=logs)
    processes.append(worker)

    wait_for(lambda: count(module_engine, "SELECT count(*) FROM e2e_attempts") > 0,
             "a side effect in flight", logs)  # fmt: skip
    in_flight = count(module_engine, "SELECT count(*) FROM e2e_attempts")
    stop(worker, signal.SIGKILL)
    effects_at_kill = count(module_engine, "SELECT count(*) FROM e2e_effects")
    assert effects_at_kill < in_flight  # the kill interrupted at least one side effect

    processes.append(celery(env, *worker_argv, log=logs))
    done = f"SELECT count(*) FROM outbox WHERE kind = '{KIND}' AND status = 'done'"
    wait_for(lambda: count(module_engine, done) == messages_n, "every message done", logs)

    with module_engine.connect() as conn:
        effects = dict(
            conn.execute(text("SELECT key, count(*) FROM e2e_effects GROUP BY key")).all()
        )
        attempts = dict(
            conn.execute(text("SELECT key, count(*) FROM e2e_attempts GROUP BY key")).all()
        )
    assert effects == dict.fromkeys(keys, 1)
    assert any(attempts[key] >= 2 for key in keys), attempts  # one was redone after the kill
