"""An answer kept in the use case's own transaction (``api.answers.run_kept``): a worker killed
after the change committed leaves the answer committed with it, so the retry replays it and runs
nothing twice; a claim lost to a retry meanwhile rolls the change back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Engine, text

from api import idempotency
from api.answers import run_kept
from api.auth import Treasury
from api.idempotency import IdempotencyKey
from settlement.unit_of_work import UnitOfWork
from tests.support.api import client, headers, onboarded_merchant_key, operator, service

pytestmark = pytest.mark.integration
PLATE = {
    "price": {"amount": "15000.00", "asset": "IDR"},
    "tenders": [{"tender": "PI", "share_bp": 5000}, {"tender": "QRIS", "share_bp": 5000}],
}
probe = APIRouter(prefix="/v1/probe-kept")


class Queued(BaseModel):
    queued: bool


@probe.post("/queue-then-lose-the-claim", response_model=Queued)
def queue_then_lose_the_claim(
    request: Request, _: Treasury, idempotency_key: IdempotencyKey
) -> Response:
    """Queues an outbox message, then a retry takes the claim over before the answer is kept."""
    engine: Engine = request.app.state.services.engine

    def work(uow: UnitOfWork) -> Queued:
        queued = uow.outbox.enqueue("probe.kept", idempotency_key, {})
        with engine.begin() as other:  # the retry's takeover, committed meanwhile
            other.execute(
                text(
                    "UPDATE idempotency_keys SET created_at = created_at + interval '1 s'"
                    " WHERE key = :k"
                ),
                {"k": idempotency_key},
            )
        return Queued(queued=queued)

    return run_kept(request, work)


@pytest.fixture(scope="module")
def app(database_url: str, db_engine: Engine) -> Iterator[FastAPI]:
    with service(database_url) as built:
        built.include_router(probe)
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


@pytest.fixture(scope="module")
def merchant_key(app: FastAPI, http: httpx.Client) -> str:
    return onboarded_merchant_key(app, http)


def _killed(*_: Any) -> None:
    raise RuntimeError("the worker was killed here")


def _key_row(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT state, status_code FROM idempotency_keys WHERE key = :k"), {"k": key}
        ).one()


def _checkouts(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM checkouts")).scalar_one())


def test_a_worker_killed_after_the_change_leaves_its_answer_for_the_retry(
    http: httpx.Client, merchant_key: str, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = headers(merchant_key)
    before = _checkouts(db_engine)
    with monkeypatch.context() as patched:  # dies once the route returned, before anything else
        patched.setattr(idempotency, "_answer", _killed)
        killed = http.post("/v1/checkouts", json=PLATE, headers=sent)
    assert killed.status_code == 500  # the client saw no answer
    assert tuple(_key_row(db_engine, sent["Idempotency-Key"])) == ("done", 201)
    assert _checkouts(db_engine) == before + 1
    retried = http.post("/v1/checkouts", json=PLATE, headers=sent)
    assert retried.status_code == 201, retried.text
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert _checkouts(db_engine) == before + 1
    shown = http.get(f"/v1/checkouts/{retried.json()['id']}", headers=sent)
    assert shown.status_code == 200
    assert retried.json() == shown.json()


def test_the_kept_answer_is_the_answer_sent(
    http: httpx.Client, merchant_key: str, db_engine: Engine
) -> None:
    sent = headers(merchant_key)
    first = http.post("/v1/checkouts", json=PLATE, headers=sent)
    assert first.status_code == 201, first.text
    with db_engine.connect() as conn:
        kept = conn.execute(
            text("SELECT response_body, response_type FROM idempotency_keys WHERE key = :k"),
            {"k": sent["Idempotency-Key"]},
        ).one()
    assert (bytes(kept.response_body), kept.response_type) == (first.content, "application/json")


def test_a_claim_lost_meanwhile_rolls_the_change_back(
    app: FastAPI, http: httpx.Client, db_engine: Engine
) -> None:
    sent = headers(operator(app))
    lost = http.post("/v1/probe-kept/queue-then-lose-the-claim", headers=sent)
    assert lost.status_code == 409, lost.text
    assert lost.json()["code"] == "idempotency_key_in_use"
    with db_engine.connect() as conn:
        queued = conn.execute(
            text("SELECT count(*) FROM outbox WHERE kind = 'probe.kept' AND key = :k"),
            {"k": sent["Idempotency-Key"]},
        ).scalar_one()
    assert queued == 0
