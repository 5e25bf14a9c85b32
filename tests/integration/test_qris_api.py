"""QRIS HTTP routes: verified notifications are stored once, unverified ones are 401."""

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox
from settlement.bootstrap import Container, build_container
from settlement.config import Settings
from settlement.qris.expectations import create_expectation
from tests.support.uow import at, us

pytestmark = pytest.mark.integration
KEY = Settings().qris_midtrans_server_key.get_secret_value()
OPERATOR_TOKEN = Settings().operator_token.get_secret_value()


@pytest.fixture
def container(database_url: str, db_engine: Engine) -> Iterator[Container]:
    built = build_container(Settings(), database_url)
    yield built
    built.engine.dispose()


@pytest.fixture
def client(container: Container) -> Iterator[httpx.Client]:
    with inprocess_client(create_app(container), "http://service.test") as http:
        yield http


@pytest.fixture
def midtrans(container: Container) -> MidtransSandbox:
    """The embedded default's Midtrans status sandbox: what Midtrans knows."""
    assert container.qris_midtrans_sandbox is not None
    return container.qris_midtrans_sandbox


def body(order_id: str, key: str = KEY) -> bytes:
    document = {"transaction_time": "2024-12-02 09:05:00", "transaction_status": "settlement",
                "transaction_id": f"tx-{order_id}", "status_code": "200", "order_id": order_id,
                "gross_amount": "15000.00", "payment_type": "qris"}  # fmt: skip
    material = order_id + "200" + "15000.00" + key
    document["signature_key"] = hashlib.sha512(material.encode()).hexdigest()
    return json.dumps(document).encode()


def test_notification_flow(
    client: httpx.Client, db_engine: Engine, midtrans: MidtransSandbox
) -> None:
    reference = f"API-{uuid.uuid4().hex[:10]}"
    midtrans.record(reference, transaction_id=f"tx-{reference}", transaction_status="settlement",
                    gross_amount="15000.00")  # fmt: skip
    with db_engine.begin() as conn:
        create_expectation(at(conn, datetime.now(UTC) - timedelta(days=1000)),
                           nmid="ID1029999999999", amount_sen=1_500_000,
                           ttl_us=us(timedelta(days=2000)), reference=reference)  # fmt: skip
    url = "/v1/qris/notifications/midtrans"
    first = client.post(url, content=body(reference))
    assert first.status_code == 200
    assert first.json()["outcome"] == "posted"
    assert client.post(url, content=body(reference)).json()["outcome"] == "duplicate"

    forged = client.post(url, content=body(reference, key="wrong"))
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert forged.json()["code"] == "qris_notification_unauthenticated"

    assert client.post(url, content=b"{").status_code == 400
    assert client.post("/v1/qris/notifications/nope", content=b"{}").status_code == 404
    unauthenticated = client.get("/v1/qris/exceptions", params={"date": "2024-12-02"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == "operator_unauthenticated"
    wrong = client.get(
        "/v1/qris/exceptions",
        params={"date": "2024-12-02"},
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 401
    report = client.get(
        "/v1/qris/exceptions",
        params={"date": "2024-12-02"},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    assert report.status_code == 200
    assert report.json()["date"] == "2024-12-02"


def signed(order_id: str, gross_amount: str, status: str = "settlement") -> bytes:
    document = {"transaction_time": "2024-12-02 09:05:00", "transaction_status": status,
                "transaction_id": f"tx-{order_id}", "status_code": "200", "order_id": order_id,
                "gross_amount": gross_amount, "payment_type": "qris"}  # fmt: skip
    material = order_id + "200" + gross_amount + KEY
    document["signature_key"] = hashlib.sha512(material.encode()).hexdigest()
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("gross_amount", "code"),
    [("1.0000000000000000000000000000001", "amount_too_precise"),
     ("1e999999999", "amount_out_of_range")],
)  # fmt: skip
def test_an_amount_that_would_round_is_refused_and_nothing_posted(
    client: httpx.Client, db_engine: Engine, gross_amount: str, code: str
) -> None:
    reference = f"AMT-{uuid.uuid4().hex[:10]}"
    with db_engine.begin() as conn:
        create_expectation(at(conn, datetime.now(UTC) - timedelta(days=1000)),
                           nmid="ID1029999999999", amount_sen=100,
                           ttl_us=us(timedelta(days=2000)), reference=reference)  # fmt: skip
    reply = client.post("/v1/qris/notifications/midtrans", content=signed(reference, gross_amount))
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] == code
    with db_engine.connect() as conn:
        events = conn.execute(
            text("SELECT count(*) FROM qris_events WHERE reference = :r"), {"r": reference}
        ).scalar_one()
        status = conn.execute(
            text("SELECT status FROM qris_expectations WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    assert (events, status) == (0, "open")


def expect(db_engine: Engine, amount_sen: int = 1_500_000) -> str:
    reference = f"MID-{uuid.uuid4().hex[:10]}"
    with db_engine.begin() as conn:
        create_expectation(at(conn, datetime.now(UTC) - timedelta(days=1000)),
                           nmid="ID1029999999999", amount_sen=amount_sen,
                           ttl_us=us(timedelta(days=2000)), reference=reference)  # fmt: skip
    return reference


def stored(db_engine: Engine, reference: str) -> tuple[int, str]:
    """Events stored for the order, and its expectation's status ('paid' once money moved)."""
    with db_engine.connect() as conn:
        events = conn.execute(
            text("SELECT count(*) FROM qris_events WHERE reference = :r"), {"r": reference}
        ).scalar_one()
        status = conn.execute(
            text("SELECT status FROM qris_expectations WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    return events, status


URL = "/v1/qris/notifications/midtrans"


def test_an_unsigned_settlement_midtrans_calls_pending_moves_no_money(
    client: httpx.Client, db_engine: Engine, midtrans: MidtransSandbox
) -> None:
    reference = expect(db_engine)
    midtrans.record(reference, transaction_id=f"tx-{reference}", transaction_status="pending",
                    gross_amount="15000.00")  # fmt: skip
    # Validly signed: status_code and the amount are Midtrans', only transaction_status is forged.
    claim = midtrans.notification(reference, transaction_status="settlement")
    reply = client.post(URL, content=claim)
    assert reply.status_code == 200
    assert reply.json() == {"outcome": "recorded", "status": "pending"}
    assert stored(db_engine, reference) == (1, "open")

    midtrans.record(reference, transaction_id=f"tx-{reference}", transaction_status="settlement",
                    gross_amount="15000.00")  # fmt: skip
    assert client.post(URL, content=claim).json() == {"outcome": "posted", "status": "paid"}
    assert stored(db_engine, reference) == (2, "paid")


def test_a_forged_transaction_id_is_not_trusted(
    client: httpx.Client, db_engine: Engine, midtrans: MidtransSandbox
) -> None:
    reference = expect(db_engine)
    midtrans.record(reference, transaction_id=f"tx-{reference}", transaction_status="settlement",
                    gross_amount="15000.00")  # fmt: skip
    reply = client.post(URL, content=midtrans.notification(reference, transaction_id="tx-forged"))
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] == "qris_notification_unconfirmed"
    assert stored(db_engine, reference) == (0, "open")


def test_an_order_midtrans_does_not_know_is_refused(
    client: httpx.Client, db_engine: Engine, midtrans: MidtransSandbox
) -> None:
    reference = expect(db_engine)
    reply = client.post(URL, content=body(reference))
    assert reply.status_code == 400
    assert reply.json()["code"] == "qris_notification_unconfirmed"
    assert stored(db_engine, reference) == (0, "open")


def test_midtrans_down_books_nothing_and_asks_for_a_retry(
    client: httpx.Client, db_engine: Engine, midtrans: MidtransSandbox
) -> None:
    reference = expect(db_engine)
    midtrans.record(reference, transaction_id=f"tx-{reference}", transaction_status="settlement",
                    gross_amount="15000.00")  # fmt: skip
    midtrans.down = True
    reply = client.post(URL, content=midtrans.notification(reference))
    assert reply.status_code == 503
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] == "qris_gateway_unavailable"
    assert stored(db_engine, reference) == (0, "open")

    midtrans.down = False  # Midtrans retries the same notification
    assert client.post(URL, content=midtrans.notification(reference)).json()["outcome"] == "posted"
    assert stored(db_engine, reference) == (1, "paid")


def test_refusal_messages_follow_accept_language(client: httpx.Client) -> None:
    """Gateway and Pioneer routes answer in Indonesian unless asked otherwise (decision 0011)."""
    url = "/v1/qris/notifications/nope"
    default = client.post(url, content=b"{}")
    english = client.post(url, content=b"{}", headers={"Accept-Language": "en-US,en;q=0.9"})
    for reply in (default, english):
        assert reply.status_code == 404
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert reply.json()["code"] == "qris_provider_unknown"
        assert reply.json()["detail"] == "'nope'"
    assert default.json()["title"] == "Penyedia QRIS tidak dikenal."
    assert english.json()["title"] == "Unknown QRIS provider."
