"""Midtrans' GET Status API: the adapter against crafted answers, the confirmation rules, and the
same confirmation against the sandbox (so the sandbox answers as the adapter expects)."""

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import httpx
import pytest

from chain.pi.sandbox.inprocess import SyncASGITransport
from chain.qris.gateways.errors import GatewayUnavailable, NotificationUnconfirmed
from chain.qris.gateways.event import EventStatus
from chain.qris.gateways.midtrans import MidtransAdapter
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox, build_midtrans_app
from chain.qris.gateways.midtrans_status import (
    HttpMidtransStatus,
    status_connect_timeout_s,
    status_read_timeout_s,
    status_response_bytes_max,
)
from tests.unit.qris.test_qris_gateways import NOW, SERVER_KEY, as_bytes, midtrans_body

BASE = "https://api.midtrans.test"
Handler = Callable[[httpx.Request], httpx.Response]


def status_of(handler: Handler) -> HttpMidtransStatus:
    return HttpMidtransStatus(
        httpx.Client(transport=httpx.MockTransport(handler)), BASE, SERVER_KEY
    )


def test_asks_the_status_url_with_basic_auth_and_bounded_timeouts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=midtrans_body(order_id="CHK/1 #2"))

    document = status_of(handler).fetch("CHK/1 #2")
    assert document["order_id"] == "CHK/1 #2"
    (request,) = seen
    assert request.method == "GET"
    assert request.url.raw_path == b"/v2/CHK%2F1%20%232/status"
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()
    )
    assert request.headers["accept"] == "application/json"
    assert request.extensions["timeout"] == {
        "connect": status_connect_timeout_s,
        "read": status_read_timeout_s,
        "write": status_read_timeout_s,
        "pool": status_read_timeout_s,
    }


def test_amounts_stay_exact_text_or_decimal() -> None:
    document = status_of(lambda _r: httpx.Response(200, content=b'{"gross_amount": 1.10}')).fetch(
        "CHK-1"
    )
    assert str(document["gross_amount"]) == "1.10"


@pytest.mark.parametrize(
    "response",
    [httpx.Response(404, json={"status_code": "404"}),
     httpx.Response(200, json={"status_code": "404", "status_message": "doesn't exist"})],
)  # fmt: skip
def test_unknown_transaction_is_unconfirmed(response: httpx.Response) -> None:
    with pytest.raises(NotificationUnconfirmed):
        status_of(lambda _r: response).fetch("CHK-1")


@pytest.mark.parametrize(
    "response",
    [httpx.Response(500, json={"status_code": "500"}), httpx.Response(503, content=b"down"),
     httpx.Response(401, json={"status_code": "401"}), httpx.Response(200, content=b"<html>"),
     httpx.Response(200, json=[1]), httpx.Response(200, json={"status_code": "500"}),
     httpx.Response(200, content=b"{" + b" " * status_response_bytes_max + b"}")],
)  # fmt: skip
def test_unreadable_or_failing_answers_are_retryable(response: httpx.Response) -> None:
    with pytest.raises(GatewayUnavailable):
        status_of(lambda _r: response).fetch("CHK-1")


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_network_failures_are_retryable(error: httpx.HTTPError) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(GatewayUnavailable):
        status_of(handler).fetch("CHK-1")


@pytest.mark.parametrize("order_id", ["", "x" * 51])
def test_order_ids_midtrans_cannot_have_are_not_asked(order_id: str) -> None:
    with pytest.raises(NotificationUnconfirmed):
        status_of(lambda _r: pytest.fail("asked")).fetch(order_id)


class Fixed:
    """A status source answering one document."""

    def __init__(self, **override: Any) -> None:
        self.document = midtrans_body(**override)

    def fetch(self, order_id: str) -> Mapping[str, Any]:
        return self.document


def notified(adapter: MidtransAdapter, **override: Any) -> Any:
    return adapter.parse({}, as_bytes(midtrans_body(**override)), path="/", now=NOW)


def test_the_fetched_status_decides_not_the_notified_one() -> None:
    adapter = MidtransAdapter(SERVER_KEY, Fixed(transaction_status="pending", status_code="201"))
    event = adapter.confirm(notified(adapter))  # notified: settlement
    assert event.status is EventStatus.PENDING
    assert event.paid_at is None


def test_unsigned_fields_come_from_midtrans() -> None:
    adapter = MidtransAdapter(SERVER_KEY, Fixed(reference_id="RRN-MIDTRANS"))
    event = adapter.confirm(notified(adapter, reference_id="RRN-FORGED"))
    assert event.rrn == "RRN-MIDTRANS"


@pytest.mark.parametrize(
    "override",
    [{"transaction_id": "someone-elses-payment"}, {"gross_amount": "105001.00"},
     {"order_id": "CHK-OTHER"}],
)  # fmt: skip
def test_a_different_transaction_is_unconfirmed(override: dict[str, str]) -> None:
    adapter = MidtransAdapter(SERVER_KEY, Fixed(**override))
    with pytest.raises(NotificationUnconfirmed):
        adapter.confirm(notified(adapter))


@pytest.fixture
def sandbox() -> MidtransSandbox:
    return MidtransSandbox(SERVER_KEY)


def over_sandbox(sandbox: MidtransSandbox, key: str = SERVER_KEY) -> MidtransAdapter:
    client = httpx.Client(transport=SyncASGITransport(build_midtrans_app(sandbox)))
    return MidtransAdapter(SERVER_KEY, HttpMidtransStatus(client, "http://sandbox.test", key))


def test_sandbox_confirms_what_it_recorded(sandbox: MidtransSandbox) -> None:
    sandbox.record("CHK-9", transaction_id="tx-9", transaction_status="pending",
                   gross_amount="15000.00")  # fmt: skip
    adapter = over_sandbox(sandbox)
    claimed = adapter.parse({}, sandbox.notification("CHK-9", transaction_status="settlement"),
                            path="/", now=NOW)  # fmt: skip
    assert claimed.status is EventStatus.PAID
    assert adapter.confirm(claimed).status is EventStatus.PENDING
    sandbox.record("CHK-9", transaction_id="tx-9", transaction_status="settlement",
                   gross_amount="15000.00")  # fmt: skip
    assert adapter.confirm(claimed).status is EventStatus.PAID
    forged = replace(claimed, provider_tx_id="tx-forged")
    with pytest.raises(NotificationUnconfirmed):
        adapter.confirm(forged)


def test_sandbox_refuses_other_keys_and_can_be_down(sandbox: MidtransSandbox) -> None:
    sandbox.record("CHK-9", transaction_id="tx-9", transaction_status="settlement",
                   gross_amount="15000.00")  # fmt: skip
    event = over_sandbox(sandbox).parse({}, sandbox.notification("CHK-9"), path="/", now=NOW)
    with pytest.raises(GatewayUnavailable):
        over_sandbox(sandbox, key="wrong-key").confirm(event)
    sandbox.down = True
    with pytest.raises(GatewayUnavailable):
        over_sandbox(sandbox).confirm(event)
    sandbox.down = False
    with pytest.raises(NotificationUnconfirmed):
        over_sandbox(sandbox).confirm(replace(event, reference="CHK-UNKNOWN"))
    assert json.loads(sandbox.notification("CHK-9"))["transaction_id"] == "tx-9"
