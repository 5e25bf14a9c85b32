"""Rate limits per API key, per Pioneer and per client IP (decision 0038) on PostgreSQL: 429
``rate_limited`` with ``Retry-After`` once the allowance is spent, in-process in the embedded
default and shared through Redis by two app instances (two API processes); a refused request
claims no Idempotency-Key and changes nothing; Redis down, requests are admitted (fail open)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from settlement.config import Settings
from tests.support.api import client, headers, operator, service
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
WINDOW_S = 3600.0


def _settings(**changes: object) -> Settings:
    """Settings limiting keys to 3 requests an hour, in their own Redis key space."""
    deployment = f"limits-{uuid.uuid4().hex[:12]}"
    return Settings(key_requests_max=3, key_window_s=WINDOW_S, deployment_id=deployment, **changes)  # type: ignore[arg-type]


def _effects(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("transfers", "outbox", "merchants", "idempotency_keys")
        )


def _limited(reply: httpx.Response) -> None:
    assert reply.status_code == 429, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "rate_limited"
    assert 1 <= int(reply.headers["retry-after"]) <= WINDOW_S


@contextmanager
def _apps(database_url: str, settings: Settings, count: int) -> Iterator[list[httpx.Client]]:
    """``count`` app instances on one database and one configuration (one per API process)."""
    with ExitStack() as stack:
        apps: list[FastAPI] = [
            stack.enter_context(service(database_url, settings)) for _ in range(count)
        ]
        yield [stack.enter_context(client(app)) for app in apps]


def _onboard(http: httpx.Client, authorization: str, key: str | None = None) -> httpx.Response:
    return http.post("/v1/merchants", json=merchant_body(), headers=headers(authorization, key))


def test_a_key_over_its_allowance_gets_429_and_nothing_runs_in_process(
    database_url: str, db_engine: Engine
) -> None:
    settings = _settings()
    with service(database_url, settings) as app, client(app) as http:
        treasury = operator(app)
        assert [_onboard(http, treasury).status_code for _ in range(3)] == [201, 201, 201]
        before = _effects(db_engine)
        idempotency_key = str(uuid.uuid4())
        _limited(_onboard(http, treasury, idempotency_key))
        assert _effects(db_engine) == before  # no merchant, no stored key, nothing posted
        assert http.get("/healthz").status_code == 200  # outside /v1: never limited
    with service(database_url, settings) as fresh, client(fresh) as http:
        retried = _onboard(http, operator(fresh), idempotency_key)
        assert retried.status_code == 201, retried.text  # ran now: the refusal kept no answer
        assert "idempotent-replayed" not in retried.headers


def test_two_app_instances_share_one_allowance_through_redis(
    database_url: str, db_engine: Engine
) -> None:
    with _apps(database_url, _settings(redis_url=REDIS_URL), 2) as (first, second):
        treasury = "Bearer " + Settings().operator_token.get_secret_value()
        codes = [_onboard(http, treasury).status_code for http in (first, second, first)]
        assert codes == [201, 201, 201]
        before = _effects(db_engine)
        _limited(_onboard(second, treasury))
        _limited(_onboard(first, treasury))
        assert _effects(db_engine) == before


def test_redis_down_admits_every_request(database_url: str) -> None:
    with _apps(database_url, _settings(redis_url=UNREACHABLE_REDIS_URL), 1) as (http,):
        treasury = "Bearer " + Settings().operator_token.get_secret_value()
        assert {_onboard(http, treasury).status_code for _ in range(5)} == {201}


def test_a_pioneer_and_an_ip_have_their_own_allowances(database_url: str) -> None:
    settings = _settings(pioneer_requests_max=2, pioneer_window_s=WINDOW_S, ip_requests_max=5)
    with service(database_url, settings) as app, client(app) as http:
        tokens = []
        for name in ("ani", "budi", "citra"):
            made = http.post(
                "/pi-sandbox/sandbox/pioneers", json={"username": name, "balance": "1"}
            )
            assert made.status_code in {200, 201}, made.text
            tokens.append({"Authorization": f"Bearer {made.json()['access_token']}"})
        ani, budi, citra = tokens
        assert [http.get("/v1/me/balances", headers=ani).status_code for _ in range(2)] == [
            200,
            200,
        ]
        _limited(http.get("/v1/me/balances", headers=ani))  # Ani's allowance (ip: 3 of 5)
        assert http.get("/v1/me/balances", headers=budi).status_code == 200  # ip: 4 of 5
        assert http.get("/v1/me/balances", headers=budi).status_code == 200  # ip: 5 of 5
        _limited(http.get("/v1/me/balances", headers=citra))  # the IP's allowance is spent
        assert _onboard(http, operator(app)).status_code == 201  # a key counts apart


def test_an_api_key_on_a_pioneer_route_spends_the_keys_allowance(database_url: str) -> None:
    """The treasury reads a Pioneer's quote with its key: the key is counted, and never sent to
    Pi as if it were a Pi access token."""
    with service(database_url, _settings()) as app, client(app) as http:
        staff = {"Authorization": operator(app)}
        path = f"/v1/quotes/{uuid.uuid4()}"
        assert [http.get(path, headers=staff).status_code for _ in range(3)] == [404] * 3
        _limited(http.get(path, headers=staff))
