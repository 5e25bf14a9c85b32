"""The HTTP app on a worker's database for API tests, and the headers its callers send."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings
from tests.support.merchants import merchant_body


@contextmanager
def service(database_url: str, settings: Settings | None = None) -> Iterator[FastAPI]:
    """The app wired to ``database_url`` (its engine disposed afterwards)."""
    container = build_container(settings or Settings(), database_url)
    try:
        yield create_app(container)
    finally:
        container.engine.dispose()


def client(app: FastAPI) -> httpx.Client:
    """A client calling ``app`` in-process; a crash reaches it as the app's 500."""
    return inprocess_client(app, "http://service.test", raise_app_exceptions=False)


def operator(app: FastAPI) -> str:
    """The operator token's ``Authorization`` value (the treasury principal ``operator``)."""
    return "Bearer " + app.state.services.settings.operator_token.get_secret_value()


def headers(authorization: str | None, key: str | None = None) -> dict[str, str]:
    """``Authorization`` (when given) and an ``Idempotency-Key`` (a fresh one unless given)."""
    found = {"Idempotency-Key": key or str(uuid.uuid4())}
    if authorization is not None:
        found["Authorization"] = authorization
    return found


def bearer(token: str) -> str:
    """The ``Authorization`` value of an API key."""
    return f"Bearer {token}"


def onboarded_merchant_key(app: FastAPI, http: httpx.Client) -> str:
    """Onboard a fresh merchant through the treasury's routes and issue it a key: the key's
    ``Authorization`` value."""
    treasury = operator(app)
    body = merchant_body()
    onboarded = http.post("/v1/merchants", json=body, headers=headers(treasury))
    assert onboarded.status_code == 201, onboarded.text
    issued = http.post(
        f"/v1/merchants/{body['id']}/keys", json={"label": "till"}, headers=headers(treasury)
    )
    assert issued.status_code == 201, issued.text
    return bearer(issued.json()["token"])
