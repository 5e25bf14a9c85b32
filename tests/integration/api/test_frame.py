"""The HTTP frame: probes, request ids, and problem+json for every kind of error."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from api.app import create_app
from api.problems import Problem
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def app(database_url: str, db_engine: Engine) -> Iterator[FastAPI]:
    container = build_container(Settings(), database_url)
    application = create_app(container)

    @application.get("/test/problem")
    def refuse() -> None:
        raise Problem(409, "test_conflict", "A test conflict", detail="exactly this", hint="x")

    @application.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    @application.get("/test/typed/{number}")
    def typed(number: int) -> dict[str, int]:
        return {"number": number}

    yield application
    container.engine.dispose()


@pytest.fixture
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with inprocess_client(app, "http://service.test", raise_app_exceptions=False) as client:
        yield client


def test_liveness_and_readiness(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_readiness_fails_when_the_database_is_unreachable(database_url: str) -> None:
    container = build_container(Settings(), "postgresql://nobody@127.0.0.1:1/none")
    with inprocess_client(create_app(container), "http://service.test") as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


def test_every_response_carries_a_request_id(http: httpx.Client) -> None:
    generated = http.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    echoed = http.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
    assert echoed == "abc-123"
    unsafe = http.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/test/problem", 409, "test_conflict"),
        ("/no/such/route", 404, "not_found"),
        ("/test/typed/not-a-number", 422, "invalid_request"),
        ("/test/crash", 500, "internal_error"),
    ],
)
def test_errors_are_problem_json_with_a_stable_code(
    http: httpx.Client, path: str, status: int, code: str
) -> None:
    response = http.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"], body["instance"]) == (status, code, path)
    assert body["type"].endswith("/" + code)


def test_problem_extension_members_are_kept(http: httpx.Client) -> None:
    body = http.get("/test/problem").json()
    assert (body["detail"], body["hint"]) == ("exactly this", "x")
