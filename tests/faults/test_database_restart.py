"""PostgreSQL lost and back again under a stream of checkouts: while it is gone every request is
a retryable 503 (never a 500, never half-written); once it is back, each client retry with its
Idempotency-Key lands once, and the books check out.

The service reaches its own database through a fault proxy that drops every connection and
refuses new ones for a second, which is what a server restart looks like from the service (the
test server itself is shared and is not restarted); the service runs in uvicorn on loopback.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, make_url, text

from api.app import create_app
from escrow.clock import SystemClock
from settlement.bootstrap import build_container
from settlement.check.model import Outcome
from settlement.check.runner import CheckPolicy, database_checks
from settlement.config import Settings
from tests.database import drop_database, fresh_database, worker_database_name
from tests.support.api import bearer, headers
from tests.support.fault_proxy import FaultProxy
from tests.support.merchants import merchant_body

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
checkouts_count = 30
stop_after = 10
attempts_max = 200
retry_pause_s = 0.05
startup_timeout_s = 10.0
BODY = {
    "price": {"amount": "15000.00", "asset": "IDR"},
    "tenders": [{"tender": "QRIS", "share_bp": 10_000}],
}


@dataclass
class Stream:
    """What the client saw: every status, and the checkouts it was given."""

    statuses: Counter[int] = field(default_factory=Counter)
    created: dict[str, str] = field(default_factory=dict)
    unavailable: list[httpx.Response] = field(default_factory=list)


@dataclass
class Live:
    base: str
    engine: Engine
    proxy: FaultProxy


@pytest.fixture(scope="module")
def live(database_server_url: str, worker_id: str) -> Iterator[Live]:
    name = worker_database_name(worker_id) + "_restart"
    direct = fresh_database(database_server_url, name)
    url = make_url(direct)
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    with proxy.running():
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        container = build_container(Settings(), proxied)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(container), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + startup_timeout_s
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield Live(f"http://127.0.0.1:{sock.getsockname()[1]}", container.engine, proxy)
        server.should_exit = True
        thread.join(timeout=10)
        container.engine.dispose()
    drop_database(database_server_url, name)


def _merchant_key(http: httpx.Client) -> str:
    operator = "Bearer " + Settings().operator_token.get_secret_value()
    body = merchant_body()
    assert http.post("/v1/merchants", json=body, headers=headers(operator)).status_code == 201
    issued = http.post(
        f"/v1/merchants/{body['id']}/keys", json={"label": "till"}, headers=headers(operator)
    )
    return bearer(issued.json()["token"])


def _create_until_answered(http: httpx.Client, key: str, n: int, seen: Stream) -> None:
    """Send checkout ``n`` as a careful client does: the same key again until it is answered."""
    idempotency = str(uuid.uuid4())
    for _ in range(attempts_max):
        reply = http.post(
            "/v1/checkouts",
            json=BODY | {"merchant_reference": f"stream-{n}"},
            headers=headers(key, idempotency),
        )
        seen.statuses[reply.status_code] += 1
        if reply.status_code == 201:
            seen.created[idempotency] = reply.json()["id"]
            return
        seen.unavailable.append(reply)
        time.sleep(retry_pause_s)
    pytest.fail(f"checkout {n} was never answered")


def test_a_database_restart_mid_stream_loses_nothing_and_doubles_nothing(live: Live) -> None:
    seen = Stream()
    with httpx.Client(base_url=live.base, timeout=30) as http:
        key = _merchant_key(http)
        for n in range(stop_after):
            _create_until_answered(http, key, n, seen)
        live.proxy.cut()
        down = http.post("/v1/checkouts", json=BODY, headers=headers(key))
        restarter = threading.Timer(1.0, live.proxy.restore)
        restarter.start()
        for n in range(stop_after, checkouts_count):
            _create_until_answered(http, key, n, seen)
        restarter.join()

    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["code"] == "database_unavailable"
    assert down.headers["retry-after"] == "1"
    assert set(seen.statuses) <= {201, 503}, seen.statuses
    assert {r.json()["code"] for r in seen.unavailable} <= {"database_unavailable"}
    assert len(seen.created) == checkouts_count
    with live.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT merchant_reference, count(*) FROM checkouts GROUP BY merchant_reference")
        ).all()
        assert sorted(stored) == sorted((f"stream-{n}", 1) for n in range(checkouts_count))
        policy = CheckPolicy(outbox_lag_max_s=300, pseudonym_key=b"unused: no month published")
        results = {name: check(conn) for name, check in database_checks(SystemClock(), policy)}
    assert {r.outcome for r in results.values()} == {Outcome.HELD}, results
