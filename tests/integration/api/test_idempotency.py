"""The Idempotency-Key middleware on PostgreSQL, over probe routes that count their executions:
replay of the first answer (a 201 and a 4xx refusal alike), a reused key refused without a second
execution, a concurrent request refused while the first runs, 5xx and unauthenticated answers
not kept, expired keys claimed afresh and purged, body limits refused before any key is stored."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, text

from api.auth import Treasury
from api.idempotency import IdempotencyKey
from escrow.clock import SystemClock
from settlement.bootstrap import assemble_container
from settlement.config import Settings
from settlement.idempotency import purge_expired
from settlement.merchants.model import MerchantRefused
from settlement.outbox import Dispatcher
from settlement.schedule import purge_idempotency_keys
from tests.support.api import client, headers, operator, service

pytestmark = pytest.mark.integration
runs: Counter[str] = Counter()
entered = threading.Event()
release = threading.Event()
probe = APIRouter(prefix="/v1/probe")


@probe.post("/count", status_code=201)
def count(body: dict[str, Any], _: Treasury, idempotency_key: IdempotencyKey) -> dict[str, Any]:
    runs["count"] += 1
    return {"run": runs["count"], "echo": body, "id": str(uuid.uuid4())}


@probe.post("/refuse")
def refuse(_: Treasury, idempotency_key: IdempotencyKey) -> dict[str, str]:
    runs["refuse"] += 1
    raise MerchantRefused(f"refusal {runs['refuse']}", code="merchant_exists")


@probe.post("/crash")
def crash(_: Treasury, idempotency_key: IdempotencyKey) -> dict[str, int]:
    runs["crash"] += 1
    if runs["crash"] == 1:
        raise RuntimeError("the first run crashes")
    return {"run": runs["crash"]}


@probe.post("/block")
def block(_: Treasury, idempotency_key: IdempotencyKey) -> dict[str, int]:
    runs["block"] += 1
    entered.set()
    assert release.wait(10)
    return {"run": runs["block"]}


@probe.delete("/thing")
def delete_thing(idempotency_key: IdempotencyKey) -> dict[str, int]:
    runs["delete"] += 1
    return {"run": runs["delete"]}


@pytest.fixture(scope="module")
def app(database_url: str, db_engine: Engine) -> Iterator[FastAPI]:
    with service(database_url, Settings(http_body_bytes_max=1024)) as built:
        built.include_router(probe)
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    runs.clear()
    entered.clear()
    release.clear()


@pytest.fixture(scope="module")
def treasury(app: FastAPI) -> str:
    return operator(app)


def _rows(engine: Engine, key: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM idempotency_keys WHERE key = :k"), {"k": key}))


def _code(reply: httpx.Response) -> str:
    assert reply.headers["content-type"] == "application/problem+json", reply.text
    return str(reply.json()["code"])


def test_without_a_key_nothing_runs(http: httpx.Client, treasury: str) -> None:
    reply = http.post("/v1/probe/count", json={}, headers={"Authorization": treasury})
    assert reply.status_code == 400
    assert _code(reply) == "idempotency_key_required"
    assert runs["count"] == 0
    deleted = http.delete("/v1/probe/thing")
    assert (deleted.status_code, _code(deleted)) == (400, "idempotency_key_required")
    assert runs["delete"] == 0


@pytest.mark.parametrize("key", [b"", b"\tpadded", b"x" * 256, "caf\u00e9".encode("latin-1")])
def test_a_malformed_key_is_refused(http: httpx.Client, treasury: str, key: bytes) -> None:
    sent = {"Authorization": treasury.encode(), "Idempotency-Key": key}
    reply = http.post("/v1/probe/count", json={}, headers=sent)
    assert (reply.status_code, _code(reply)) == (400, "idempotency_key_invalid")
    assert runs["count"] == 0


def test_the_same_request_replays_the_first_201(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    sent = headers(treasury)
    first = http.post("/v1/probe/count", json={"a": 1}, headers=sent)
    again = http.post("/v1/probe/count", json={"a": 1}, headers=sent)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert runs["count"] == 1
    (row,) = _rows(db_engine, sent["Idempotency-Key"])
    assert (row.state, row.status_code) == ("done", 201)
    assert row.principal.startswith("treasury:")  # the caller, never its credential
    assert treasury.encode() not in bytes(row.response_body)


def test_a_refusal_is_replayed_too(http: httpx.Client, treasury: str) -> None:
    sent = headers(treasury)
    first = http.post("/v1/probe/refuse", headers=sent)
    again = http.post("/v1/probe/refuse", headers=sent)
    assert first.status_code == again.status_code == 409
    assert _code(again) == "merchant_exists"
    assert again.content == first.content  # "refusal 1", not a second refusal
    assert runs["refuse"] == 1


@pytest.mark.parametrize(
    ("path", "params", "body"),
    [("/v1/probe/count", {}, {"a": 2}), ("/v1/probe/count", {"q": "1"}, {"a": 1})],
    ids=["body", "query"],
)
def test_the_same_key_for_another_request_is_422_and_runs_nothing(
    http: httpx.Client, treasury: str, path: str, params: dict[str, str], body: dict[str, int]
) -> None:
    sent = headers(treasury)
    assert http.post("/v1/probe/count", json={"a": 1}, headers=sent).status_code == 201
    other = http.post(path, params=params, json=body, headers=sent)
    assert (other.status_code, _code(other)) == (422, "idempotency_key_reused")
    assert runs["count"] == 1


def test_keys_are_scoped_by_principal(http: httpx.Client, treasury: str, db_engine: Engine) -> None:
    officer = http.post(
        "/v1/keys",
        json={"role": "treasury", "owner": "probe", "label": "probe"},
        headers=headers(treasury),
    ).json()["token"]
    key = str(uuid.uuid4())
    mine = http.post("/v1/probe/count", json={}, headers=headers(treasury, key))
    theirs = http.post("/v1/probe/count", json={}, headers=headers(f"Bearer {officer}", key))
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["run"] == 1
    assert theirs.json()["run"] == 2
    assert len(_rows(db_engine, key)) == 2


def test_one_caller_however_it_spells_its_header_has_one_key_space(
    http: httpx.Client, treasury: str
) -> None:
    token = treasury.removeprefix("Bearer ")
    key = str(uuid.uuid4())
    answers = [
        http.post("/v1/probe/count", json={}, headers=headers(spelled, key))
        for spelled in (
            f"Bearer {token}",
            f"bearer {token}",
            f"Bearer  {token}",
            f"BEARER {token} ",
        )
    ]
    assert {reply.json()["run"] for reply in answers} == {1}
    assert runs["count"] == 1


def test_a_revoked_key_replays_nothing(http: httpx.Client, treasury: str) -> None:
    issued = http.post(
        "/v1/keys",
        json={"role": "treasury", "owner": "revoked", "label": "probe"},
        headers=headers(treasury),
    ).json()
    sent = headers(f"Bearer {issued['token']}")
    assert http.post("/v1/probe/count", json={"a": 1}, headers=sent).status_code == 201
    assert http.delete(f"/v1/keys/{issued['id']}", headers=headers(treasury)).status_code == 200
    again = http.post("/v1/probe/count", json={"a": 1}, headers=sent)
    assert (again.status_code, _code(again)) == (401, "unauthenticated")
    assert "idempotent-replayed" not in again.headers


def test_the_routers_own_answers_are_not_kept(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    sent = headers(treasury)
    assert http.post("/v1/probe/nosuch", json={}, headers=sent).status_code == 404
    assert _rows(db_engine, sent["Idempotency-Key"]) == []
    assert http.post("/v1/probe/count", json={}, headers=sent).status_code == 201


def test_a_concurrent_request_with_the_key_is_409(http: httpx.Client, treasury: str) -> None:
    sent = headers(treasury)
    answers: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(http.post("/v1/probe/block", headers=sent))
    )
    first.start()
    try:
        assert entered.wait(10)
        busy = http.post("/v1/probe/block", headers=sent)
        assert (busy.status_code, _code(busy)) == (409, "idempotency_key_in_use")
    finally:
        release.set()
        first.join(10)
    assert answers[0].status_code == 200
    assert runs["block"] == 1
    replay = http.post("/v1/probe/block", headers=sent)
    assert replay.headers["idempotent-replayed"] == "true"
    assert runs["block"] == 1


def test_a_5xx_is_not_kept_and_the_retry_runs(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    sent = headers(treasury)
    crashed = http.post("/v1/probe/crash", headers=sent)
    assert crashed.status_code == 500
    assert _rows(db_engine, sent["Idempotency-Key"]) == []
    retried = http.post("/v1/probe/crash", headers=sent)
    assert retried.status_code == 200
    assert retried.json() == {"run": 2}


@pytest.mark.parametrize("authorization", [None, "Bearer msk_nope"], ids=["none", "wrong"])
def test_an_unauthenticated_answer_is_not_kept(
    http: httpx.Client, db_engine: Engine, authorization: str | None
) -> None:
    sent = headers(authorization)
    reply = http.post("/v1/probe/count", json={}, headers=sent)
    assert (reply.status_code, _code(reply)) == (401, "unauthenticated")
    assert _rows(db_engine, sent["Idempotency-Key"]) == []


def test_a_schema_refusal_is_not_kept(http: httpx.Client, treasury: str, db_engine: Engine) -> None:
    sent = headers(treasury)
    reply = http.post("/v1/probe/count", json=[1], headers=sent)
    assert (reply.status_code, _code(reply)) == (422, "invalid_request")
    assert _rows(db_engine, sent["Idempotency-Key"]) == []
    assert http.post("/v1/probe/count", json={}, headers=sent).status_code == 201


def test_a_body_over_the_limit_is_413_before_any_key_is_stored(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    sent = headers(treasury)
    reply = http.post("/v1/probe/count", json={"a": "x" * 2000}, headers=sent)
    assert (reply.status_code, _code(reply)) == (413, "request_body_too_large")
    malformed = http.post("/v1/probe/count", content=b"{", headers=sent)
    assert (malformed.status_code, _code(malformed)) == (400, "malformed_json")
    assert _rows(db_engine, sent["Idempotency-Key"]) == []
    assert runs["count"] == 0


def test_an_abandoned_claim_is_taken_over_after_its_lock(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    sent = headers(treasury)
    assert http.post("/v1/probe/count", json={}, headers=sent).status_code == 201
    with db_engine.begin() as conn:  # as if the first holder crashed before recording
        conn.execute(
            text(
                "UPDATE idempotency_keys SET state = 'in_progress', status_code = NULL,"
                " response_body = NULL WHERE key = :k"
            ),
            {"k": sent["Idempotency-Key"]},
        )
    busy = http.post("/v1/probe/count", json={}, headers=sent)
    assert (busy.status_code, _code(busy)) == (409, "idempotency_key_in_use")
    with db_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE idempotency_keys SET locked_until = now() - interval '1 s' WHERE key = :k"
            ),
            {"k": sent["Idempotency-Key"]},
        )
    taken = http.post("/v1/probe/count", json={}, headers=sent)
    assert taken.status_code == 201
    assert taken.json()["run"] == 2


def test_an_expired_key_runs_again_and_is_purged(
    http: httpx.Client, treasury: str, db_engine: Engine, tmp_path: Path
) -> None:
    sent = headers(treasury)
    assert http.post("/v1/probe/count", json={}, headers=sent).status_code == 201
    (row,) = _rows(db_engine, sent["Idempotency-Key"])
    ttl = row.expires_at - row.created_at
    assert ttl.total_seconds() == Settings().idempotency_ttl_s >= 24 * 3600
    expire = text("UPDATE idempotency_keys SET expires_at = now() - interval '1 s' WHERE key = :k")
    with db_engine.begin() as conn:
        conn.execute(expire, {"k": sent["Idempotency-Key"]})
    again = http.post("/v1/probe/count", json={"another": "body"}, headers=sent)
    assert again.status_code == 201
    assert again.json()["run"] == 2
    with db_engine.begin() as conn:
        conn.execute(expire, {"k": sent["Idempotency-Key"]})
    container = assemble_container(
        Settings(data_dir=tmp_path), "unused", db_engine, Dispatcher(db_engine, {})
    )
    outcome = purge_idempotency_keys(replace(container, jobs=()))
    assert outcome.startswith("purged ")
    assert int(outcome.split()[1]) >= 1
    assert _rows(db_engine, sent["Idempotency-Key"]) == []


def test_a_purge_is_bounded(db_engine: Engine) -> None:
    principal = f"test-{uuid.uuid4().hex}"
    with db_engine.begin() as conn:
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO idempotency_keys (principal, key, request_sha256, state,"
                    " created_at, locked_until, expires_at) VALUES (:p, :k, :d,"
                    " 'in_progress', now() - interval '3 days', now() - interval '3 days',"
                    " now() - interval '1 day')"
                ),
                {"p": principal, "k": str(n), "d": bytes(32)},
            )
    with db_engine.begin() as conn:
        assert purge_expired(conn, SystemClock().now_us(), limit=2) == 2
    with db_engine.begin() as conn:
        assert purge_expired(conn, SystemClock().now_us(), limit=2) >= 1
        left = conn.execute(
            text("SELECT count(*) FROM idempotency_keys WHERE principal = :p"), {"p": principal}
        ).scalar_one()
    assert left == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/merchants"), ("POST", "/v1/pi/payments/x/approve")],
    ids=["read", "pi"],
)
def test_reads_and_the_rails_need_no_key(http: httpx.Client, method: str, path: str) -> None:
    reply = http.request(method, path, json={} if method == "POST" else None)
    assert reply.status_code == 401  # refused by their own authentication, not for a key
