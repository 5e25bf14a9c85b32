"""Outside input never crashes the Pi parsers: it parses, or raises the typed error."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.pi.dto import parse_payment, parse_user
from chain.pi.errors import PiError, TxVerificationError
from chain.pi.horizon import HorizonTx, parse_payments_page
from chain.pi.platform import PiPlatformClient
from chain.pi.transport import HttpLimits, JsonTransport
from chain.pi.verify import ExpectedPayment, verify_payment

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
payment_like = st.fixed_dictionaries(
    {},
    optional={
        "identifier": json_values,
        "user_uid": json_values,
        "amount": json_values,
        "direction": st.sampled_from(["user_to_app", "app_to_user", "x"]) | json_values,
        "network": json_values,
        "metadata": json_values,
        "transaction": json_values,
        "status": st.fixed_dictionaries(
            {},
            optional={
                k: json_values
                for k in (
                    "developer_approved",
                    "transaction_verified",
                    "developer_completed",
                    "cancelled",
                    "user_cancelled",
                )
            },
        )
        | json_values,
    },
)


@settings(max_examples=200)
@given(payment_like | json_values)
def test_payment_parser(value: object) -> None:
    try:
        payment = parse_payment(value)
    except PiError:
        return
    assert payment.amount_units > 0
    assert payment.direction in ("user_to_app", "app_to_user")


@settings(max_examples=100)
@given(json_values)
def test_user_parser(value: object) -> None:
    try:
        user = parse_user(value)
    except PiError:
        return
    assert isinstance(user.uid, str)


@settings(max_examples=100)
@given(st.binary(max_size=300), st.integers(min_value=200, max_value=599))
def test_client_survives_any_body(body: bytes, status: int) -> None:
    transport = JsonTransport(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(status, content=body))),
        HttpLimits(attempts_max=1),
        sleep=lambda _s: None,
    )
    try:
        payment = PiPlatformClient(transport, "https://pi.test", "k").get_payment("abc")
    except PiError:
        return
    assert 200 <= status < 300
    assert payment.amount_units > 0


@settings(max_examples=100)
@given(
    st.dictionaries(st.sampled_from(["hash", "envelope_xdr", "successful", "memo"]), json_values),
    st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), max_size=3),
)
def test_verifier_refuses_garbage(record: dict[str, object], ops: list[dict[str, object]]) -> None:
    expected = ExpectedPayment("a" * 64, "p1", "G", "G", 1, "Pi Testnet")
    try:
        verify_payment(HorizonTx(json.loads(json.dumps(record)), tuple(ops)), expected)
    except TxVerificationError:
        return
    raise AssertionError("garbage verified")


account_payment_like = st.fixed_dictionaries(
    {},
    optional={
        "paging_token": st.integers(min_value=0).map(str) | json_values,
        "type": st.sampled_from(["payment", "create_account", "account_merge", "x"]),
        "transaction_hash": st.just("ab" * 32) | json_values,
        "transaction_successful": json_values,
        "from": json_values,
        "to": json_values,
        "funder": json_values,
        "account": json_values,
        "into": json_values,
        "amount": st.sampled_from(["1", "0", "-1", "1.00000001", "x"]) | json_values,
        "starting_balance": json_values,
        "created_at": st.sampled_from(["2022-07-31T13:57:29Z", "yesterday"]) | json_values,
        "transaction": st.fixed_dictionaries(
            {},
            optional={
                "hash": st.just("ab" * 32) | json_values,
                "memo_type": st.sampled_from(["text", "hash", "none"]),
                "memo": st.text(max_size=40) | json_values,
            },
        )
        | json_values,
    },
)


@settings(max_examples=200)
@given(st.lists(account_payment_like | json_values, max_size=4) | json_values)
def test_account_payments_parser(records: object) -> None:
    try:
        page = parse_payments_page({"_embedded": {"records": records}})
    except PiError:
        return
    assert isinstance(records, list)
    assert len(page.records) == len(records)
    for payment in page.records:
        assert payment.paging_token.isdigit()
        assert payment.amount_units is None or payment.amount_units > 0
