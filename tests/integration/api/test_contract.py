"""One HTTP contract for every route (decision 0016), checked over the app's own routes so a
route added later is covered the day it is added:

- a body that is not JSON is 400 ``malformed_json``, one declared as another media type is 415
  ``unsupported_media_type``, JSON the route's schema refuses is 422 ``invalid_request`` (413 is
  tests/e2e/test_body_limits.py); none of them reaches a use case;
- every operation has a typed response model, documents problem+json with examples and names its
  security scheme; FastAPI's ``HTTPValidationError`` (which the API never returns) is nowhere;
- /docs and /redoc load their assets from this service, not from a CDN.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from api.app import create_app
from api.auth import PIONEER_PATHS
from api.openapi import SECURITY_SCHEMES
from api.problems import PROBLEM_MEDIA_TYPE
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings

pytestmark = pytest.mark.integration
PATH_VALUES = {
    "payment_id": "contract-payment",
    "provider": "xendit",
    "merchant_id": "UM-contract",
    "key_id": "00000000-0000-4000-8000-000000000000",
    "checkout_id": "co_contract00000000",
    "tender": "MSC",
    "rule_id": "default",
    "exception_id": "1",
    "flag_id": "1",
    "quote_id": "00000000-0000-4000-8000-000000000000",
    "batch_id": "PO20261201",
    "claim_id": "fcl_0000000000000000",
    "refund_id": "00000000-0000-4000-8000-000000000001",
    "conversion_id": "00000000-0000-4000-8000-000000000002",
    "uid": "contract-pioneer",
    "month": "2026-11",
    "transfer_id": "00000000-0000-4000-8000-000000000003",
    "file": "manifest.json",
    "proposal_id": "0" * 64,
    "lock_id": "00000000-0000-4000-8000-000000000003",
}


@pytest.fixture(scope="module")
def app(database_url: str, db_engine: Engine) -> Iterator[FastAPI]:
    container = build_container(Settings(), database_url)
    yield create_app(container)
    container.engine.dispose()


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with inprocess_client(app, "http://service.test", raise_app_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def credentials(app: FastAPI, http: httpx.Client) -> dict[str, str]:
    """Credentials that pass each route's authentication, so its body is what is judged."""
    settings = app.state.services.settings
    pioneer = http.post(
        "/pi-sandbox/sandbox/pioneers", json={"username": "contract", "balance": "1"}
    ).json()
    return {
        "Authorization": f"Bearer {pioneer['access_token']}",
        "X-CALLBACK-TOKEN": settings.qris_xendit_callback_token.get_secret_value(),
        "operator": f"Bearer {settings.operator_token.get_secret_value()}",
    }


def _credentials(credentials: dict[str, str], path: str) -> dict[str, str]:
    """The headers that pass ``path``'s authentication: the Pioneer's token on the Pi routes,
    the operator's (a treasury principal) and a fresh Idempotency-Key on the API-key routes
    (the treasury's decisions on QRIS exceptions and Pi flags among them), the Pioneer's token
    and a fresh Idempotency-Key on the Pioneer's other routes."""
    found = {k: v for k, v in credentials.items() if k != "operator"}
    if PIONEER_PATHS.match(path):
        found |= {"Idempotency-Key": str(uuid.uuid4())}
    elif not path.startswith(("/v1/pi/", "/v1/qris/")) or path.endswith("/decision"):
        found |= {"Authorization": credentials["operator"], "Idempotency-Key": str(uuid.uuid4())}
    return found


def _routes(*, with_body_model: bool = False) -> list[tuple[str, str]]:
    """(method, path) of every operation of the app's OpenAPI that takes a request body (with a
    schema of its own when ``with_body_model``)."""
    container = build_container(Settings(), "postgresql://unused@127.0.0.1:1/none")
    paths = create_app(container).openapi()["paths"]
    container.engine.dispose()
    found = [
        (method.upper(), path)
        for path, item in paths.items()
        for method, operation in item.items()
        if "requestBody" in operation
        and (not with_body_model or "$ref" in str(operation["requestBody"]))
    ]
    assert found, "no route takes a body"
    return found


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def _effects(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("transfers", "outbox", "qris_events", "pi_payments")
        )


def _assert_problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert reply.json()["code"] == code


@pytest.mark.parametrize(("method", "path"), _routes())
@pytest.mark.parametrize(
    "body", [b"{", b'{"a": 1,}', b"\xff\xfe\xfd", b"[1, 2"], ids=["open", "comma", "bytes", "array"]
)
@pytest.mark.parametrize(
    "content_type", ["application/json", None, "application/json; charset=utf-8"]
)
def test_a_body_that_is_not_json_is_400(
    http: httpx.Client,
    credentials: dict[str, str],
    db_engine: Engine,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
) -> None:
    before = _effects(db_engine)
    headers = _credentials(credentials, path) | (
        {"Content-Type": content_type} if content_type else {}
    )
    _assert_problem(
        http.request(method, _url(path), content=body, headers=headers), 400, "malformed_json"
    )
    assert _effects(db_engine) == before


@pytest.mark.parametrize(("method", "path"), _routes())
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_declared_as_another_media_type_is_415(
    http: httpx.Client,
    credentials: dict[str, str],
    db_engine: Engine,
    method: str,
    path: str,
    content_type: str,
) -> None:
    before = _effects(db_engine)
    headers = _credentials(credentials, path) | {"Content-Type": content_type}
    reply = http.request(method, _url(path), content=b'{"txid": "x"}', headers=headers)
    _assert_problem(reply, 415, "unsupported_media_type")
    assert _effects(db_engine) == before


@pytest.mark.parametrize(("method", "path"), _routes(with_body_model=True))
@pytest.mark.parametrize("body", [{}, [], {"payment": "not an object", "txid": ""}])
def test_json_the_schema_refuses_is_422(
    http: httpx.Client,
    credentials: dict[str, str],
    db_engine: Engine,
    method: str,
    path: str,
    body: object,
) -> None:
    before = _effects(db_engine)
    headers = _credentials(credentials, path)
    _assert_problem(
        http.request(method, _url(path), json=body, headers=headers), 422, "invalid_request"
    )
    assert _effects(db_engine) == before


def test_a_json_suffix_media_type_is_json(http: httpx.Client, credentials: dict[str, str]) -> None:
    headers = _credentials(credentials, "/v1/pi/") | {
        "Content-Type": "application/merge-patch+json"
    }
    reply = http.post(_url("/v1/pi/payments/{payment_id}/complete"), content=b"{", headers=headers)
    _assert_problem(reply, 400, "malformed_json")


@pytest.fixture(scope="module")
def document(http: httpx.Client) -> dict[str, Any]:
    reply = http.get("/openapi.json")
    assert reply.status_code == 200
    found: dict[str, Any] = reply.json()
    return found


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_typed_response(document: dict[str, Any]) -> None:
    """A JSON answer is a model; an operation answering no JSON at all (the till's images)
    declares each of its media types as a string (binary for an image)."""
    untyped = []
    for name, operation in _operations(document):
        success = min(status for status in operation["responses"] if status.startswith("2"))
        content = operation["responses"][success]["content"]
        if "application/json" in content:
            typed = "$ref" in content["application/json"]["schema"]
        else:
            typed = bool(content) and all(
                media["schema"] == {"type": "string", "format": "binary"}
                for media in content.values()
            )
        if not typed:
            untyped.append(name)
    assert untyped == []


def test_every_operation_documents_problems_with_examples(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(document)
    for name, operation in _operations(document):
        problems = {
            status: response["content"][PROBLEM_MEDIA_TYPE]
            for status, response in operation["responses"].items()
            if PROBLEM_MEDIA_TYPE in response.get("content", {})
        }
        assert "500" in problems, name
        for status, content in problems.items():
            assert content["schema"]["title"] == "ProblemDetail", (name, status)
            assert content["example"]["status"] == int(status), (name, status)
        if operation.get("requestBody"):
            assert {"400", "413", "415", "422"} <= set(problems), name


def test_security_schemes_are_declared_and_used(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"] == SECURITY_SCHEMES
    used = {
        name: [sorted(alternative) for alternative in operation.get("security", [])]
        for name, operation in _operations(document)
    }
    assert used["GET /v1/qris/exceptions"] == [["operatorToken"]]
    assert used["POST /v1/pi/payments/{payment_id}/approve"] == [["pioneerToken"]]
    assert used["POST /v1/pi/payments/{payment_id}/complete"] == [["pioneerToken"]]
    assert used["POST /v1/pi/payments/incomplete"] == [["pioneerToken"]]
    assert used["POST /v1/qris/notifications/{provider}"] == [["xenditCallbackToken"], []]
    assert used["POST /v1/merchants"] == [["apiKey"], ["operatorToken"]]
    assert used["DELETE /v1/keys/{key_id}"] == [["apiKey"], ["operatorToken"]]
    assert used["GET /healthz"] == []


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_another_host(http: httpx.Client, page: str) -> None:
    reply = http.get(page)
    assert reply.status_code == 200
    html = reply.text
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html) == []
    assert re.findall(r"https?://(?!service\.test)[\w.-]+", html) == []
    assets = re.findall(r"""(?:src|href)\s*=\s*["'](/docs/static/[^"']+)""", html)
    assert assets, "the page names its local assets"
    for asset in assets:
        served = http.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset
