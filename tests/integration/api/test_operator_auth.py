"""The operator token: an empty one, presented or configured, never opens the operator routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings

pytestmark = pytest.mark.integration
REPORT = "/v1/qris/exceptions"


@contextmanager
def client(database_url: str, operator_token: str) -> Iterator[httpx.Client]:
    container = build_container(Settings(operator_token=operator_token), database_url)
    with inprocess_client(create_app(container), "http://service.test") as http:
        yield http
    container.engine.dispose()


@pytest.fixture
def empty_token_service(database_url: str, db_engine: Engine) -> Iterator[httpx.Client]:
    with client(database_url, "") as http:
        yield http


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer", "bearer  ", ""])
def test_an_empty_configured_token_admits_nobody(
    empty_token_service: httpx.Client, authorization: str
) -> None:
    """Issue 9 item 7: ``compare_digest(b"", b"")`` admitted ``Authorization: Bearer ``."""
    reply = empty_token_service.get(
        REPORT, params={"date": "2024-12-02"}, headers={"Authorization": authorization}
    )
    assert reply.status_code == 401
    assert reply.json()["code"] == "operator_unauthenticated"


def test_the_configured_token_still_opens(database_url: str, db_engine: Engine) -> None:
    with client(database_url, "t" * 32) as http:
        reply = http.get(
            REPORT, params={"date": "2024-12-02"}, headers={"Authorization": "Bearer " + "t" * 32}
        )
        assert reply.status_code == 200
