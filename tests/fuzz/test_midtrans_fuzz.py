"""Fuzz targets: what Midtrans' status API answers, and amounts in it, raise only our own errors."""

import json
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from chain.qris.gateways.errors import NotificationError
from chain.qris.gateways.midtrans import MidtransAdapter
from chain.qris.gateways.midtrans_status import HttpMidtransStatus
from tests.unit.qris.test_qris_gateways import NOW, SERVER_KEY, as_bytes, midtrans_body

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def answering(status: int, body: bytes) -> MidtransAdapter:
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, content=body))
    source = HttpMidtransStatus(httpx.Client(transport=transport), "https://m.test", SERVER_KEY)
    return MidtransAdapter(SERVER_KEY, source)


def confirm_or_own_error(adapter: MidtransAdapter) -> None:
    """Either our own refusal, or a confirmation that kept what the signature covers."""
    notified = adapter.parse({}, as_bytes(midtrans_body()), path="/", now=NOW)
    try:
        confirmed = adapter.confirm(notified)
    except NotificationError:
        return
    assert confirmed.provider == notified.provider
    assert confirmed.reference == notified.reference
    assert confirmed.amount_sen == notified.amount_sen
    assert confirmed.provider_tx_id == notified.provider_tx_id


@given(st.sampled_from([200, 201, 400, 401, 404, 500, 503]), st.binary(max_size=300))
def test_arbitrary_answers(status: int, body: bytes) -> None:
    confirm_or_own_error(answering(status, body))


@given(st.dictionaries(st.sampled_from(list(midtrans_body())), JSON, max_size=6))
def test_mutated_status_documents(changes: dict[str, Any]) -> None:
    document = {**midtrans_body(), **changes}
    confirm_or_own_error(answering(200, json.dumps(document).encode()))


@given(st.text(max_size=80))
def test_arbitrary_gross_amounts(amount: str) -> None:
    document = {**midtrans_body(), "gross_amount": amount}
    confirm_or_own_error(answering(200, json.dumps(document).encode()))
